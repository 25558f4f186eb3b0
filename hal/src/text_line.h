/* Bounded line building without printf (no heap, same code on every board).
 * Appends past the capacity are dropped; the text stays NUL-terminated. */
#ifndef TEXT_LINE_H
#define TEXT_LINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
} text_line;

void text_init(text_line *t, char *buf, size_t cap);
void text_str(text_line *t, const char *s);
void text_u64(text_line *t, uint64_t v);
void text_i64(text_line *t, int64_t v);
/* Decimal, left-padded with zeros to at least width digits. */
void text_u64_pad(text_line *t, uint64_t v, unsigned width);

#endif
