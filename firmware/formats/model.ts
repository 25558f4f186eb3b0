// The content model every codec shares: a flat list of (path, value) entries.

import { fail } from "../lib/bytes";

export const enum Model {
  T_NONE = 0,
  T_STRING = 1,
  T_INTEGER = 2,
  T_UNSIGNED = 3,
  T_FLOAT = 4,
  T_BOOLEAN = 5,
  T_OPAQUE = 6,
  T_TIME = 7,
  T_OBJLNK = 8,
  T_CORELNK = 9,
  /** Instance id used when a TLV Create payload carries resources without an instance. */
  NO_ID = 65535,
}
// The plain names the tests import (unused ones are left out of the bundle).
export const T_NONE = Model.T_NONE;
export const T_STRING = Model.T_STRING;
export const T_INTEGER = Model.T_INTEGER;
export const T_UNSIGNED = Model.T_UNSIGNED;
export const T_FLOAT = Model.T_FLOAT;
export const T_BOOLEAN = Model.T_BOOLEAN;
export const T_OPAQUE = Model.T_OPAQUE;
export const T_TIME = Model.T_TIME;
export const T_OBJLNK = Model.T_OBJLNK;
export const T_CORELNK = Model.T_CORELNK;
export const NO_ID = Model.NO_ID;

export type Value = number | boolean | string | Uint8Array | ObjLink;

export interface ObjLink {
  objectId: number;
  instanceId: number;
}

/**
 * path is [o,i,r] or [o,i,r,ri]. [o,i] with value null means "this instance exists" (an
 * instance with no resources in the payload); decoders also use null for [o,i,r] (a multiple
 * resource with no instances) and for SenML records that carry a name but no value.
 */
export interface Entry {
  path: number[];
  value: Value | null;
}

/** T_* of a resource; T_NONE when unknown (decoders then keep the raw value). */
export type TypeLookup = (objectId: number, resourceId: number) => number;

export function pathToString(path: number[]): string {
  return "/" + path.join("/");
}

/** "/3/0/1" -> [3,0,1]; "/" -> []. Throws on anything else that is not an LwM2M path. */
export function parsePath(s: string): number[] {
  if (s.charAt(0) !== "/") fail("path: must start with /");
  const path: number[] = [];
  if (s.length === 1) return path;
  const parts = s.substring(1).split("/");
  if (parts.length > 4) fail("path: too many levels");
  for (const p of parts) {
    if (!p || p.length > 5) fail("path: bad segment");
    if (digitsAt(p, 0, "") < p.length) fail("path: non-numeric segment");
    if (+p > 65535) fail("path: id above 65535");
    path.push(+p);
  }
  return path;
}

/** Past `[one of signs] digits` at s[i] (charAt past the end is "", which indexOf finds), or -1, also for i = -1. */
export function digitsAt(s: string, i: number, signs: string): number {
  if (i < 0) return i;
  if (signs.indexOf(s.charAt(i)) >= 0) i++;
  let j = i;
  while ((s.charCodeAt(j) ^ 48) < 10) j++; // '0'..'9'; NaN past the end
  return j > i ? j : -1;
}


export function pathStartsWith(path: number[], prefix: number[]): boolean {
  // past the end of path, undefined matches no id
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false;
  return true;
}
