#include "text_line.h"

void text_init(text_line *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0;
    if (cap > 0) buf[0] = '\0';
}

static void text_char(text_line *t, char c)
{
    if (t->len + 1 >= t->cap) return;
    t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
}

void text_str(text_line *t, const char *s)
{
    while (s != NULL && *s != '\0') text_char(t, *s++);
}

void text_u64_pad(text_line *t, uint64_t v, unsigned width)
{
    char digits[20];
    unsigned n = 0;
    do {
        digits[n++] = (char) ('0' + (int) (v % 10u));
        v /= 10u;
    } while (v != 0 && n < sizeof digits);
    while (width > n) {
        text_char(t, '0');
        width--;
    }
    while (n > 0) text_char(t, digits[--n]);
}

void text_u64(text_line *t, uint64_t v) { text_u64_pad(t, v, 1); }

void text_i64(text_line *t, int64_t v)
{
    if (v < 0) {
        text_char(t, '-');
        text_u64(t, (uint64_t) 0 - (uint64_t) v);
        return;
    }
    text_u64(t, (uint64_t) v);
}
