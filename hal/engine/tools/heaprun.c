/* heaprun: where the firmware's JS heap goes, on the development machine.
 * Loads a bytecode app image into the project's Duktape configuration with a large pool,
 * after a prelude that stubs __hal in JS, runs it, and prints the pool in use after load,
 * the peak while the top level runs, what stays after a GC, and an allocation histogram.
 * Build (32-bit like the meters; no pointer compression so the pool can be large):
 *   gcc -m32 -O1 -DENGINE_NO_HEAPPTR16 -Iout/duktape -Ihal/engine hal/engine/tools/heaprun.c \
 *       hal/engine/js_pool.c out/duktape/duktape.c -lm -o out/tools/heaprun
 *   out/tools/heaprun hal/engine/tools/heaprun-prelude.js out/host/app.bc
 * With pointer compression (the meters) the figures are about 0.75 of these. The figures
 * leave out the pool's start-bit map (1/32 of the pool), which grows with this large pool. */
#include <stdio.h>
#include <stdlib.h>
#include "duktape.h"
#include "js_pool.h"
#define POOL (8u*1024*1024)
duk_uint8_t js_heap_pool[POOL] __attribute__((aligned(8)));
static js_pool pool;
static long live, reqbytes; static long hist[9];
static void *pa(void *u, duk_size_t s) { void *p = js_pool_alloc((js_pool *) u, s); if (p) { live++; reqbytes += s; { int b=0; size_t t=s; while (t>8 && b<8) { t>>=1; b++; } hist[b]++; } } return p; }
static void *pr(void *u, void *p, duk_size_t s) { return js_pool_realloc((js_pool *) u, p, s); }
static void pf(void *u, void *p) { if (p) live--; js_pool_free((js_pool *) u, p); }
static unsigned long used(void) { return (unsigned long) (pool.in_use - pool.reserved); }
static unsigned long peak(void) { return (unsigned long) (pool.peak - pool.reserved); }
static duk_ret_t heapf(duk_context *ctx) { duk_push_number(ctx, (double) used()); return 1; }
static duk_ret_t peakf(duk_context *ctx) { duk_push_number(ctx, (double) peak()); return 1; }
static duk_ret_t printf_(duk_context *ctx) { printf("%s\n", duk_safe_to_string(ctx, 0)); fflush(stdout); return 0; }
static unsigned char buf[1<<20];
int main(int argc, char **argv) {
  FILE *f; size_t n; duk_context *ctx;
  js_pool_init(&pool, js_heap_pool, POOL);
  ctx = duk_create_heap(pa, pr, pf, &pool, NULL);
  duk_push_c_function(ctx, heapf, 0); duk_put_global_string(ctx, "__heap");
  duk_push_c_function(ctx, peakf, 0); duk_put_global_string(ctx, "__peak");
  duk_push_c_function(ctx, printf_, 1); duk_put_global_string(ctx, "__print");
  f = fopen(argv[1], "rb"); n = fread(buf, 1, sizeof buf, f); fclose(f);
  duk_eval_lstring_noresult(ctx, (const char *) buf, n);
  printf("after prelude %lu\n", used());
  f = fopen(argv[2], "rb"); n = fread(buf, 1, sizeof buf, f); fclose(f);
  duk_push_external_buffer(ctx); duk_config_buffer(ctx, -1, buf, n);
  duk_load_function(ctx);
  printf("after load %lu\n", used());
  if (duk_pcall(ctx, 0) != 0) printf("error: %s\n", duk_safe_to_string(ctx, -1));
  duk_pop(ctx);
  duk_gc(ctx, 0);
  printf("after run+gc %lu peak %lu live allocations %ld\n", used(), peak(), live);
  { int b; for (b = 0; b < 9; b++) printf("size<=%d: %ld allocs (cumulative)\n", 8 << b, hist[b]); }
  if (argc > 3) { duk_eval_string_noresult(ctx, argv[3]); printf("after extra %lu peak %lu\n", used(), peak()); }
  return 0;
}
double engine_date_now(void) { return 0; }
void engine_duk_fatal(void *u, const char *m) { (void) u; printf("FATAL %s\n", m); exit(1); }
duk_bool_t engine_exec_timeout(void *u) { (void) u; return 0; }
double engine_random_double(void *u) { (void) u; return 0.5; }
