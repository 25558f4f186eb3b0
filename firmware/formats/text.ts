// The single-value formats: plain text (content-format 0), one resource value as UTF-8 text
// (integers in decimal, booleans "0"/"1", object links "3:0"; opaque values have no text form
// in LwM2M 1.1), and opaque (42, application/octet-stream), one opaque value as raw bytes.

import { fail, utf8Decode, utf8Encode } from "../lib/bytes";
import { Entry, ObjLink, TypeLookup, Value, pathStartsWith, pathToString, Model } from "./model";
import { parseDecimal, parseObjLink, typeFor } from "./values";

/** The one value at base (a resource or resource instance) as text, or as bytes when opaque. */
export function encodeSingle(base: number[], entries: Entry[], types: TypeLookup, opaque: boolean): Uint8Array {
  const fmt = opaque ? "opaque" : "text";
  const e = entries[0];
  if (base.length < 3) fail(fmt + ": needs a resource path");
  if (entries.length !== 1 || e.value === null || e.path.length !== base.length || !pathStartsWith(e.path, base))
    fail(fmt + ": needs exactly one value at " + pathToString(base));
  const v = e.value as Value;
  if (opaque) {
    const d = types(base[0], base[2]);
    if (d !== Model.T_NONE && d !== Model.T_OPAQUE) fail("opaque: resource is not opaque");
    if (!(v instanceof Uint8Array)) fail("opaque: value is not bytes");
    return v;
  }
  const t = typeFor(types, e.path, v);
  if (t === Model.T_OPAQUE) fail("text: opaque has no text form");
  return utf8Encode(t === Model.T_BOOLEAN ? (v ? "1" : "0") : t === Model.T_OBJLNK ? (v as ObjLink).objectId + ":" + (v as ObjLink).instanceId : String(v));
}

function skipDigits(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  return i;
}

export function decodeSingle(base: number[], payload: Uint8Array, types: TypeLookup, opaque: boolean): Entry[] {
  if (base.length < 3) fail((opaque ? "opaque" : "text") + ": needs a resource path");
  const t = types(base[0], base[2]);
  let v: Value = payload;
  if (opaque) {
    if (t !== Model.T_NONE && t !== Model.T_OPAQUE) fail("opaque: resource is not opaque");
    v = new Uint8Array(payload);
  } else {
    const s = (v = utf8Decode(payload));
    try {
      switch (t) {
        case Model.T_UNSIGNED:
        case Model.T_INTEGER:
        case Model.T_TIME:
          if (t === Model.T_UNSIGNED && s.charAt(0) === "-") fail("negative unsigned");
          v = parseDecimal(s);
          break;
        case Model.T_FLOAT: {
          // Strict decimal float: -?digits(.digits)?([eE][+-]?digits)?
          let i = s.charAt(0) === "-" ? 1 : 0;
          let j = skipDigits(s, i);
          let ok = j > i;
          if (s.charAt(j) === ".") {
            i = j + 1;
            j = skipDigits(s, i);
            ok = ok && j > i;
          }
          if (s.charAt(j) === "e" || s.charAt(j) === "E") {
            i = j + 1;
            if (s.charAt(i) === "+" || s.charAt(i) === "-") i++;
            j = skipDigits(s, i);
            ok = ok && j > i;
          }
          if (!ok || j !== s.length) fail("bad number");
          v = parseFloat(s);
          break;
        }
        case Model.T_BOOLEAN:
          if (s !== "0" && s !== "1") fail("bad boolean");
          v = s === "1";
          break;
        case Model.T_OBJLNK:
          v = parseObjLink(s);
          break;
        case Model.T_OPAQUE:
          fail("opaque has no text form");
        // string, core link, or unknown type: the text itself
      }
    } catch (e) {
      fail("text: " + (e as Error).message);
    }
  }
  return [{ path: base.slice(), value: v }];
}

export function encodeText(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  return encodeSingle(base, entries, types, false);
}

export function decodeText(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  return decodeSingle(base, payload, types, false);
}
