// The single-value formats: plain text (content-format 0), one resource value as UTF-8 text
// (integers in decimal, booleans "0"/"1", object links "3:0"; opaque values have no text form
// in LwM2M 1.1), and opaque (42, application/octet-stream), one opaque value as raw bytes.

import { fail, utf8Decode, utf8Encode } from "../lib/bytes";
import { Entry, ObjLink, TypeLookup, Value, digitsAt, pathToString, Model } from "./model";
import { parseDecimal, parseObjLink, typeFor, V } from "./values";

/**
 * The checks both directions share, in this order: base is a resource (instance) path, entries
 * (when encoding) are exactly one value at base, an opaque format's resource is opaque or of
 * unknown type. Returns the declared type.
 */
function single(base: number[], types: TypeLookup, opaque: boolean, entries?: Entry[]): number {
  const fmt = opaque ? "opaque" : "text";
  if (base.length < 3) fail(fmt + ": needs a resource path");
  const at = pathToString(base);
  if (entries && (entries.length !== 1 || entries[0].value === null || pathToString(entries[0].path) !== at)) fail(fmt + ": needs exactly one value at " + at);
  const t = types(base[0], base[2]);
  if (opaque && t % Model.T_OPAQUE) fail("opaque: resource is not opaque"); // neither T_NONE nor T_OPAQUE
  return t;
}

/** The one value at base (a resource or resource instance) as text, or as bytes when opaque. */
export function encodeSingle(base: number[], entries: Entry[], types: TypeLookup, opaque: boolean): Uint8Array {
  single(base, types, opaque, entries);
  const v = entries[0].value as Value;
  if (opaque) {
    if (!(v instanceof Uint8Array)) fail("opaque: value is not bytes");
    return v as Uint8Array;
  }
  // the entry's path is base
  const t = typeFor(types, base, v);
  if (t === Model.T_OPAQUE) fail("text: opaque has no text form");
  // a boolean as 1 or 0
  return utf8Encode(t === Model.T_OBJLNK ? (v as ObjLink).objectId + ":" + (v as ObjLink).instanceId : String(t === Model.T_BOOLEAN ? +v : v));
}

export function decodeSingle(base: number[], payload: Uint8Array, types: TypeLookup, opaque: boolean): Entry[] {
  const t = single(base, types, opaque);
  let v: Value = payload;
  if (opaque) v = new Uint8Array(payload);
  else {
    const s = (v = utf8Decode(payload));
    try {
      if (t === Model.T_UNSIGNED && s.charAt(0) === "-") fail("negative unsigned");
      if (t === Model.T_FLOAT) {
        // Strict decimal float: -?digits(.digits)?([eE][+-]?digits)?
        const j = digitsAt(s, 0, "-");
        const k = s.charAt(j) === "." ? digitsAt(s, j + 1, "") : j;
        const c = s.charAt(k);
        if ((c === "e" || c === "E" ? digitsAt(s, k + 1, "+-") : k) !== s.length) fail("bad number");
      }
      if (t === Model.T_BOOLEAN && s !== "0" && s !== "1") fail("bad boolean");
      if (t === Model.T_OPAQUE) fail("opaque has no text form");
      // string, core link, or unknown type: the text itself
      v = (V.INTS >> t) & 1 ? parseDecimal(s)
        : t === Model.T_FLOAT ? +s
        : t === Model.T_BOOLEAN ? s === "1"
        : t === Model.T_OBJLNK ? parseObjLink(s)
        : s;
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
