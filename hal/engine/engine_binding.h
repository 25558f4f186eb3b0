/* The engine binding: installs the HAL (generated table in binding_table.c) as the
 * global __hal object and drives the firmware's dispatch entry. The only place
 * besides engine.c that knows the engine's types. */
#ifndef ENGINE_BINDING_H
#define ENGINE_BINDING_H

#include "duktape.h"

typedef struct {
    const char *name;
    int value;
} engine_constant;

extern const duk_function_list_entry engine_hal_functions[];
extern const engine_constant engine_hal_constants[];

/* Functions of the binding itself (hal/boundary.json "engine"), implemented in engine.c. */
duk_ret_t engine_overlay_load(duk_context *ctx);

#endif
