#include "host.h"
#include "host_options.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int takes_value;
    const char *value;
} host_opt;

static host_opt options[] = {
    { "seed", 1, NULL },
    { "virtual-clock", 0, NULL },
    { "flash", 1, NULL },
    { "fuse", 1, NULL },
    { "card", 1, NULL },
    { "die-at-flash-op", 1, NULL },
    { "flash-trace", 0, NULL },
};

#define OPTION_COUNT ((int) (sizeof options / sizeof options[0]))

static host_opt *find_option(const char *name)
{
    int i;
    for (i = 0; i < OPTION_COUNT; i++) {
        if (strcmp(options[i].name, name) == 0) return &options[i];
    }
    return NULL;
}

const char *host_option(const char *name)
{
    const host_opt *o = find_option(name);
    return o != NULL ? o->value : NULL;
}

static int usage(const char *bad)
{
    fprintf(stderr, "meter: bad option '%s'\nusage: meter [--seed N] [--virtual-clock] [--flash FILE] [--fuse FILE] [--card FILE] [--die-at-flash-op N] [--flash-trace]\n", bad);
    return -1;
}

int host_options_parse(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        host_opt *o = strncmp(argv[i], "--", 2) == 0 ? find_option(argv[i] + 2) : NULL;
        if (o == NULL) return usage(argv[i]);
        if (!o->takes_value) {
            o->value = "1";
            continue;
        }
        if (i + 1 >= argc) return usage(argv[i]);
        o->value = argv[++i];
    }
    return 0;
}
