// Plain text (content-format 0): one resource value as UTF-8 text. Integers in decimal,
// booleans "0"/"1", object links "3:0"; opaque values have no text form in LwM2M 1.1.

import { fail, utf8Decode, utf8Encode } from "../lib/bytes";
import {
  Entry, TypeLookup, Value,
  T_INTEGER, T_UNSIGNED, T_FLOAT, T_BOOLEAN, T_OPAQUE, T_TIME, T_OBJLNK,
} from "./model";
import { checkResourceBase, objLinkToString, parseDecimal, parseObjLink, singleEntry, typeFor } from "./values";

export function encodeText(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  const e = singleEntry(base, entries, "text");
  const v = e.value as Value;
  const t = typeFor(types, e.path, v);
  if (t === T_OPAQUE) fail("text: opaque has no text form");
  return utf8Encode(t === T_BOOLEAN ? (v ? "1" : "0") : t === T_OBJLNK ? objLinkToString(v as any) : String(v));
}

function skipDigits(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  return i;
}

// Strict decimal float: -?digits(.digits)?([eE][+-]?digits)?
function parseNumber(s: string): number {
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
  return parseFloat(s);
}

function parseValue(s: string, t: number): Value {
  switch (t) {
    case T_INTEGER:
    case T_TIME:
      return parseDecimal(s);
    case T_UNSIGNED:
      if (s.charAt(0) === "-") fail("negative unsigned");
      return parseDecimal(s);
    case T_FLOAT:
      return parseNumber(s);
    case T_BOOLEAN:
      if (s !== "0" && s !== "1") fail("bad boolean");
      return s === "1";
    case T_OBJLNK:
      return parseObjLink(s);
    case T_OPAQUE:
      fail("opaque has no text form");
  }
  return s; // string, core link, or unknown type: the text itself
}

export function decodeText(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  checkResourceBase(base, "text");
  const s = utf8Decode(payload);
  let v: Value;
  try {
    v = parseValue(s, types(base[0], base[2]));
  } catch (e) {
    fail("text: " + (e as Error).message);
  }
  return [{ path: base.slice(), value: v }];
}
