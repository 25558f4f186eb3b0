/* The store on the host flash driver (boards/host/flash_file.c), one phase per process so that
 * test/unit/store.test.ts can cut the power with --die-at-flash-op N (exit status 99):
 *   test_store_file --flash F --fuse K [--die-at-flash-op N] setup|fill=N|update|check|wipe
 * setup writes the old configuration, update replaces it in one transaction, check prints
 * "state old", "state new" or "state mixed" and then proves the store takes a new transaction,
 * fill=N rewrites filler records N times, wipe is a factory reset of the credentials. Prints "ops N": flash operations of the process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flash_file.h"
#include "hal_rng.h"
#include "hal_store.h"
#include "store.h"

static const char *opt_flash, *opt_fuse, *opt_die;

const char *host_option(const char *name)
{
    if (strcmp(name, "flash") == 0) return opt_flash;
    if (strcmp(name, "fuse") == 0) return opt_fuse;
    if (strcmp(name, "die-at-flash-op") == 0) return opt_die;
    return NULL;
}

void store_report(const char *what)
{
    printf("store: %s\n", what);
}

int hal_rng_fill(uint8_t *out, size_t out_cap)
{
    static uint32_t x = 2463534242u;
    size_t i;
    for (i = 0; i < out_cap; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (uint8_t) x;
    }
    return HAL_OK;
}

typedef struct {
    int id;
    const char *value; /* NULL: absent */
} item;

#define ITEMS 5
static const item old_config[ITEMS] = {
    { 1, "coaps://bootstrap.example:5684" }, { 2, "old-lifetime=300" }, { 3, "kept" },
    { 0x8001, "PSK-SECRET-OLD-0123456789abcdef" }, { 4, NULL },
};
static const item new_config[ITEMS] = {
    { 1, "coaps://dm.example:5684" }, { 2, NULL }, { 3, "kept" },
    { 0x8001, "PSK-SECRET-NEW-fedcba9876543210" }, { 4, "new-object-instance" },
};

static int apply(const item *cfg)
{
    int i, rc = hal_store_begin();
    for (i = 0; rc == HAL_OK && i < ITEMS; i++) {
        const item *it = &cfg[i];
        if (it->value != NULL) {
            rc = hal_store_write(it->id, (const uint8_t *) it->value, strlen(it->value));
        } else {
            rc = hal_store_remove(it->id);
            if (rc == HAL_ENOENT) rc = HAL_OK;
        }
    }
    return rc == HAL_OK ? hal_store_commit() : rc;
}

static int holds(const item *cfg)
{
    char buf[64];
    int i;
    for (i = 0; i < ITEMS; i++) {
        int n = hal_store_read(cfg[i].id, (uint8_t *) buf, sizeof buf);
        if (cfg[i].value == NULL ? n != HAL_ENOENT : n != (int) strlen(cfg[i].value) || memcmp(buf, cfg[i].value, (size_t) n) != 0) {
            return 0;
        }
    }
    return 1;
}

static int check(void)
{
    const char *state = holds(old_config) ? "old" : holds(new_config) ? "new" : "mixed";
    int ok;
    printf("state %s\n", state);
    ok = hal_store_begin() == HAL_OK && hal_store_write(9, (const uint8_t *) "after", 5) == HAL_OK &&
         hal_store_commit() == HAL_OK && store_mount() == HAL_OK && hal_store_read(9, NULL, 0) == HAL_ETOOBIG;
    printf("followup %s\n", ok ? "ok" : "failed");
    return strcmp(state, "mixed") != 0 && ok ? 0 : 1;
}

static int wiped(void)
{
    char buf[64];
    int rc = store_wipe_credentials();
    if (rc == HAL_OK && hal_store_read(0x8001, (uint8_t *) buf, sizeof buf) != HAL_ENOENT) rc = HAL_EIO;
    printf("wipe %d\n", rc);
    return rc == HAL_OK ? 0 : 1;
}

/* n rewrites of a filler record: moves the head so that the update meets a compaction */
static int fill(int n)
{
    uint8_t buf[400];
    int i, rc = HAL_OK;
    for (i = 0; rc == HAL_OK && i < n; i++) {
        memset(buf, i, sizeof buf);
        rc = hal_store_write(200 + i % 3, buf, sizeof buf);
    }
    return rc == HAL_OK ? 0 : 1;
}

static int run_phase(const char *phase)
{
    int rc = store_mount();
    if (rc != HAL_OK) {
        printf("mount %d\n", rc);
        return 1;
    }
    if (strcmp(phase, "setup") == 0) return apply(old_config) == HAL_OK ? 0 : 1;
    if (strcmp(phase, "update") == 0) return apply(new_config) == HAL_OK ? 0 : 1;
    if (strcmp(phase, "check") == 0) return check();
    if (strncmp(phase, "fill=", 5) == 0) return fill(atoi(phase + 5));
    if (strcmp(phase, "wipe") == 0) return wiped();
    printf("unknown phase %s\n", phase);
    return 2;
}

int main(int argc, char **argv)
{
    const char *phase = NULL;
    int i, rc;
    setvbuf(stdout, NULL, _IONBF, 0); /* the power cut is _exit: nothing may sit in a buffer */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--flash") == 0 && i + 1 < argc) opt_flash = argv[++i];
        else if (strcmp(argv[i], "--fuse") == 0 && i + 1 < argc) opt_fuse = argv[++i];
        else if (strcmp(argv[i], "--die-at-flash-op") == 0 && i + 1 < argc) opt_die = argv[++i];
        else phase = argv[i];
    }
    if (phase == NULL) {
        fprintf(stderr, "usage: test_store_file --flash F [--fuse K] [--die-at-flash-op N] setup|fill=N|update|check|wipe\n");
        return 2;
    }
    rc = run_phase(phase);
    printf("ops %ld\n", flash_file_ops());
    return rc;
}
