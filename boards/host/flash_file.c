/* Host flash driver: the store's NOR flash is the file given by --flash, created 0xFF-filled
 * at the board's size when missing; programming ANDs into it and erasing writes 0xFF, as on
 * NOR. The device key is the file given by --fuse: 32 random bytes, created on first use
 * (without --fuse the host has no key and the store keeps credentials in clear, saying so).
 *
 * --die-at-flash-op N: the Nth program or erase since start writes only its first half and
 * the process exits with status 99 at once, as on a power cut; tests sweep N.
 *
 * --flash-trace: every program and erase prints a console log line with the running counts
 * since the process (re)started, e.g.
 *   [00:00:00.120] <dbg> flash: program 0x01a40 +52 B (ops=7 programs=6 bytes=812 erases=1)
 * in order with the firmware's own log lines, so a test or the bench can count the operations
 * of one phase (build/bench.ts: flash writes per bootstrap). */
#define _GNU_SOURCE 1

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "device_key.h"
#include "flash.h"
#include "flash_file.h"
#include "host_options.h"

#define IO_CHUNK 512u
#define TRACE_LEVEL 4 /* LOG_LEVEL_DBG (hal/src/runtime.h) */

/* The HAL log (hal/src/log.c). Weak: the store tests link this driver without it (and never
 * pass --flash-trace). */
extern int hal_log_write(int level, const char *text) __attribute__((weak));

static int image_fd = -1;
static long op_count, die_at;
static long program_count, program_bytes, erase_count;
static int trace;

long flash_file_ops(void)
{
    return op_count;
}

static int write_all(int fd, const uint8_t *data, size_t len, off_t at)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, data, len, at);
        if (n <= 0) return HAL_EIO;
        data += n;
        len -= (size_t) n;
        at += n;
    }
    return HAL_OK;
}

static int read_all(int fd, uint8_t *out, size_t len, off_t at)
{
    while (len > 0) {
        ssize_t n = pread(fd, out, len, at);
        if (n <= 0) return HAL_EIO;
        out += n;
        len -= (size_t) n;
        at += n;
    }
    return HAL_OK;
}

static int fill_ff(int fd, off_t at, size_t len)
{
    uint8_t ff[IO_CHUNK];
    memset(ff, 0xFF, sizeof ff);
    while (len > 0) {
        size_t n = len < sizeof ff ? len : sizeof ff;
        if (write_all(fd, ff, n, at) < 0) return HAL_EIO;
        at += (off_t) n;
        len -= n;
    }
    return HAL_OK;
}

/* A new image is blank flash; an image of another size belongs to another geometry. */
static int prepare_image(int fd, const char *path)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) return HAL_EIO;
    if (sb.st_size == 0) return fill_ff(fd, 0, FLASH_TOTAL_BYTES);
    if (sb.st_size == (off_t) FLASH_TOTAL_BYTES) return HAL_OK;
    fprintf(stderr, "flash: %s has %ld bytes, this board's store needs %lu\n", path, (long) sb.st_size,
            (unsigned long) FLASH_TOTAL_BYTES);
    return HAL_EIO;
}

static int open_image(void)
{
    const char *path, *die;
    if (image_fd >= 0) return HAL_OK;
    path = host_option("flash");
    if (path == NULL) return HAL_ENOTSUP;
    die = host_option("die-at-flash-op");
    die_at = die != NULL ? atol(die) : 0;
    trace = host_option("flash-trace") != NULL;
    image_fd = open(path, O_RDWR | O_CREAT, 0600);
    if (image_fd < 0) return HAL_EIO;
    if (prepare_image(image_fd, path) == HAL_OK) return HAL_OK;
    close(image_fd);
    image_fd = -1;
    return HAL_EIO;
}

static int check(uint32_t off, size_t len)
{
    if (off > FLASH_TOTAL_BYTES || len > FLASH_TOTAL_BYTES - off) return HAL_EINVAL;
    return open_image();
}

/* Counts a program/erase; on the one --die-at-flash-op names, says how much of it happens. */
static size_t survives(size_t len)
{
    return ++op_count == die_at ? len / 2 : len;
}

static void power_cut(void)
{
    _exit(99);
}

/* --flash-trace: one log line per program/erase, with the running counts. */
static void trace_op(const char *what, unsigned long where, unsigned long len)
{
    char line[160];
    if (!trace || hal_log_write == NULL) return;
    snprintf(line, sizeof line, "flash: %s 0x%05lx +%lu B (ops=%ld programs=%ld bytes=%ld erases=%ld)", what, where, len,
             op_count, program_count, program_bytes, erase_count);
    (void) hal_log_write(TRACE_LEVEL, line);
}

int flash_read(uint32_t off, uint8_t *buf, size_t len)
{
    int rc = check(off, len);
    if (rc < 0) return rc;
    return read_all(image_fd, buf, len, (off_t) off);
}

int flash_program(uint32_t off, const uint8_t *data, size_t len)
{
    uint8_t cur[IO_CHUNK];
    size_t done = 0, keep;
    int rc = check(off, len);
    if (rc < 0) return rc;
    keep = survives(len);
    program_count++;
    program_bytes += (long) len;
    trace_op("program", off, (unsigned long) len);
    while (done < keep) {
        size_t n = keep - done < sizeof cur ? keep - done : sizeof cur, i;
        if (read_all(image_fd, cur, n, (off_t) (off + done)) < 0) return HAL_EIO;
        for (i = 0; i < n; i++) cur[i] &= data[done + i];
        if (write_all(image_fd, cur, n, (off_t) (off + done)) < 0) return HAL_EIO;
        done += n;
    }
    if (keep < len) power_cut();
    return HAL_OK;
}

int flash_erase(uint32_t sector)
{
    size_t keep;
    int rc = sector < FLASH_SECTORS ? open_image() : HAL_EINVAL;
    if (rc < 0) return rc;
    keep = survives(FLASH_SECTOR_BYTES);
    erase_count++;
    trace_op("erase", (unsigned long) sector * FLASH_SECTOR_BYTES, (unsigned long) FLASH_SECTOR_BYTES);
    if (fill_ff(image_fd, (off_t) sector * FLASH_SECTOR_BYTES, keep) < 0) return HAL_EIO;
    if (keep < FLASH_SECTOR_BYTES) power_cut();
    return HAL_OK;
}

/* ---- device key ---- */

static int create_fuse(const char *path)
{
    uint8_t key[32];
    int fd = open("/dev/urandom", O_RDONLY), rc;
    if (fd < 0) return HAL_EIO;
    rc = read_all(fd, key, sizeof key, 0) == HAL_OK ? HAL_OK : HAL_EIO;
    close(fd);
    fd = rc == HAL_OK ? open(path, O_WRONLY | O_CREAT | O_EXCL, 0600) : -1;
    if (fd >= 0) {
        rc = write_all(fd, key, sizeof key, 0);
        if (fsync(fd) != 0) rc = HAL_EIO;
        close(fd);
    } else {
        rc = HAL_EIO;
    }
    memset(key, 0, sizeof key);
    return rc;
}

int device_key_get(uint8_t key[32])
{
    const char *path = host_option("fuse");
    struct stat sb;
    int fd, rc;
    if (path == NULL) return HAL_ENOTSUP;
    if (stat(path, &sb) != 0 && create_fuse(path) < 0) return HAL_EIO;
    fd = open(path, O_RDONLY);
    if (fd < 0) return HAL_EIO;
    rc = fstat(fd, &sb) == 0 && sb.st_size == 32 ? read_all(fd, key, 32, 0) : HAL_EIO;
    close(fd);
    return rc;
}
