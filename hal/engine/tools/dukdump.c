/* out/tools/dukdump: compiles an ES5 script as a program and writes its
 * duk_dump_function bytecode, with the same Duktape configuration as the meters
 * (a dump only loads into the configuration that made it). Loading the dump and
 * calling it with no arguments runs the script.
 * It is built with ENGINE_NO_HEAPPTR16: compiling a whole bundle needs more than the
 * 256 KB that 16-bit heap pointers can address on a 64-bit host, and pointer
 * compression does not change the dump format (build/cbuild.ts checks that a dump is
 * byte-identical with and without it).
 * usage: dukdump IN.js OUT.bin */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "duktape.h"
#include "js_pool.h"

#define MAX_SOURCE_BYTES (4L * 1024 * 1024)
#define MAX_DUMP_BYTES 65535L /* 16-bit buffer lengths on the target */
#if defined(DUK_USE_BUFLEN16)
#define BUFFER_LENGTHS_16BIT 1
#else
#define BUFFER_LENGTHS_16BIT 0
#endif

#if defined(ENGINE_NO_HEAPPTR16)
#define DUMP_POOL_BYTES (16L * 1024 * 1024)
#else
#define DUMP_POOL_BYTES JS_HEAP_POOL_MAX_BYTES
#endif

duk_uint8_t js_heap_pool[DUMP_POOL_BYTES] __attribute__((aligned(8)));
static js_pool pool;
static char source[MAX_SOURCE_BYTES];

void engine_duk_fatal(void *udata, const char *msg)
{
    (void) udata;
    fprintf(stderr, "dukdump: duktape fatal: %s (heap %lu/%lu bytes)\n", msg != NULL ? msg : "?",
            (unsigned long) pool.in_use, (unsigned long) pool.size);
    exit(1);
}

duk_bool_t engine_exec_timeout(void *udata)
{
    (void) udata;
    return 0;
}

duk_double_t engine_date_now(void) { return (duk_double_t) time(NULL) * 1000.0; }
duk_double_t engine_monotonic_now(void) { return (duk_double_t) clock() * 1000.0 / CLOCKS_PER_SEC; }
duk_double_t engine_random_double(void *udata)
{
    (void) udata;
    return 0.5;
}

static void *pool_alloc(void *udata, duk_size_t size) { return js_pool_alloc((js_pool *) udata, size); }
static void *pool_realloc(void *udata, void *ptr, duk_size_t size) { return js_pool_realloc((js_pool *) udata, ptr, size); }
static void pool_free(void *udata, void *ptr) { js_pool_free((js_pool *) udata, ptr); }

static long read_source(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    n = fread(source, 1, sizeof source, f);
    if (!feof(f)) {
        fprintf(stderr, "dukdump: %s is larger than %ld bytes\n", path, MAX_SOURCE_BYTES);
        exit(2);
    }
    fclose(f);
    return (long) n;
}

static void write_dump(const char *path, const void *data, duk_size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static duk_ret_t compile_and_dump(duk_context *ctx, void *udata)
{
    duk_compile_lstring(ctx, 0, source, (duk_size_t) *(const long *) udata);
    duk_dump_function(ctx);
    return 1;
}

int main(int argc, char **argv)
{
    duk_context *ctx;
    duk_size_t dump_size = 0;
    void *dump;
    long source_len;
    if (argc != 3) {
        fprintf(stderr, "usage: dukdump IN.js OUT.bin\n");
        return 2;
    }
    source_len = read_source(argv[1]);
    js_pool_init(&pool, js_heap_pool, sizeof js_heap_pool);
    ctx = duk_create_heap(pool_alloc, pool_realloc, pool_free, &pool, engine_duk_fatal);
    if (ctx == NULL) engine_duk_fatal(NULL, "heap creation failed");
    if (duk_safe_call(ctx, compile_and_dump, &source_len, 0, 1) != DUK_EXEC_SUCCESS) {
        fprintf(stderr, "dukdump: %s: %s (heap peak %lu bytes)\n", argv[1], duk_safe_to_string(ctx, -1),
                (unsigned long) pool.peak);
        return 1;
    }
    dump = duk_get_buffer(ctx, -1, &dump_size);
    if (BUFFER_LENGTHS_16BIT && (long) dump_size > MAX_DUMP_BYTES) {
        fprintf(stderr, "dukdump: %s: bytecode is %lu bytes, over the %ld-byte limit of 16-bit buffer lengths\n",
                argv[1], (unsigned long) dump_size, MAX_DUMP_BYTES);
        return 3;
    }
    write_dump(argv[2], dump, dump_size);
    printf("dukdump: %s (%ld bytes) -> %s (%lu bytes), compile heap peak %lu bytes\n", argv[1], source_len, argv[2],
           (unsigned long) dump_size, (unsigned long) pool.peak);
    duk_destroy_heap(ctx);
    return 0;
}
