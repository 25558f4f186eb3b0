// The CBOR subset (RFC 8949) the codecs need: unsigned and negative integers, byte and text
// strings, arrays and maps (definite or indefinite length), false/true/null, and floats
// (half/single/double on decode, double on encode). Tags and other simple values are rejected.

import {
  Reader, Writer, fail, putBytes, putNum, readFloat, readInt, skip, utf8Decode, utf8Encode, writer, written,
} from "../lib/bytes";
import { isInt } from "./values";

const enum K {
  MAX_DEPTH = 8,
}

function readItem(r: Reader, depth: number): any {
  if (depth > K.MAX_DEPTH) fail("cbor: nesting too deep");
  const b = r.b;
  const ib = b[skip(r, 1)];
  const major = ib >> 5;
  const ai = ib & 31;
  let n = 1 << (ai - 24); // bytes of the argument
  if (major === 7) {
    if ((ai & 30) === 20) return ai === 21; // false, true
    if (ai === 22) return null;
    if (ai < 25 || ai > 27) fail("cbor: unsupported simple value");
    return readFloat(b, skip(r, n), n);
  }
  const indefinite = ai === 31 && (major & 6) === 4; // an array or a map
  if (ai > 27 && !indefinite) fail("cbor: bad additional info");
  n = indefinite ? 0 : ai < 24 ? ai : readInt(b, skip(r, n), n, false);
  if (major < 2) return major ? -1 - n : n;
  if (major < 4) {
    const s = b.subarray(skip(r, n), r.n);
    return major > 2 ? utf8Decode(s) : new Uint8Array(s);
  }
  if (major > 5) fail("cbor: unsupported major type " + major);
  // every item takes at least one byte: refuse counts the payload cannot hold
  if (n * (major - 3) > r.end - r.n) fail("cbor: length past end");
  const out: any = major === 4 ? [] : {};
  // an indefinite container ends at a break byte (consumed; past the end, readItem throws)
  for (let k = 0; indefinite ? b[r.n] !== 0xff || !++r.n : k < n; k++) {
    const key = readItem(r, depth + 1);
    if (major === 4) {
      out.push(key);
      continue;
    }
    if ("number string".indexOf(typeof key) < 0) fail("cbor: bad map key");
    const name = String(key);
    if (out.hasOwnProperty(name) || name === "__proto__") fail("cbor: duplicate map key");
    out[name] = readItem(r, depth + 1);
  }
  return out;
}

/**
 * Decodes exactly one item. Maps become plain objects keyed by String(key), so the integer
 * key -2 reads as "-2"; only integer and text keys are accepted.
 */
export function decodeCbor(b: Uint8Array): any {
  const r: Reader = { b: b, n: 0, end: b.length, name: "cbor" };
  const v = readItem(r, 0);
  if (r.n < r.end) fail("cbor: trailing bytes");
  return v;
}

function writeHead(w: Writer, major: number, n: number): void {
  const ai = n < 24 ? n : n < 0x100 ? 24 : n < 0x10000 ? 25 : n < 0x100000000 ? 26 : 27;
  putNum(w, (major << 5) | ai, 1);
  if (ai > 23) putNum(w, n, 1 << (ai - 24));
}

/**
 * Integers in their shortest form, other numbers as float64; objects as maps keyed by their
 * names, or by keys(name) when given (SenML CBOR's integer labels).
 */
export function writeCbor(w: Writer, v: any, keys?: (name: string) => string | number): void {
  const t = typeof v;
  if (t === "number") {
    if (!isInt(v)) {
      putNum(w, 0xfb, 1);
      putNum(w, v, 8, true);
    } else writeHead(w, v < 0 ? 1 : 0, v < 0 ? -1 - v : v);
  } else if (t === "boolean" || v === null) putNum(w, v ? 0xf5 : v === null ? 0xf6 : 0xf4, 1);
  else if (t === "string" || v instanceof Uint8Array) {
    const b = t === "string" ? utf8Encode(v) : v;
    writeHead(w, t === "string" ? 3 : 2, b.length);
    putBytes(w, b);
  } else {
    // an array, or a map of the object's own names
    const names = Array.isArray(v) ? null : Object.keys(v);
    const items = names || v;
    writeHead(w, names ? 5 : 4, items.length);
    for (let i = 0; i < items.length; i++) {
      if (names) writeCbor(w, keys ? keys(names[i]) : names[i]);
      writeCbor(w, v[names ? names[i] : i], keys);
    }
  }
}

export function encodeCbor(v: any, keys?: (name: string) => string | number): Uint8Array {
  const w = writer();
  writeCbor(w, v, keys);
  return written(w);
}
