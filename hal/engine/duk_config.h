/* The project's Duktape configuration, shared by every board and by out/tools/dukdump
 * (bytecode only loads into the configuration that dumped it).
 *
 * Debian's duktape-dev ships duktape.c with pre-generated built-in tables but no
 * configure.py, so this file includes Debian's default duk_config.h and then
 * overrides DUK_USE_* options following upstream's low_memory example.
 * The build copies duktape.c/duktape.h into out/duktape/ next to this file
 * (compiling in place always picks up the duk_config.h beside duktape.c).
 * Facts and traps: /work/shared/design/duktape.md. */
#ifndef PROJECT_DUK_CONFIG_H
#define PROJECT_DUK_CONFIG_H

/* Debian's /usr/share/duktape/duk_config.h, copied beside this file by the build. */
#include "duk_config_debian.h"

/* --- 16-bit fields: refcounts, string hashes/lengths, object sizes. Strings (a source
 * text too) are capped at 64 KB. Buffer lengths stay 32-bit: the bytecode app image is
 * about twice the minified source and must load as one buffer. */
#undef DUK_USE_REFCOUNT32
#define DUK_USE_REFCOUNT16
#define DUK_USE_STRHASH16
#define DUK_USE_STRLEN16
#define DUK_USE_OBJSIZES16

/* --- Alignment. The pool allocator (hal/engine/js_pool.c) returns 4-byte aligned blocks
 * (no block header; a 4-byte granule). Both targets are 32-bit and need no more: x86 -m32
 * and Cortex-M4 (LDRD/LDM/VLDR want word alignment at most) load doubles, including
 * the one in a packed duk_tval, from any 4-byte aligned address. Debian's default is 8,
 * which pads property tables and fixed buffers for nothing. Shows as "a4" in
 * Duktape.env. */
#undef DUK_USE_ALIGN_BY
#define DUK_USE_ALIGN_BY 4

/* --- Heap pointer compression. Every Duktape allocation comes from one contiguous pool
 * (js_heap_pool, at most 256 KB, see hal/engine/engine.c). A pointer is stored as its
 * byte offset / 4: every block is 4-byte aligned. NULL is 0, which no block can have
 * because the pool starts with the allocator's bitmap. */
extern duk_uint8_t js_heap_pool[];
#if !defined(ENGINE_NO_HEAPPTR16) /* out/tools/dukdump only: it compiles the whole app at once */
#define DUK_USE_HEAPPTR16
#define DUK_USE_HEAPPTR_ENC16(ud, p) \
    ((duk_uint16_t) ((p) == NULL ? 0U : (duk_uint32_t) (((const duk_uint8_t *) (p) - js_heap_pool) >> 2)))
#define DUK_USE_HEAPPTR_DEC16(ud, x) \
    ((void *) ((x) == 0U ? NULL : (js_heap_pool + ((duk_uint32_t) (x) << 2))))
#define DUK_USE_STRTAB_PTRCOMP
#endif
#define JS_HEAP_POOL_MAX_BYTES 262144L

/* --- Strings: no cached char length (lazy variant instead), no array index flag,
 * small string table. */
#undef DUK_USE_HSTRING_CLEN
#define DUK_USE_HSTRING_LAZY_CLEN
#undef DUK_USE_HSTRING_ARRIDX
/* A fixed string table of 512 chains (1 KB): the app interns ~600-1,100 strings, so a
 * growing table reached 1,024 chains (2 KB) and its next doubling needed a 4 KB block next to
 * the old one, which a full, fragmented heap could not give (measured: out of heap on a
 * console command after a bootstrap). Chains of about two are cheap to walk; equal MIN and
 * MAX also compile the resize code out. */
#undef DUK_USE_STRTAB_MINSIZE
#define DUK_USE_STRTAB_MINSIZE 512
#undef DUK_USE_STRTAB_MAXSIZE
#define DUK_USE_STRTAB_MAXSIZE 512
#undef DUK_USE_LITCACHE_SIZE
#undef DUK_USE_SOURCE_NONBMP

/* --- Objects: no hash part, slower growth. MINGROW_ADD must be >= the divisor or
 * heap creation fails with "uncaught error". */
#undef DUK_USE_HOBJECT_HASH_PART
#undef DUK_USE_HOBJECT_ENTRY_MINGROW_ADD
#define DUK_USE_HOBJECT_ENTRY_MINGROW_ADD 16
#undef DUK_USE_HOBJECT_ENTRY_MINGROW_DIVISOR
#define DUK_USE_HOBJECT_ENTRY_MINGROW_DIVISOR 16
#undef DUK_USE_HOBJECT_ARRAY_MINGROW_ADD
#define DUK_USE_HOBJECT_ARRAY_MINGROW_ADD 16
#undef DUK_USE_HOBJECT_ARRAY_MINGROW_DIVISOR
#define DUK_USE_HOBJECT_ARRAY_MINGROW_DIVISOR 16

/* --- Functions: built-ins as lightfuncs, no .fileName, no pc-to-line table.
 * .name stays: in 2.7.0 duk_load_function sets a loaded function's scope only inside
 * #if DUK_USE_FUNC_NAME_PROPERTY, so without it calling loaded bytecode dereferences
 * a NULL environment (measured: segfault in duk__handle_oldenv_for_call). */
#define DUK_USE_LIGHTFUNC_BUILTINS
#define DUK_USE_FUNC_NAME_PROPERTY
#undef DUK_USE_FUNC_FILENAME_PROPERTY
#undef DUK_USE_PC2LINE

/* --- Errors: no verbose messages, no tracebacks, no augmentation hooks. */
#undef DUK_USE_VERBOSE_ERRORS
#undef DUK_USE_VERBOSE_EXECUTOR_ERRORS
#define DUK_USE_PARANOID_ERRORS
#undef DUK_USE_TRACEBACKS
#undef DUK_USE_AUGMENT_ERROR_CREATE
#undef DUK_USE_AUGMENT_ERROR_THROW
#undef DUK_USE_ERRCREATE
#undef DUK_USE_ERRTHROW

/* --- Size over speed: no fast paths, no caches. */
#define DUK_USE_PREFER_SIZE
#define DUK_USE_EXEC_PREFER_SIZE
#undef DUK_USE_FAST_REFCOUNT_DEFAULT
#undef DUK_USE_ARRAY_FASTPATH
#undef DUK_USE_ARRAY_PROP_FASTPATH
#undef DUK_USE_BASE64_FASTPATH
#undef DUK_USE_HEX_FASTPATH
#undef DUK_USE_IDCHAR_FASTPATH
#undef DUK_USE_JSON_STRINGIFY_FASTPATH
#undef DUK_USE_JSON_QUOTESTRING_FASTPATH
#undef DUK_USE_JSON_DECSTRING_FASTPATH
#undef DUK_USE_JSON_DECNUMBER_FASTPATH
#undef DUK_USE_JSON_EATWHITE_FASTPATH
#undef DUK_USE_CACHE_ACTIVATION
#undef DUK_USE_CACHE_CATCHER
#undef DUK_USE_LEXER_SLIDING_WINDOW
#undef DUK_USE_EXEC_REGCONST_OPTIMIZE

/* --- Built-ins compiled out. Debian's pre-generated tables still reference their
 * functions: hal/engine/duk_stubs.c provides stubs that throw. */
#undef DUK_USE_REGEXP_SUPPORT
#undef DUK_USE_REGEXP_CANON_BITMAP
#undef DUK_USE_ES6_REGEXP_SYNTAX
#undef DUK_USE_ES6_PROXY
#undef DUK_USE_REFLECT_BUILTIN
#undef DUK_USE_CBOR_SUPPORT
#undef DUK_USE_CBOR_BUILTIN
#undef DUK_USE_ENCODING_BUILTINS
#undef DUK_USE_PERFORMANCE_BUILTIN
#undef DUK_USE_COROUTINE_SUPPORT
#undef DUK_USE_JX
#undef DUK_USE_JC
#undef DUK_USE_BASE64_SUPPORT
#undef DUK_USE_HEX_SUPPORT
#undef DUK_USE_SECTION_B
#undef DUK_USE_HTML_COMMENTS
#undef DUK_USE_SHEBANG_COMMENTS
#undef DUK_USE_ES6_UNICODE_ESCAPE
#undef DUK_USE_DEBUGGER_SUPPORT

/* Finalizers stay: disabling them breaks the 2.7.0 build (trap 2). Bytecode dump/load
 * stays: the app image is a dump made at build time. */
#define DUK_USE_FINALIZER_SUPPORT
#define DUK_USE_BYTECODE_DUMP_SUPPORT

/* --- Target hooks, implemented in hal/engine/engine_port.c (dukdump has its own). */
struct duk_hthread;
extern void engine_duk_fatal(void *udata, const char *msg);
extern duk_bool_t engine_exec_timeout(void *udata);
extern duk_double_t engine_date_now(void);
extern duk_double_t engine_monotonic_now(void);
extern duk_double_t engine_random_double(void *udata);

#undef DUK_USE_FATAL_HANDLER
#define DUK_USE_FATAL_HANDLER(udata, msg) engine_duk_fatal((udata), (msg))

/* JS watchdog: the executor calls this every few thousand instructions. */
#define DUK_USE_INTERRUPT_COUNTER
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) engine_exec_timeout((udata))

/* Date and Math.random from the HAL, so the host's virtual clock and seeded RNG
 * also govern them. No time zones on a meter: local time is UTC. */
#undef DUK_USE_DATE_GET_NOW
#define DUK_USE_DATE_GET_NOW(ctx) engine_date_now()
#undef DUK_USE_GET_MONOTONIC_TIME
#define DUK_USE_GET_MONOTONIC_TIME(ctx) engine_monotonic_now()
#undef DUK_USE_DATE_GET_LOCAL_TZOFFSET
#define DUK_USE_DATE_GET_LOCAL_TZOFFSET(d) 0
#undef DUK_USE_DATE_PARSE_STRING
#undef DUK_USE_DATE_FORMAT_STRING
#undef DUK_USE_DATE_NOW_GETTIMEOFDAY
#undef DUK_USE_DATE_NOW_TIME
#undef DUK_USE_DATE_TZO_GMTIME_R
#undef DUK_USE_DATE_TZO_GMTIME
#undef DUK_USE_DATE_PRS_STRPTIME
#undef DUK_USE_DATE_FMT_STRFTIME
#undef DUK_USE_GET_MONOTONIC_TIME_CLOCK_GETTIME
#undef DUK_USE_GET_RANDOM_DOUBLE
#define DUK_USE_GET_RANDOM_DOUBLE(udata) engine_random_double((udata))

#undef DUK_USE_TARGET_INFO
#define DUK_USE_TARGET_INFO "geisa-meter"

#endif
