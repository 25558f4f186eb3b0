/* Command line of the host board:
 *   meter [--seed N] [--virtual-clock] [--flash FILE] [--fuse FILE] [--card FILE]
 *         [--die-at-flash-op N] [--flash-trace]
 * Other host drivers (the flash driver, the store) read their options from here. */
#ifndef HOST_OPTIONS_H
#define HOST_OPTIONS_H

/* Value of --name (e.g. "flash", "fuse", "seed", "card"); "1" for a given flag such as
 * "virtual-clock"; NULL when absent. Valid once board_init has run. */
const char *host_option(const char *name);

/* Parses argv; prints the usage and returns -1 on an unknown or incomplete option. */
int host_options_parse(int argc, char **argv);

#endif
