// The standard library the meter's engine really has: Duktape 2.7 in the project's
// low-memory configuration (ES5.1 built-ins, Uint8Array/DataView with set/subarray only,
// no RegExp, no Map/Set/Promise/Symbol). The firmware is compiled with noLib against this
// file, so reaching for anything else is a compile error instead of a field failure.

interface Object {
  constructor: Function;
  toString(): string;
  hasOwnProperty(v: string | number): boolean;
}
interface ObjectConstructor {
  (value?: any): any;
  keys(o: object): string[];
  create(o: object | null): any;
  freeze<T>(o: T): Readonly<T>;
  defineProperty<T>(o: T, p: string, attributes: any): T;
  getPrototypeOf(o: any): any;
  assign<T extends {}, U>(target: T, source: U): T & U;
}
declare var Object: ObjectConstructor;

interface Function {
  apply(this: Function, thisArg: any, argArray?: any): any;
  call(this: Function, thisArg: any, ...argArray: any[]): any;
  bind(this: Function, thisArg: any, ...argArray: any[]): any;
  prototype: any;
  readonly length: number;
}
interface CallableFunction extends Function {}
interface NewableFunction extends Function {}
interface FunctionConstructor { readonly prototype: Function }
declare var Function: FunctionConstructor;

interface IArguments { [index: number]: any; length: number; callee: Function }

interface String {
  toString(): string;
  charAt(pos: number): string;
  charCodeAt(index: number): number;
  indexOf(searchString: string, position?: number): number;
  lastIndexOf(searchString: string, position?: number): number;
  slice(start?: number, end?: number): string;
  substring(start: number, end?: number): string;
  /** Only string separators: the engine has no RegExp. */
  split(separator: string, limit?: number): string[];
  toLowerCase(): string;
  toUpperCase(): string;
  trim(): string;
  readonly length: number;
  readonly [index: number]: string;
}
interface StringConstructor {
  (value?: any): string;
  fromCharCode(...codes: number[]): string;
}
declare var String: StringConstructor;

interface Boolean { valueOf(): boolean }
interface BooleanConstructor { (value?: any): boolean }
declare var Boolean: BooleanConstructor;

interface Number {
  toString(radix?: number): string;
  toFixed(fractionDigits?: number): string;
  valueOf(): number;
}
interface NumberConstructor {
  (value?: any): number;
  readonly MAX_VALUE: number;
  readonly MIN_VALUE: number;
  readonly NaN: number;
  readonly POSITIVE_INFINITY: number;
  readonly NEGATIVE_INFINITY: number;
}
declare var Number: NumberConstructor;

interface Math {
  abs(x: number): number;
  ceil(x: number): number;
  floor(x: number): number;
  round(x: number): number;
  max(...values: number[]): number;
  min(...values: number[]): number;
  pow(x: number, y: number): number;
  random(): number;
  sqrt(x: number): number;
  log(x: number): number;
  imul(x: number, y: number): number;
}
declare var Math: Math;

interface Date { getTime(): number }
interface DateConstructor { new (value?: number): Date; now(): number }
declare var Date: DateConstructor;

interface JSON { parse(text: string): any; stringify(value: any): string }
declare var JSON: JSON;

interface Error { name: string; message: string; stack?: string }
interface ErrorConstructor { new (message?: string): Error; (message?: string): Error; readonly prototype: Error }
declare var Error: ErrorConstructor;
declare var TypeError: ErrorConstructor;
declare var RangeError: ErrorConstructor;

// Required by the compiler for its own typing of literals; the engine has no RegExp and a
// regex literal is rejected by build/firmware.ts.
interface RegExp {}

interface ReadonlyArray<T> {
  readonly length: number;
  readonly [n: number]: T;
  indexOf(searchElement: T, fromIndex?: number): number;
  slice(start?: number, end?: number): T[];
  join(separator?: string): string;
  forEach(callbackfn: (value: T, index: number, array: readonly T[]) => void): void;
}
interface Array<T> {
  length: number;
  [n: number]: T;
  push(...items: T[]): number;
  pop(): T | undefined;
  shift(): T | undefined;
  unshift(...items: T[]): number;
  concat(...items: (T | T[])[]): T[];
  join(separator?: string): string;
  reverse(): T[];
  slice(start?: number, end?: number): T[];
  splice(start: number, deleteCount?: number, ...items: T[]): T[];
  sort(compareFn?: (a: T, b: T) => number): this;
  indexOf(searchElement: T, fromIndex?: number): number;
  lastIndexOf(searchElement: T, fromIndex?: number): number;
  every(predicate: (value: T, index: number, array: T[]) => unknown): boolean;
  some(predicate: (value: T, index: number, array: T[]) => unknown): boolean;
  forEach(callbackfn: (value: T, index: number, array: T[]) => void): void;
  map<U>(callbackfn: (value: T, index: number, array: T[]) => U): U[];
  filter(predicate: (value: T, index: number, array: T[]) => unknown): T[];
  reduce<U>(callbackfn: (previous: U, current: T, index: number, array: T[]) => U, initialValue: U): U;
}
interface ArrayConstructor {
  new <T>(arrayLength?: number): T[];
  <T>(arrayLength?: number): T[];
  isArray(arg: any): arg is any[];
  readonly prototype: any[];
}
declare var Array: ArrayConstructor;

interface ArrayLike<T> { readonly length: number; readonly [n: number]: T }
interface ArrayBuffer { readonly byteLength: number; slice(begin: number, end?: number): ArrayBuffer }
interface ArrayBufferConstructor { new (byteLength: number): ArrayBuffer }
declare var ArrayBuffer: ArrayBufferConstructor;

/** Duktape implements set and subarray; the other ES2015 typed-array methods are absent. */
interface Uint8Array {
  readonly buffer: ArrayBuffer;
  readonly byteLength: number;
  readonly byteOffset: number;
  readonly length: number;
  [index: number]: number;
  set(array: ArrayLike<number>, offset?: number): void;
  subarray(begin?: number, end?: number): Uint8Array;
}
interface Uint8ArrayConstructor {
  new (length: number): Uint8Array;
  new (array: ArrayLike<number> | ArrayBuffer): Uint8Array;
  new (buffer: ArrayBuffer, byteOffset: number, length?: number): Uint8Array;
}
declare var Uint8Array: Uint8ArrayConstructor;

interface DataView {
  readonly byteLength: number;
  getUint8(o: number): number;
  getInt8(o: number): number;
  getUint16(o: number, littleEndian?: boolean): number;
  getInt16(o: number, littleEndian?: boolean): number;
  getUint32(o: number, littleEndian?: boolean): number;
  getInt32(o: number, littleEndian?: boolean): number;
  getFloat32(o: number, littleEndian?: boolean): number;
  getFloat64(o: number, littleEndian?: boolean): number;
  setUint8(o: number, v: number): void;
  setInt8(o: number, v: number): void;
  setUint16(o: number, v: number, littleEndian?: boolean): void;
  setInt16(o: number, v: number, littleEndian?: boolean): void;
  setUint32(o: number, v: number, littleEndian?: boolean): void;
  setInt32(o: number, v: number, littleEndian?: boolean): void;
  setFloat32(o: number, v: number, littleEndian?: boolean): void;
  setFloat64(o: number, v: number, littleEndian?: boolean): void;
}
interface DataViewConstructor { new (buffer: ArrayBuffer, byteOffset?: number, byteLength?: number): DataView }
declare var DataView: DataViewConstructor;

declare function parseInt(string: string, radix?: number): number;
declare function parseFloat(string: string): number;
declare function isNaN(number: number): boolean;
declare function isFinite(number: number): boolean;

interface TemplateStringsArray extends ReadonlyArray<string> { readonly raw: readonly string[] }
interface PropertyDescriptor { value?: any; writable?: boolean; enumerable?: boolean; configurable?: boolean }
interface PropertyKey {}

type Partial<T> = { [P in keyof T]?: T[P] };
type Required<T> = { [P in keyof T]-?: T[P] };
type Readonly<T> = { readonly [P in keyof T]: T[P] };
type Record<K extends keyof any, T> = { [P in K]: T };
type Pick<T, K extends keyof T> = { [P in K]: T[P] };
type Exclude<T, U> = T extends U ? never : T;
type Omit<T, K extends keyof any> = Pick<T, Exclude<keyof T, K>>;
type NonNullable<T> = T & {};
