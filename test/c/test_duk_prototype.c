/* The lazy default .prototype of compiled functions (DUKTAPE_PATCHES in build/cbuild.ts),
 * checked inside the patched engine with the project's Duktape configuration: ES5
 * semantics of .prototype whichever operation observes it first, tsc-lowered classes,
 * bound functions, Function.prototype, functions loaded from bytecode, finalizers running
 * while the property is created, and what a closure costs.
 * Built and run by test/unit/duk-patches.test.ts, 32-bit, with and without heap pointer
 * compression (-DENGINE_NO_HEAPPTR16):
 *   gcc -m32 -std=c99 -O1 -Iout/duktape -Ihal/engine test/c/test_duk_prototype.c \
 *       hal/engine/js_pool.c out/duktape/duktape.c -lm
 * Prints "FAIL <name>" for each failed check and "ok <n> checks" at the end; exits 0 only
 * when every check passed. --torture: see pool_alloc. --eager: control run against an engine
 * without the lazy .prototype patches (the checks that only hold with them are skipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duktape.h"
#include "js_pool.h"

#if defined(ENGINE_NO_HEAPPTR16)
#define POOL_BYTES (2u * 1024u * 1024u)
#else
#define POOL_BYTES ((unsigned) JS_HEAP_POOL_MAX_BYTES) /* 16-bit heap pointers: at most 256 KB */
#endif
duk_uint8_t js_heap_pool[POOL_BYTES] __attribute__((aligned(8)));
static js_pool pool;

/* --torture: every other allocation and reallocation fails, so Duktape runs an emergency
 * mark-and-sweep (object compaction, value stack shrink, finalizers) before retrying:
 * side effects at every allocation point, lazy .prototype creation included. */
static int torture;
static unsigned long torture_fails;
static void *pool_alloc(void *u, duk_size_t s)
{
    static unsigned n;
    if (torture && (++n & 1u)) {
        torture_fails++;
        return NULL;
    }
    return js_pool_alloc((js_pool *) u, s);
}
static void *pool_realloc(void *u, void *p, duk_size_t s)
{
    static unsigned n;
    if (torture && s > 0 && (++n & 1u)) {
        torture_fails++;
        return NULL;
    }
    return js_pool_realloc((js_pool *) u, p, s);
}
static void pool_free(void *u, void *p) { js_pool_free((js_pool *) u, p); }

/* The target hooks duk_config.h names (hal/engine/engine_port.c on a board). */
void engine_duk_fatal(void *udata, const char *msg)
{
    (void) udata;
    printf("FAIL fatal: %s\n", msg ? msg : "?");
    exit(2);
}
duk_bool_t engine_exec_timeout(void *udata) { (void) udata; return 0; }
duk_double_t engine_date_now(void) { return 0; }
duk_double_t engine_monotonic_now(void) { return 0; }
duk_double_t engine_random_double(void *udata) { (void) udata; return 0.5; }

static int checks, failures;

static duk_ret_t js_print(duk_context *ctx)
{
    printf("%s\n", duk_safe_to_string(ctx, 0));
    fflush(stdout);
    return 0;
}
static duk_ret_t js_heap(duk_context *ctx)
{
    duk_push_number(ctx, (double) pool.in_use);
    return 1;
}
static duk_ret_t js_result(duk_context *ctx)
{
    checks += duk_to_int(ctx, 0);
    failures += duk_to_int(ctx, 1);
    return 0;
}

static void c_check(int cond, const char *name)
{
    checks++;
    if (!cond) {
        failures++;
        printf("FAIL %s\n", name);
    }
}

/* Shared by every script: check(), test(), throwsType(), and the tsc ES5 helper. */
static const char *const PRELUDE =
    "var __checks = 0, __fails = 0;\n"
    "function check(name, cond) { __checks++; if (cond !== true) { __fails++; __print('FAIL ' + name); } }\n"
    "function test(name, fn) { try { fn(); } catch (e) { __checks++; __fails++; __print('FAIL ' + name + ': threw ' + e); } }\n"
    "function throwsType(fn) { try { fn(); } catch (e) { return e instanceof TypeError; } return false; }\n"
    "function isDefaultProto(F) {\n"
    "  var d = Object.getOwnPropertyDescriptor(F, 'prototype');\n"
    "  if (!d || d.writable !== true || d.enumerable !== false || d.configurable !== false) return false;\n"
    "  var p = d.value;\n"
    "  if (typeof p !== 'object' || Object.getPrototypeOf(p) !== Object.prototype) return false;\n"
    "  var c = Object.getOwnPropertyDescriptor(p, 'constructor');\n"
    "  if (!c || c.value !== F || c.writable !== true || c.enumerable !== false || c.configurable !== true) return false;\n"
    "  var names = Object.getOwnPropertyNames(p);\n"
    "  return names.length === 1 && names[0] === 'constructor' && Object.isExtensible(p) && p === F.prototype;\n"
    "}\n"
    /* tsc --target ES5 output for: class Animal { constructor(public name) {} speak() {...}
     * static create(n) {...} } class Dog extends Animal { tricks = 0; speak() { super.speak() } } */
    "var __extends = (this && this.__extends) || (function () {\n"
    "  var extendStatics = function (d, b) {\n"
    "    extendStatics = Object.setPrototypeOf ||\n"
    "      ({ __proto__: [] } instanceof Array && function (d, b) { d.__proto__ = b; }) ||\n"
    "      function (d, b) { for (var p in b) if (Object.prototype.hasOwnProperty.call(b, p)) d[p] = b[p]; };\n"
    "    return extendStatics(d, b);\n"
    "  };\n"
    "  return function (d, b) {\n"
    "    if (typeof b !== 'function' && b !== null)\n"
    "      throw new TypeError('Class extends value ' + String(b) + ' is not a constructor or null');\n"
    "    extendStatics(d, b);\n"
    "    function __() { this.constructor = d; }\n"
    "    d.prototype = b === null ? Object.create(b) : (__.prototype = b.prototype, new __());\n"
    "  };\n"
    "})();\n"
    "function makeClasses() {\n"
    "  var Animal = /** @class */ (function () {\n"
    "    function Animal(name) { this.name = name; }\n"
    "    Animal.prototype.speak = function () { return this.name + ' speaks'; };\n"
    "    Animal.create = function (n) { return new this(n); };\n"
    "    return Animal;\n"
    "  }());\n"
    "  var Dog = /** @class */ (function (_super) {\n"
    "    __extends(Dog, _super);\n"
    "    function Dog(name) { var _this = _super.call(this, name) || this; _this.tricks = 0; return _this; }\n"
    "    Dog.prototype.speak = function () { return _super.prototype.speak.call(this) + ' (woof)'; };\n"
    "    return Dog;\n"
    "  }(Animal));\n"
    "  var Puppy = /** @class */ (function (_super) {\n"
    "    __extends(Puppy, _super);\n"
    "    function Puppy() { return _super !== null && _super.apply(this, arguments) || this; }\n"
    "    return Puppy;\n"
    "  }(Dog));\n"
    "  var Plain = /** @class */ (function () { function Plain() { this.v = 1; } return Plain; }());\n"
    "  return { Animal: Animal, Dog: Dog, Puppy: Puppy, Plain: Plain };\n"
    "}\n"
    "function checkClasses(tag, k) {\n"
    "  var Animal = k.Animal, Dog = k.Dog, Puppy = k.Puppy, Plain = k.Plain;\n"
    "  var p = new Plain();\n"
    "  check(tag + ' class without methods: new', p.v === 1 && p instanceof Plain && Object.getPrototypeOf(p) === Plain.prototype);\n"
    "  check(tag + ' class without methods: default prototype', isDefaultProto(Plain));\n"
    "  var d = new Dog('rex');\n"
    "  check(tag + ' subclass instance', d instanceof Dog && d instanceof Animal && d instanceof Object && !(d instanceof Plain));\n"
    "  check(tag + ' subclass chain', Object.getPrototypeOf(d) === Dog.prototype && Object.getPrototypeOf(Dog.prototype) === Animal.prototype);\n"
    "  check(tag + ' subclass constructor', Dog.prototype.constructor === Dog && Animal.prototype.constructor === Animal && d.constructor === Dog);\n"
    "  check(tag + ' super call and override', d.speak() === 'rex speaks (woof)' && d.tricks === 0 && d.name === 'rex');\n"
    "  check(tag + ' static inheritance', Object.getPrototypeOf(Dog) === Animal && Dog.create('a') instanceof Dog && Dog.create('a').speak() === 'a speaks (woof)');\n"
    "  var pu = new Puppy('bo');\n"
    "  check(tag + ' two levels', pu instanceof Puppy && pu instanceof Dog && pu instanceof Animal && pu.speak() === 'bo speaks (woof)' && pu.constructor === Puppy);\n"
    "  var dd = Object.getOwnPropertyDescriptor(Dog, 'prototype');\n"
    "  check(tag + ' subclass prototype descriptor', dd.writable === true && dd.enumerable === false && dd.configurable === false);\n"
    "  check(tag + ' subclass prototype not enumerable', Object.keys(Dog).length === 0 && Object.keys(Animal).join() === 'create');\n"
    "  check(tag + ' isDefaultProto(Animal) is false once methods were added', !isDefaultProto(Animal) && Animal.prototype.hasOwnProperty('speak'));\n"
    "}\n";

/* The suite proper, run in the global scope. Each test observes the .prototype of a
 * function nobody has touched yet through one operation first. */
static const char *const SUITE =
    "test('plain read', function () {\n"
    "  function F() {}\n"
    "  var p = F.prototype;\n"
    "  check('read: object', typeof p === 'object' && p !== null);\n"
    "  check('read: constructor', p.constructor === F);\n"
    "  check('read: stable identity', F.prototype === p && F.prototype === F['proto' + 'type']);\n"
    "  check('read: default shape', isDefaultProto(F));\n"
    "  check('read: inherits Object.prototype', Object.getPrototypeOf(p) === Object.prototype);\n"
    "});\n"
    "test('expressions', function () {\n"
    "  var e = function () {};\n"
    "  var n = function me() { return me; };\n"
    "  check('anonymous expression', isDefaultProto(e));\n"
    "  check('named expression (own binding still works)', n() === n && isDefaultProto(n));\n"
    "  var arrow = (function (_this) { return function (x) { return _this; }; })(this);\n"
    "  check('tsc-lowered arrow', isDefaultProto(arrow));\n"
    "  var s = (function () { 'use strict'; return function S() {}; })();\n"
    "  check('strict function', isDefaultProto(s) && throwsType(function () { return s.caller; }));\n"
    "  var fc = new Function('a', 'return a + 1');\n"
    "  check('Function constructor', fc(1) === 2 && isDefaultProto(fc));\n"
    "});\n"
    "test('new first', function () {\n"
    "  function G(x) { this.x = x; }\n"
    "  var g = new G(3);\n"
    "  check('new: instance proto is G.prototype', Object.getPrototypeOf(g) === G.prototype);\n"
    "  check('new: value', g.x === 3 && g.constructor === G && g instanceof G);\n"
    "  check('new: default shape', isDefaultProto(G));\n"
    "  check('new: second instance shares it', Object.getPrototypeOf(new G(4)) === G.prototype);\n"
    "});\n"
    "test('instanceof first', function () {\n"
    "  function H() {}\n"
    "  check('instanceof: plain object', ({}) instanceof H === false);\n"
    "  check('instanceof: primitive', (1 instanceof H) === false);\n"
    "  var o = Object.create(H.prototype);\n"
    "  check('instanceof: Object.create', o instanceof H && isDefaultProto(H));\n"
    "  function H2() {}\n"
    "  var h2 = new H2();\n"
    "  function H3() {}\n"
    "  check('instanceof: other constructor', !(h2 instanceof H3) && h2 instanceof H2 && isDefaultProto(H3));\n"
    "});\n"
    "test('hasOwnProperty / in / propertyIsEnumerable first', function () {\n"
    "  function K() {}\n"
    "  check('hasOwnProperty', K.hasOwnProperty('prototype') === true && isDefaultProto(K));\n"
    "  function K2() {}\n"
    "  check('in', ('prototype' in K2) === true && isDefaultProto(K2));\n"
    "  function K3() {}\n"
    "  check('propertyIsEnumerable', K3.propertyIsEnumerable('prototype') === false && K3.hasOwnProperty('prototype'));\n"
    "});\n"
    "test('getOwnPropertyDescriptor / getOwnPropertyNames first', function () {\n"
    "  function D() {}\n"
    "  var d = Object.getOwnPropertyDescriptor(D, 'prototype');\n"
    "  check('descriptor', d.writable === true && d.enumerable === false && d.configurable === false && d.value.constructor === D && d.value === D.prototype);\n"
    "  function N() {}\n"
    "  var names = Object.getOwnPropertyNames(N);\n"
    "  check('getOwnPropertyNames', names.indexOf('prototype') >= 0 && names.indexOf('length') >= 0);\n"
    "  check('getOwnPropertyNames then value', isDefaultProto(N));\n"
    "  function N2() {}\n"
    "  check('getOwnPropertyNames of an object inheriting from a function', Object.getOwnPropertyNames(Object.create(N2)).length === 0);\n"
    "});\n"
    "test('enumeration', function () {\n"
    "  function E() {}\n"
    "  var seen = [];\n"
    "  for (var k in E) seen.push(k);\n"
    "  check('for-in: nothing', seen.length === 0 && Object.keys(E).length === 0);\n"
    "  E.x = 1;\n"
    "  seen = [];\n"
    "  for (k in E) seen.push(k);\n"
    "  check('for-in / keys: only own enumerable', seen.join() === 'x' && Object.keys(E).join() === 'x');\n"
    "  check('after enumeration: default', isDefaultProto(E) && Object.keys(E).join() === 'x');\n"
    "  var seenP = [];\n"
    "  for (k in E.prototype) seenP.push(k);\n"
    "  check('for-in over prototype: constructor not enumerable', seenP.length === 0);\n"
    "  check('JSON', JSON.stringify({ f: E, g: [E] }) === '{\"g\":[null]}' && JSON.stringify(E.prototype) === '{}');\n"
    "});\n"
    "test('delete', function () {\n"
    "  function X() {}\n"
    "  check('delete first: false', (delete X.prototype) === false);\n"
    "  check('delete first: still there', isDefaultProto(X));\n"
    "  function Y() {}\n"
    "  check('strict delete throws', throwsType(function () { 'use strict'; delete Y.prototype; }));\n"
    "  check('strict delete: still there', isDefaultProto(Y));\n"
    "  function Z() {}\n"
    "  var p = Z.prototype;\n"
    "  check('delete after read', (delete Z.prototype) === false && Z.prototype === p);\n"
    "  check('delete constructor', (delete p.constructor) === true && p.constructor === Object && !p.hasOwnProperty('constructor'));\n"
    "});\n"
    "test('assignment before first read', function () {\n"
    "  function A() {}\n"
    "  var custom = { m: function () { return 7; } };\n"
    "  A.prototype = custom;\n"
    "  check('assign: value', A.prototype === custom && A.prototype.constructor === Object);\n"
    "  var d = Object.getOwnPropertyDescriptor(A, 'prototype');\n"
    "  check('assign: descriptor', d.value === custom && d.writable === true && d.enumerable === false && d.configurable === false);\n"
    "  var a = new A();\n"
    "  check('assign: new', Object.getPrototypeOf(a) === custom && a.m() === 7 && a instanceof A);\n"
    "  check('assign: names', Object.getOwnPropertyNames(A).filter(function (n) { return n === 'prototype'; }).length === 1);\n"
    "  function B() {}\n"
    "  B.prototype = 5;\n"
    "  var b = new B();\n"
    "  check('assign primitive: new uses Object.prototype', B.prototype === 5 && Object.getPrototypeOf(b) === Object.prototype);\n"
    "  check('assign primitive: instanceof throws', throwsType(function () { return b instanceof B; }));\n"
    "  function C() {}\n"
    "  (function () { 'use strict'; C.prototype = null; })();\n"
    "  check('strict assign null', C.prototype === null && C.hasOwnProperty('prototype'));\n"
    "});\n"
    "test('method assignment first', function () {\n"
    "  function M() { this.v = 2; }\n"
    "  M.prototype.get = function () { return this.v; };\n"
    "  check('F.prototype.m = ...: constructor kept', M.prototype.constructor === M && M.prototype.hasOwnProperty('get'));\n"
    "  check('F.prototype.m = ...: new', new M().get() === 2 && new M() instanceof M);\n"
    "  var d = Object.getOwnPropertyDescriptor(M, 'prototype');\n"
    "  check('F.prototype.m = ...: descriptor', d.writable === true && d.enumerable === false && d.configurable === false);\n"
    "});\n"
    "test('defineProperty first', function () {\n"
    "  function P() {}\n"
    "  var v = {};\n"
    "  Object.defineProperty(P, 'prototype', { value: v });\n"
    "  var d = Object.getOwnPropertyDescriptor(P, 'prototype');\n"
    "  check('defineProperty value', d.value === v && d.writable === true && d.enumerable === false && d.configurable === false);\n"
    "  function Q() {}\n"
    "  check('defineProperty enumerable: TypeError (non-configurable)', throwsType(function () { Object.defineProperty(Q, 'prototype', { enumerable: true }); }));\n"
    "  check('defineProperty configurable: TypeError', throwsType(function () { Object.defineProperty(Q, 'prototype', { configurable: true }); }));\n"
    "  check('defineProperty accessor: TypeError', throwsType(function () { Object.defineProperty(Q, 'prototype', { get: function () {} }); }));\n"
    "  check('after failed defineProperty: default', isDefaultProto(Q));\n"
    "  function R() {}\n"
    "  Object.defineProperty(R, 'prototype', { writable: false });\n"
    "  var r = R.prototype;\n"
    "  R.prototype = {};\n"
    "  check('defineProperty writable:false', R.prototype === r && r.constructor === R && Object.getOwnPropertyDescriptor(R, 'prototype').writable === false);\n"
    "  check('write to read-only prototype throws in strict code', throwsType(function () { 'use strict'; R.prototype = {}; }));\n"
    "  function S() {}\n"
    "  Object.defineProperties(S, { prototype: { value: 1 }, x: { value: 2, enumerable: true } });\n"
    "  check('defineProperties', S.prototype === 1 && S.x === 2);\n"
    "});\n"
    "test('preventExtensions / seal / freeze first', function () {\n"
    "  function F1() {}\n"
    "  Object.freeze(F1);\n"
    "  var d = Object.getOwnPropertyDescriptor(F1, 'prototype');\n"
    "  check('freeze: prototype frozen', d !== undefined && d.writable === false && d.configurable === false && d.value.constructor === F1);\n"
    "  check('freeze: isFrozen', Object.isFrozen(F1) && Object.isSealed(F1) && !Object.isExtensible(F1));\n"
    "  check('freeze: new', Object.getPrototypeOf(new F1()) === F1.prototype);\n"
    "  function F2() {}\n"
    "  Object.seal(F2);\n"
    "  d = Object.getOwnPropertyDescriptor(F2, 'prototype');\n"
    "  check('seal: prototype sealed', d.writable === true && d.configurable === false && Object.isSealed(F2) && !Object.isFrozen(F2));\n"
    "  check('seal: default', isDefaultProto(F2));\n"
    "  function F3() {}\n"
    "  Object.preventExtensions(F3);\n"
    "  check('preventExtensions: own prototype', F3.hasOwnProperty('prototype') && isDefaultProto(F3) && !Object.isExtensible(F3));\n"
    "  F3.prototype = { z: 1 };\n"
    "  check('preventExtensions: still writable', F3.prototype.z === 1);\n"
    "  function F4() {}\n"
    "  check('fresh function not frozen or sealed', !Object.isFrozen(F4) && !Object.isSealed(F4) && Object.isExtensible(F4));\n"
    /* Every other own property made non-configurable (and they are read-only): then only the
     * writable .prototype keeps a non-extensible function from counting as frozen. */
    "  function F5() {}\n"
    "  ['length', 'name', 'caller', 'arguments'].forEach(function (k) {\n"
    "    var kd = Object.getOwnPropertyDescriptor(F5, k);\n"
    "    if (kd && kd.configurable) Object.defineProperty(F5, k, { configurable: false, writable: false });\n"
    "  });\n"
    "  Object.preventExtensions(F5);\n"
    "  check('preventExtensions: isSealed but not isFrozen (writable prototype)', Object.isSealed(F5) && !Object.isFrozen(F5));\n"
    "  check('preventExtensions: prototype still writable', Object.getOwnPropertyDescriptor(F5, 'prototype').writable === true && isDefaultProto(F5));\n"
    "});\n"
    "test('inherited through a function', function () {\n"
    "  function F() {}\n"
    "  var o = Object.create(F);\n"
    "  check('read through the chain', o.prototype === F.prototype && !o.hasOwnProperty('prototype') && F.prototype.constructor === F);\n"
    "  function G() {}\n"
    "  var o2 = Object.create(G);\n"
    "  o2.prototype = 9;\n"
    "  check('write through the chain shadows', o2.prototype === 9 && o2.hasOwnProperty('prototype') && isDefaultProto(G));\n"
    "  function W() {}\n"
    "  var viaWith;\n"
    "  with (W) { viaWith = prototype; }\n"
    "  check('with statement', viaWith === W.prototype && viaWith.constructor === W);\n"
    "});\n"
    "test('not constructable: no prototype', function () {\n"
    "  var o = { get x() { return 1; }, set x(v) {} };\n"
    "  var g = Object.getOwnPropertyDescriptor(o, 'x').get;\n"
    "  check('getter has no prototype', g.prototype === undefined && !g.hasOwnProperty('prototype') && !('prototype' in g));\n"
    "  check('getter names', Object.getOwnPropertyNames(g).indexOf('prototype') < 0);\n"
    "  check('getter not constructable', throwsType(function () { return new g(); }));\n"
    "});\n"
    "test('bound functions', function () {\n"
    "  function T(a, b) { this.a = a; this.b = b; }\n"
    "  var B = T.bind(null, 1);\n"
    "  check('bound: no own prototype', B.prototype === undefined && !B.hasOwnProperty('prototype') && Object.getOwnPropertyNames(B).indexOf('prototype') < 0);\n"
    "  var b = new B(2);\n"
    "  check('bound: new uses target prototype', Object.getPrototypeOf(b) === T.prototype && b.a === 1 && b.b === 2);\n"
    "  check('bound: instanceof', b instanceof T && b instanceof B && isDefaultProto(T));\n"
    "  function U() {}\n"
    "  var BU = U.bind(null);\n"
    "  check('bound: instanceof first', (new U()) instanceof BU && isDefaultProto(U));\n"
    "});\n"
    "test('built-ins', function () {\n"
    "  check('Function.prototype has no prototype', Function.prototype.prototype === undefined && !Function.prototype.hasOwnProperty('prototype'));\n"
    "  check('Function.prototype names', Object.getOwnPropertyNames(Function.prototype).indexOf('prototype') < 0);\n"
    "  check('Object.prototype', typeof Object.prototype === 'object' && Object.prototype.constructor === Object);\n"
    "  check('Array/Error prototypes', [] instanceof Array && new TypeError('x') instanceof Error && Array.prototype.constructor === Array);\n"
    "  var d = Object.getOwnPropertyDescriptor(Function, 'prototype');\n"
    "  check('Function.prototype descriptor', d.value === Function.prototype && d.writable === false && d.configurable === false);\n"
    "  check('Function instances inherit from Function.prototype', Object.getPrototypeOf(function () {}) === Function.prototype);\n"
    "});\n"
    "test('tsc classes', function () { checkClasses('source', makeClasses()); });\n"
    "test('closures are independent', function () {\n"
    "  var fs = [];\n"
    "  for (var i = 0; i < 50; i++) fs.push(function () {});\n"
    "  var ok = true;\n"
    "  for (i = 0; i < 50; i++) {\n"
    "    if (i > 0 && fs[i].prototype === fs[i - 1].prototype) ok = false;\n"
    "    if (fs[i].prototype.constructor !== fs[i]) ok = false;\n"
    "  }\n"
    "  check('each closure its own default prototype', ok);\n"
    "});\n"
    "test('identity across GC', function () {\n"
    "  function I() {}\n"
    "  var p = I.prototype;\n"
    "  p.tag = 'kept';\n"
    "  p = null;\n"
    "  Duktape.gc(); Duktape.gc();\n"
    "  check('after gc', I.prototype.tag === 'kept' && I.prototype.constructor === I);\n"
    "});\n"
    "test('finalizers while prototypes are created', function () {\n"
    "  var bad = 0, ran = 0, keep = [];\n"
    "  function fin() {\n"
    "    ran++;\n"
    "    var f = function () {};\n"
    "    f.prototype.k = 1;\n"
    "    if (f.prototype.constructor !== f) bad++;\n"
    "    for (var j = 0; j < keep.length; j += 7) { var q = keep[j].prototype; if (q.constructor !== keep[j] && !q.fromFinalizer) bad++; }\n"
    "    if (keep.length) keep[keep.length - 1].prototype = { fromFinalizer: true };\n"
    "  }\n"
    "  for (var i = 0; i < (__torture ? 300 : 3000); i++) {\n"
    "    var o = {}; Duktape.fin(o, fin);\n"
    "    var junk = { a: [i, i + 1], b: 'x' + i };\n"
    "    var g = function () {};\n"
    "    keep.push(g);\n"
    "    if (keep.length > 40) keep.shift();\n"
    "    var p = g.prototype, p2 = g.prototype;\n"
    "    if (p !== p2 && !p2.fromFinalizer) bad++;\n"
    "    if (p.constructor !== g && !p.fromFinalizer) bad++;\n"
    "    var inst = new g(), cur = g.prototype;\n"
    "    if (Object.getPrototypeOf(inst) !== cur && !cur.fromFinalizer) bad++;\n"
    "    if ((i & 255) === 0) Duktape.gc();\n"
    "  }\n"
    "  Duktape.gc(); Duktape.gc();\n"
    "  check('finalizers ran', ran > 0);\n"
    "  check('no inconsistency with finalizers', bad === 0);\n"
    "});\n"
    /* The one check that only holds with lazy creation: a closure nobody constructs costs
     * no .prototype object. */
    "test('closure cost', function () {\n"
    "  var n = 200, fs = new Array(n), i;\n"
    "  Duktape.gc();\n"
    "  var h0 = __heap();\n"
    "  for (i = 0; i < n; i++) fs[i] = function () {};\n"
    "  var h1 = __heap();\n"
    "  for (i = 0; i < n; i++) fs[i].prototype;\n"
    "  var h2 = __heap();\n"
    "  __print('closure: ' + Math.round((h1 - h0) / n) + ' bytes, default prototype created on use: ' + Math.round((h2 - h1) / n) + ' bytes');\n"
    "  if (__expectLazy) check('prototype allocated only on use', (h2 - h1) / n >= 24);\n"
    "  else check('eager: reading allocates nothing', h2 === h1);\n"
    "});\n"
    "__result(__checks, __fails);\n";

/* A function expression compiled, dumped and loaded back, as the build does with the app. */
static const char *const DUMPED =
    "function loadedTop() {\n"
    "  var k = makeLocalClasses();\n"
    "  function Local(x) { this.x = x; }\n"
    "  Local.prototype.twice = function () { return 2 * this.x; };\n"
    "  function Untouched() {}\n"
    "  var made = function () { return function () {}; };\n"
    /* a named function expression calling itself, with an outer variable of the same name */
    "  var f = {};\n"
    "  var fact = function f(n) { return n < 2 ? 1 : n * f(n - 1); };\n"
    "  return { k: k, Local: Local, Untouched: Untouched, made: made, fact: fact, f: f };\n"
    "  function makeLocalClasses() {\n"
    "    var Base = (function () { function Base(v) { this.v = v; } Base.prototype.get = function () { return this.v; }; return Base; }());\n"
    "    var Sub = (function (_super) { __extends(Sub, _super); function Sub(v) { return _super.call(this, v + 1) || this; } return Sub; }(Base));\n"
    "    return { Base: Base, Sub: Sub };\n"
    "  }\n"
    "}\n";

static const char *const LOADED_CHECKS =
    "test('loaded: top-level function', function () {\n"
    /* Only with the lazy patches: the loader patch alone (no .prototype in duk__load_func) left it out. */
    "  if (__expectLazy) check('loaded function itself has the default prototype', isDefaultProto(__loaded));\n"
    "  var r = __loaded();\n"
    "  check('loaded: Local', new r.Local(4).twice() === 8 && r.Local.prototype.constructor === r.Local && new r.Local(1) instanceof r.Local);\n"
    "  check('loaded: untouched', isDefaultProto(r.Untouched) && Object.getPrototypeOf(new r.Untouched()) === r.Untouched.prototype);\n"
    "  var s = new r.k.Sub(1);\n"
    "  check('loaded: subclass', s.get() === 2 && s instanceof r.k.Sub && s instanceof r.k.Base && r.k.Sub.prototype.constructor === r.k.Sub);\n"
    "  var a = r.made(), b = r.made();\n"
    "  check('loaded: closures of a loaded template', a !== b && isDefaultProto(a) && isDefaultProto(b) && a.prototype !== b.prototype);\n"
    "  var fact; try { fact = r.fact(5); } catch (e) { fact = String(e); }\n"
    "  check('loaded: a named function expression calls itself by its name', fact === 120 && typeof r.f === 'object');\n"
    "  var names = Object.getOwnPropertyNames(r.made());\n"
    "  check('loaded: names', names.indexOf('prototype') >= 0);\n"
    "});\n"
    "test('loaded: tsc classes from the round trip', function () { checkClasses('loaded', __loaded2()); });\n"
    "__result(__checks, __fails);\n";

static int eval_or_report(duk_context *ctx, const char *what, const char *src)
{
    if (duk_peval_string(ctx, src) != 0) {
        printf("FAIL %s: %s\n", what, duk_safe_to_string(ctx, -1));
        duk_pop(ctx);
        checks++;
        failures++;
        return 0;
    }
    duk_pop(ctx);
    return 1;
}

/* Compiles src as a function, dumps it to bytecode and loads it back: [ ... ] -> [ ... fn ] */
static int dump_and_load(duk_context *ctx, const char *src)
{
    duk_push_string(ctx, src);
    duk_push_string(ctx, "dumped");
    if (duk_pcompile(ctx, DUK_COMPILE_FUNCTION) != 0) {
        printf("FAIL compile for dump: %s\n", duk_safe_to_string(ctx, -1));
        duk_pop(ctx);
        return 0;
    }
    duk_dump_function(ctx);
    c_check(duk_is_buffer_data(ctx, -1), "dump gives a buffer");
    duk_load_function(ctx);
    c_check(duk_is_function(ctx, -1), "load gives a function");
    return 1;
}

int main(int argc, char **argv)
{
    duk_context *ctx;
    int eager = 0, want_torture = 0, i;
    size_t created;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--eager") == 0) eager = 1;
        else if (strcmp(argv[i], "--torture") == 0) want_torture = 1;
        else {
            printf("usage: %s [--eager] [--torture]\n", argv[0]);
            return 2;
        }
    }

    js_pool_init(&pool, js_heap_pool, POOL_BYTES);
    ctx = duk_create_heap(pool_alloc, pool_realloc, pool_free, &pool, NULL);
    if (!ctx) {
        printf("FAIL heap creation\n");
        return 1;
    }
    created = pool.in_use;
    duk_push_c_function(ctx, js_print, 1);
    duk_put_global_string(ctx, "__print");
    duk_push_c_function(ctx, js_heap, 0);
    duk_put_global_string(ctx, "__heap");
    duk_push_c_function(ctx, js_result, 2);
    duk_put_global_string(ctx, "__result");
    duk_push_boolean(ctx, !eager);
    duk_put_global_string(ctx, "__expectLazy");
    duk_push_boolean(ctx, want_torture);
    duk_put_global_string(ctx, "__torture");
    torture = want_torture;

    if (eval_or_report(ctx, "prelude", PRELUDE)) {
        eval_or_report(ctx, "suite", SUITE);

        /* Bytecode round trip: a function using the prelude's helpers, and makeClasses. */
        if (dump_and_load(ctx, DUMPED)) {
            duk_put_global_string(ctx, "__loaded");
            duk_get_global_string(ctx, "makeClasses");
            duk_dump_function(ctx); /* a closure dumps as its template: same code, no properties */
            duk_load_function(ctx);
            duk_put_global_string(ctx, "__loaded2");
            eval_or_report(ctx, "loaded checks", "__checks = 0; __fails = 0;");
            eval_or_report(ctx, "loaded", LOADED_CHECKS);
        }
    }

    /* From C: the API paths. */
    eval_or_report(ctx, "api setup", "function ApiF() {} function ApiG() {} function ApiH() {}");
    duk_get_global_string(ctx, "ApiF");
    c_check(duk_has_prop_string(ctx, -1, "prototype"), "duk_has_prop_string");
    duk_get_prop_string(ctx, -1, "prototype");
    duk_get_prop_string(ctx, -1, "constructor");
    c_check(duk_strict_equals(ctx, -1, -3), "duk_get_prop_string prototype.constructor");
    duk_pop_3(ctx);
    duk_get_global_string(ctx, "ApiG");
    duk_enum(ctx, -1, DUK_ENUM_OWN_PROPERTIES_ONLY | DUK_ENUM_INCLUDE_NONENUMERABLE);
    {
        int seen = 0;
        while (duk_next(ctx, -1, 1)) {
            if (strcmp(duk_get_string(ctx, -2), "prototype") == 0) {
                duk_get_prop_string(ctx, -1, "constructor");
                seen = duk_strict_equals(ctx, -1, -5);
                duk_pop(ctx);
            }
            duk_pop_2(ctx);
        }
        c_check(seen, "duk_enum with non-enumerables shows prototype with its value");
    }
    duk_pop_2(ctx);
    duk_get_global_string(ctx, "ApiH");
    duk_push_object(ctx);
    duk_put_prop_string(ctx, -2, "prototype");
    duk_new(ctx, 0);
    duk_get_global_string(ctx, "ApiH");
    c_check(duk_instanceof(ctx, -2, -1), "duk_put_prop_string then duk_new/duk_instanceof");
    duk_get_prop_string(ctx, -1, "prototype");
    duk_get_prototype(ctx, -3);
    c_check(duk_strict_equals(ctx, -1, -2), "duk_get_prototype of instance");
    duk_pop_n(ctx, 4);

    duk_gc(ctx, 0);
    torture = 0;
    duk_destroy_heap(ctx);
    printf("pool %u bytes (%s), heap after creation %lu, peak %lu, %lu failed allocations\n", POOL_BYTES,
#if defined(ENGINE_NO_HEAPPTR16)
           "32-bit pointers",
#else
           "16-bit heap pointers",
#endif
           (unsigned long) created, (unsigned long) pool.peak, torture_fails);
    if (failures) {
        printf("%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("ok %d checks\n", checks);
    return 0;
}
