// Value typing shared by the codecs: which T_* a value is encoded as, and the "o:i" object
// link text form.

import { fail, Bytes } from "../lib/bytes";
import { Entry, ObjLink, TypeLookup, Value, pathStartsWith, pathToString, Model } from "./model";

export function isInt(v: unknown): v is number {
  return typeof v === "number" && Math.floor(v) === v && v <= Bytes.MAX_SAFE && v >= -Bytes.MAX_SAFE;
}

export function isObjLink(v: unknown): v is ObjLink {
  const o = v as ObjLink;
  return typeof v === "object" && v !== null && o.objectId >= 0 && o.objectId <= 65535 && o.instanceId >= 0 && o.instanceId <= 65535 && isInt(o.objectId) && isInt(o.instanceId);
}

export function fitsType(t: number, v: Value): boolean {
  switch (t) {
    case Model.T_STRING:
    case Model.T_CORELNK:
      return typeof v === "string";
    case Model.T_INTEGER:
    case Model.T_TIME:
      return isInt(v);
    case Model.T_UNSIGNED:
      return isInt(v) && v >= 0;
    case Model.T_FLOAT:
      return typeof v === "number";
    case Model.T_BOOLEAN:
      return typeof v === "boolean";
    case Model.T_OPAQUE:
      return v instanceof Uint8Array;
    case Model.T_OBJLNK:
      return isObjLink(v);
  }
  return false;
}

/** The declared type of the resource at path, or one inferred from v; throws when v does not fit. */
export function typeFor(types: TypeLookup, path: number[], v: Value): number {
  let t = types(path[0], path[2]);
  const js = typeof v;
  if (t === Model.T_NONE) {
    t = js === "number" ? (isInt(v) ? Model.T_INTEGER : Model.T_FLOAT) : js === "boolean" ? Model.T_BOOLEAN : js === "string" ? Model.T_STRING
      : v instanceof Uint8Array ? Model.T_OPAQUE : Model.T_OBJLNK;
  }
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
  if (v > Bytes.MAX_SAFE) fail("bad integer");
  return neg ? -v : v;
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
