/* The newlib-nano system layer. There is no heap: _sbrk refuses, and malloc & co. are
 * defined here so the allocator is never linked and any call stops the meter loudly
 * (stdio streams such as printf allocate their buffers: use the HAL log instead). */
#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/time.h>
#include "board.h"
#include "hal_timer.h"
#include "qemu_board.h"

#undef errno
extern int errno;

static void no_heap(void) __attribute__((noreturn));
static void no_heap(void)
{
    board_halt("malloc called: the firmware has no heap", QEMU_EXIT_MALLOC);
    for (;;) {
    }
}

void *malloc(size_t size) { (void) size; no_heap(); }
void *calloc(size_t count, size_t size) { (void) count; (void) size; no_heap(); }
void *realloc(void *ptr, size_t size) { (void) ptr; (void) size; no_heap(); }
void free(void *ptr) { if (ptr) no_heap(); }
void *_malloc_r(void *reent, size_t size) { (void) reent; (void) size; no_heap(); }
void *_calloc_r(void *reent, size_t count, size_t size) { (void) reent; (void) count; (void) size; no_heap(); }
void *_realloc_r(void *reent, void *ptr, size_t size) { (void) reent; (void) ptr; (void) size; no_heap(); }
void _free_r(void *reent, void *ptr) { (void) reent; if (ptr) no_heap(); }

void *_sbrk(ptrdiff_t increment)
{
    (void) increment;
    errno = ENOMEM;
    return (void *) -1;
}

int _write(int fd, const char *data, int len)
{
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    uart_write(data, len);
    return len;
}

int _read(int fd, char *data, int len)
{
    (void) fd;
    (void) data;
    (void) len;
    return 0;
}

int _close(int fd)
{
    (void) fd;
    errno = EBADF;
    return -1;
}

int _lseek(int fd, int offset, int whence)
{
    (void) fd;
    (void) offset;
    (void) whence;
    return 0;
}

int _fstat(int fd, struct stat *st)
{
    (void) fd;
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd)
{
    (void) fd;
    return 1;
}

int _getpid(void)
{
    return 1;
}

int _kill(int pid, int sig)
{
    (void) pid;
    (void) sig;
    errno = EINVAL;
    return -1;
}

void _exit(int code)
{
    qemu_exit(code);
}

int _gettimeofday(struct timeval *tv, void *tz)
{
    (void) tz;
    int64_t wall = hal_timer_wall();
    tv->tv_sec = (time_t) (wall / 1000);
    tv->tv_usec = (suseconds_t) ((wall % 1000) * 1000);
    return 0;
}
