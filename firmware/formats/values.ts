// Value typing shared by the codecs: which T_* a value is encoded as, and the "o:i" object
// link text form.

import { fail, Bytes } from "../lib/bytes";
import { ObjLink, TypeLookup, Value, digitsAt, pathToString, Model } from "./model";

export function isInt(v: unknown): v is number {
  return typeof v === "number" && Math.floor(v) === v && Math.abs(v) <= Bytes.MAX_SAFE;
}

export function isObjLink(v: unknown): v is ObjLink {
  const l = v as ObjLink;
  // x === (x & 0xffff): an integer number 0..65535
  return !!l && typeof l === "object" && l.objectId === (l.objectId & 0xffff) && l.instanceId === (l.instanceId & 0xffff);
}

// Integers (T_INTEGER, T_UNSIGNED, T_TIME, bits of INTS) must be exact, unsigned ones not negative.
export const enum V {
  INTS = (1 << Model.T_INTEGER) | (1 << Model.T_UNSIGNED) | (1 << Model.T_TIME),
}

export function fitsType(t: number, v: Value): boolean {
  return t === Model.T_OPAQUE ? v instanceof Uint8Array
    : t === Model.T_OBJLNK ? isObjLink(v)
    // by T_*, the first letter of the JS type the value must have ("-": checked above, or never)
    : "-snnnb-n-s".charAt(t) === (typeof v).charAt(0) && (!((V.INTS >> t) & 1) || (isInt(v) && (t !== Model.T_UNSIGNED || v >= 0)));
}

/** The declared type of the resource at path, or one inferred from v; throws when v does not fit. */
export function typeFor(types: TypeLookup, path: number[], v: Value): number {
  let t = types(path[0], path[2]);
  const js = typeof v;
  // inferred: numbers, then bytes, then by the JS type's first letter (string, boolean, object)
  if (t === Model.T_NONE) t = js === "number" ? (isInt(v) ? Model.T_INTEGER : Model.T_FLOAT) : v instanceof Uint8Array ? Model.T_OPAQUE : "-s---b--o".indexOf(js.charAt(0));
  if (!fitsType(t, v)) fail("value does not fit the type of " + pathToString(path));
  return t;
}

/** Strict decimal integer: optional '-', then up to 16 digits; exact (|v| < 2^53) or throws. */
export function parseDecimal(s: string): number {
  const v = +s;
  if (digitsAt(s, 0, "-") !== s.length || s.length > (s.charAt(0) === "-" ? 17 : 16) || Math.abs(v) > Bytes.MAX_SAFE) fail("bad integer");
  return v;
}

/** "o:i"; also the text form of an object link. */
export function objLinkToString(l: ObjLink): string {
  return l.objectId + ":" + l.instanceId;
}

export function parseObjLink(s: string): ObjLink {
  const c = s.indexOf(":");
  const l = { objectId: parseDecimal(s.substring(0, c)), instanceId: parseDecimal(s.substring(c + 1)) };
  if (!isObjLink(l)) fail("bad object link");
  return l;
}
