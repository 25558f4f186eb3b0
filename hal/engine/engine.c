#include "engine.h"

#include <string.h>

#include "board.h"
#include "board_config.h"
#include "duktape.h"
#include "engine_binding.h"
#include "hal_log.h"
#include "hal_sys.h"
#include "hal_timer.h"
#include "js_pool.h"
#include "runtime.h"
#include "text_line.h"

/* Budgets of the JS watchdog (Duktape's execution-timeout hook, checked every few
 * thousand bytecode instructions). Loading compiles or loads the whole app. */
#define WATCHDOG_LOAD_MS 60000
#define WATCHDOG_DISPATCH_MS 5000
#define MAX_APP_IMAGE_BYTES 65535u /* a dump is a buffer: 16-bit buffer lengths */

typedef char js_heap_fits_16bit_pointers[(BOARD_JS_HEAP_BYTES <= JS_HEAP_POOL_MAX_BYTES) ? 1 : -1];

duk_uint8_t js_heap_pool[BOARD_JS_HEAP_BYTES] __attribute__((aligned(8)));

static js_pool pool;
static duk_context *engine_ctx;
static const char *engine_where = "create";
static int64_t watchdog_deadline = -1;
static int64_t watchdog_budget;
static int watchdog_fired;

typedef struct {
    int kind;
    int handle;
    int32_t arg;
} dispatch_args;

static void *pool_alloc(void *udata, duk_size_t size) { return js_pool_alloc((js_pool *) udata, size); }
static void *pool_realloc(void *udata, void *ptr, duk_size_t size) { return js_pool_realloc((js_pool *) udata, ptr, size); }
static void pool_free(void *udata, void *ptr) { js_pool_free((js_pool *) udata, ptr); }

static void console_line(const char *text)
{
    board_console_write(text, (int) strlen(text));
    board_console_write("\n", 1);
}

static void out_of_heap(const char *where)
{
    char buf[120];
    text_line t;
    text_init(&t, buf, sizeof buf);
    text_str(&t, "FATAL: out of JS heap (");
    text_u64(&t, pool.used_at_fail);
    text_str(&t, "/");
    text_u64(&t, pool.size);
    text_str(&t, " bytes) in ");
    text_str(&t, where);
    console_line(buf);
    board_reset("heap");
}

static void watchdog_expired(const char *where)
{
    char buf[120];
    text_line t;
    text_init(&t, buf, sizeof buf);
    text_str(&t, "FATAL: JS watchdog: ");
    text_str(&t, where);
    text_str(&t, " ran over ");
    text_i64(&t, watchdog_budget);
    text_str(&t, " ms");
    console_line(buf);
    board_reset("watchdog");
}

/* Duktape's fatal handler: uncaught errors outside a protected call, internal
 * failures, and allocation failures where no error can be thrown. Never returns. */
void engine_duk_fatal(void *udata, const char *msg)
{
    char buf[200];
    text_line t;
    (void) udata;
    if (js_pool_gave_up(&pool)) out_of_heap(engine_where);
    text_init(&t, buf, sizeof buf);
    text_str(&t, "FATAL: duktape: ");
    text_str(&t, msg != NULL ? msg : "(no message)");
    text_str(&t, " in ");
    text_str(&t, engine_where);
    console_line(buf);
    board_reset("fatal");
}

duk_bool_t engine_exec_timeout(void *udata)
{
    (void) udata;
    if (watchdog_deadline < 0 || hal_timer_now() <= watchdog_deadline) return 0;
    watchdog_fired = 1;
    return 1;
}

void engine_watchdog_kick(void)
{
    if (watchdog_deadline >= 0) watchdog_deadline = hal_timer_now() + watchdog_budget;
}

static void log_js_error(const char *where, const char *message)
{
    char buf[240];
    text_line t;
    text_init(&t, buf, sizeof buf);
    text_str(&t, "engine: ");
    text_str(&t, where);
    text_str(&t, " threw: ");
    text_str(&t, message);
    hal_log_write(LOG_LEVEL_ERR, buf);
}

/* Runs fn protected under the watchdog and the out-of-heap check; leaves nothing on
 * the value stack. Returns 1 when fn succeeded. */
static int run_protected(duk_safe_call_function fn, void *udata, const char *where, int64_t budget_ms)
{
    duk_int_t rc;
    engine_where = where;
    js_pool_clear_failures(&pool);
    watchdog_fired = 0;
    watchdog_budget = budget_ms;
    watchdog_deadline = hal_timer_now() + budget_ms;
    rc = duk_safe_call(engine_ctx, fn, udata, 0, 1);
    watchdog_deadline = -1;
    if (js_pool_gave_up(&pool)) out_of_heap(where);
    if (watchdog_fired) watchdog_expired(where);
    if (rc != DUK_EXEC_SUCCESS) log_js_error(where, duk_safe_to_string(engine_ctx, -1));
    duk_pop(engine_ctx);
    return rc == DUK_EXEC_SUCCESS;
}

/* Built-in functions as lightfuncs: no heap object per function. */
static duk_ret_t install_hal(duk_context *ctx, void *udata)
{
    const duk_function_list_entry *f;
    const engine_constant *c;
    (void) udata;
    duk_push_object(ctx);
    for (f = engine_hal_functions; f->key != NULL; f++) {
        duk_push_c_lightfunc(ctx, f->value, f->nargs, f->nargs, 0);
        duk_put_prop_string(ctx, -2, f->key);
    }
    for (c = engine_hal_constants; c->name != NULL; c++) {
        duk_push_int(ctx, c->value);
        duk_put_prop_string(ctx, -2, c->name);
    }
    duk_put_global_string(ctx, "__hal");
    return 0;
}

/* Pushes the function of an image: a bytecode dump stays where the build put it (flash on
 * an MCU, no copy into the heap); source is compiled. */
static void push_image(duk_context *ctx, const unsigned char *image, unsigned int len, const char *name)
{
    if (app_image_is_bytecode) {
#if defined(DUK_USE_BUFLEN16)
        if (len > MAX_APP_IMAGE_BYTES) (void) duk_range_error(ctx, "%s: image too large", name);
#endif
        duk_push_external_buffer(ctx);
        duk_config_buffer(ctx, -1, (void *) (uintptr_t) image, len);
        duk_load_function(ctx);
    } else {
        duk_push_string(ctx, name);
        duk_compile_lstring_filename(ctx, 0, (const char *) image, len);
    }
}

static duk_ret_t load_app(duk_context *ctx, void *udata)
{
    (void) udata;
    push_image(ctx, app_image, app_image_len, "app");
    duk_call(ctx, 0);
    return 0;
}

/* __hal.overlay_load(index): runs overlay image <index>, which leaves its exports in a
 * global for the stub that called it; -1: a collection, so a released overlay's cycles
 * (closures and their scope) give their heap back at once. */
duk_ret_t engine_overlay_load(duk_context *ctx)
{
    duk_int_t index = duk_require_int(ctx, 0);
    if (index < 0) {
        duk_gc(ctx, 0);
        duk_push_int(ctx, 0);
        return 1;
    }
    if (index >= app_overlay_count) return duk_range_error(ctx, "no overlay %d", (int) index);
    /* Garbage (reference cycles, a previous overlay) goes first: the image's function
     * templates need a few large blocks, and a full collection makes them likelier to fit. */
    duk_gc(ctx, 0);
    push_image(ctx, app_overlays[index], app_overlay_lens[index], "overlay");
    duk_call(ctx, 0);
    duk_push_int(ctx, 0);
    return 1;
}

static duk_ret_t call_dispatch(duk_context *ctx, void *udata)
{
    const dispatch_args *a = (const dispatch_args *) udata;
    duk_get_global_string(ctx, "__hal");
    duk_get_prop_string(ctx, -1, "dispatch");
    if (!duk_is_callable(ctx, -1)) return 0;
    duk_push_int(ctx, a->kind);
    duk_push_int(ctx, a->handle);
    duk_push_int(ctx, (duk_int_t) a->arg);
    duk_call(ctx, 3);
    return 0;
}

static duk_ret_t has_dispatch(duk_context *ctx, void *udata)
{
    (void) udata;
    duk_get_global_string(ctx, "__hal");
    duk_get_prop_string(ctx, -1, "dispatch");
    duk_push_boolean(ctx, duk_is_callable(ctx, -1));
    return 1;
}

static void log_heap(const char *what)
{
    char buf[160];
    text_line t;
    text_init(&t, buf, sizeof buf);
    text_str(&t, "engine: js heap ");
    text_u64(&t, pool.in_use);
    text_str(&t, "/");
    text_u64(&t, pool.size);
    text_str(&t, " bytes in use ");
    text_str(&t, what);
    text_str(&t, ", peak ");
    text_u64(&t, pool.peak);
    hal_log_write(LOG_LEVEL_INF, buf);
}

static void create_heap(void)
{
    js_pool_init(&pool, js_heap_pool, sizeof js_heap_pool);
    engine_where = "create";
    engine_ctx = duk_create_heap(pool_alloc, pool_realloc, pool_free, &pool, engine_duk_fatal);
    if (engine_ctx == NULL) out_of_heap("create");
    log_heap("after heap creation");
}

static void warn_without_dispatch(void)
{
    duk_bool_t present = 0;
    if (duk_safe_call(engine_ctx, has_dispatch, NULL, 0, 1) == DUK_EXEC_SUCCESS) present = duk_get_boolean(engine_ctx, -1);
    duk_pop(engine_ctx);
    if (!present) hal_log_write(LOG_LEVEL_WRN, "engine: the app set no __hal.dispatch");
}

void engine_start(void)
{
    create_heap();
    if (!run_protected(install_hal, NULL, "hal binding", WATCHDOG_LOAD_MS)) board_halt("hal binding", 3);
    if (!run_protected(load_app, NULL, app_image_is_bytecode ? "app load (bytecode)" : "app load (source)", WATCHDOG_LOAD_MS)) {
        console_line("FATAL: the app image did not load");
        board_halt("app load", 3);
    }
    log_heap("after app load");
    warn_without_dispatch();
}

void engine_dispatch(int kind, int handle, int32_t arg)
{
    dispatch_args a;
    a.kind = kind;
    a.handle = handle;
    a.arg = arg;
    (void) run_protected(call_dispatch, &a, "dispatch", WATCHDOG_DISPATCH_MS);
}

int hal_sys_heap(int which)
{
    switch (which) {
    case 0: return (int) pool.in_use;
    case 1: return (int) pool.peak;
    case 2: return (int) pool.size;
    default: return HAL_EINVAL;
    }
}
