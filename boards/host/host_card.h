/* Host UICC emulation behind hal_card.h: the card image named by --card FILE (format in
 * build/card-image.ts). The card is inserted while FILE exists and is readable: deleting or
 * renaming it removes the card, creating it inserts one, replacing it by another file swaps
 * cards (removed then inserted), rewriting it in place changes the card's content.
 * host_card_check() notices such changes at most once a second of real time and posts
 * HAL_EV_CARD_CHANGED (arg 1 = inserted, 0 = removed); the state at the first check is the
 * state at power-up and posts nothing. */
#ifndef HOST_CARD_H
#define HOST_CARD_H

/* The host board's own console commands, taken before the firmware sees the line:
 * `card insert [FILE]` (FILE becomes the card image; without it, the last one or --card),
 * `card remove` (the card is out until the next insert, whatever its file does) and
 * `card status`. Resets keep this state; a new process starts from --card. Returns 1 when the line was such a command (its reply is written). */
int host_card_command(const char *line, size_t len);

/* Looks at the card image file when a second has passed since the last look. */
void host_card_check(void);

/* A poll timeout (ms, -1 = forever) shortened so that board_wait wakes up when the next
 * look at the card image is due; unchanged without --card. */
int host_card_poll_timeout(int timeout_ms);

#endif
