// Value typing shared by the codecs: which T_* a value is encoded as, and the "o:i" object
// link text form.

import { MAX_SAFE, fail } from "../lib/bytes";
import {
  Entry, ObjLink, TypeLookup, Value, pathStartsWith, pathToString,
  T_NONE, T_STRING, T_INTEGER, T_UNSIGNED, T_FLOAT, T_BOOLEAN, T_OPAQUE, T_TIME, T_OBJLNK, T_CORELNK,
} from "./model";

export function isInt(v: unknown): v is number {
  return typeof v === "number" && Math.floor(v) === v && v <= MAX_SAFE && v >= -MAX_SAFE;
}

function isU16(v: unknown): boolean {
  return isInt(v) && v >= 0 && v <= 65535;
}

export function isObjLink(v: unknown): v is ObjLink {
  return typeof v === "object" && v !== null && isU16((v as ObjLink).objectId) && isU16((v as ObjLink).instanceId);
}

function inferType(v: Value): number {
  switch (typeof v) {
    case "number":
      return isInt(v) ? T_INTEGER : T_FLOAT;
    case "boolean":
      return T_BOOLEAN;
    case "string":
      return T_STRING;
  }
  return v instanceof Uint8Array ? T_OPAQUE : T_OBJLNK;
}

export function fitsType(t: number, v: Value): boolean {
  switch (t) {
    case T_STRING:
    case T_CORELNK:
      return typeof v === "string";
    case T_INTEGER:
    case T_TIME:
      return isInt(v);
    case T_UNSIGNED:
      return isInt(v) && v >= 0;
    case T_FLOAT:
      return typeof v === "number";
    case T_BOOLEAN:
      return typeof v === "boolean";
    case T_OPAQUE:
      return v instanceof Uint8Array;
    case T_OBJLNK:
      return isObjLink(v);
  }
  return false;
}

/** The declared type of the resource at path, or one inferred from v; throws when v does not fit. */
export function typeFor(types: TypeLookup, path: number[], v: Value): number {
  let t = types(path[0], path[2]);
  if (t === T_NONE) t = inferType(v);
  if (!fitsType(t, v)) fail("value does not fit the type of " + pathToString(path));
  return t;
}

/** Strict decimal integer: optional '-', then digits; exact (|v| < 2^53) or throws. */
export function parseDecimal(s: string): number {
  const neg = s.charAt(0) === "-";
  let i = neg ? 1 : 0;
  if (i === s.length || s.length - i > 16) fail("bad integer");
  let v = 0;
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) fail("bad integer");
    v = v * 10 + d;
  }
  if (v > MAX_SAFE) fail("bad integer");
  return neg ? -v : v;
}

export function objLinkToString(l: ObjLink): string {
  return l.objectId + ":" + l.instanceId;
}

export function parseObjLink(s: string): ObjLink {
  const c = s.indexOf(":");
  const l = { objectId: parseDecimal(s.substring(0, c)), instanceId: parseDecimal(s.substring(c + 1)) };
  if (!isObjLink(l)) fail("bad object link");
  return l;
}

/** The one value of a text or opaque payload; base must be a resource or resource instance. */
export function singleEntry(base: number[], entries: Entry[], fmt: string): Entry {
  checkResourceBase(base, fmt);
  const e = entries[0];
  if (entries.length !== 1 || e.value === null || e.path.length !== base.length || !pathStartsWith(e.path, base))
    fail(fmt + ": needs exactly one value at " + pathToString(base));
  return e;
}

export function checkResourceBase(base: number[], fmt: string): void {
  if (base.length < 3) fail(fmt + ": needs a resource path");
}
