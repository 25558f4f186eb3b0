// The CBOR subset (RFC 8949) the codecs need: unsigned and negative integers, byte and text
// strings, arrays and maps (definite or indefinite length), false/true/null, and floats
// (half/single/double on decode, double on encode). Tags and other simple values are rejected.

import {
  Reader, Writer, fail, putBytes, putNum, readFloat, readInt, skip, utf8Decode, utf8Encode, written,
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
    if (ai === 20 || ai === 21) return ai === 21;
    if (ai === 22) return null;
    if (ai < 25 || ai > 27) fail("cbor: unsupported simple value");
    return readFloat(b, skip(r, n), n);
  }
  const indefinite = ai === 31 && (major === 4 || major === 5);
  if (ai > 27 && !indefinite) fail("cbor: bad additional info");
  n = indefinite ? 0 : ai < 24 ? ai : readInt(b, skip(r, n), n, false);
  switch (major) {
    case 0:
      return n;
    case 1:
      return -1 - n;
    case 2:
      return new Uint8Array(b.subarray(skip(r, n), r.pos));
    case 3:
      return utf8Decode(b.subarray(skip(r, n), r.pos));
    case 4:
    case 5: {
      // every item takes at least one byte: refuse counts the payload cannot hold
      if (n * (major - 3) > r.end - r.pos) fail("cbor: length past end");
      const list: any[] = [];
      const map: any = {};
      // an indefinite container ends at a break byte (consumed; past the end, readItem throws)
      for (let k = 0; indefinite ? b[r.pos] !== 0xff || !++r.pos : k < n; k++) {
        const key = readItem(r, depth + 1);
        if (major === 4) {
          list.push(key);
          continue;
        }
        if (typeof key !== "number" && typeof key !== "string") fail("cbor: bad map key");
        const name = String(key);
        if (map.hasOwnProperty(name) || name === "__proto__") fail("cbor: duplicate map key");
        map[name] = readItem(r, depth + 1);
      }
      return major === 4 ? list : map;
    }
  }
  fail("cbor: unsupported major type " + major);
}

/**
 * Decodes exactly one item. Maps become plain objects keyed by String(key), so the integer
 * key -2 reads as "-2"; only integer and text keys are accepted.
 */
export function decodeCbor(b: Uint8Array): any {
  const r: Reader = { b: b, pos: 0, end: b.length, name: "cbor" };
  const v = readItem(r, 0);
  if (r.pos < r.end) fail("cbor: trailing bytes");
  return v;
}

function writeHead(w: Writer, major: number, n: number): void {
  const ai = n < 24 ? n : n < 0x100 ? 24 : n < 0x10000 ? 25 : n < 0x100000000 ? 26 : 27;
  putNum(w, (major << 5) | ai, 1);
  if (ai > 23) putNum(w, n, 1 << (ai - 24));
}

/**
 * Integers in their shortest form, other numbers as float64; objects as maps keyed by their
 * names, or by keys[name] when keys has one (SenML CBOR's integer labels).
 */
export function writeCbor(w: Writer, v: any, keys?: any): void {
  if (typeof v === "number") {
    if (!isInt(v)) {
      putNum(w, 0xfb, 1);
      putNum(w, v, 8, true);
    } else if (v >= 0) writeHead(w, 0, v);
    else writeHead(w, 1, -1 - v);
  } else if (typeof v === "string") {
    const b = utf8Encode(v);
    writeHead(w, 3, b.length);
    putBytes(w, b);
  } else if (typeof v === "boolean" || v === null) putNum(w, v ? 0xf5 : v === null ? 0xf6 : 0xf4, 1);
  else if (v instanceof Uint8Array) {
    writeHead(w, 2, v.length);
    putBytes(w, v);
  } else if (Array.isArray(v)) {
    writeHead(w, 4, v.length);
    for (let i = 0; i < v.length; i++) writeCbor(w, v[i], keys);
  } else {
    const names = Object.keys(v);
    writeHead(w, 5, names.length);
    for (let i = 0; i < names.length; i++) {
      const k = names[i];
      writeCbor(w, keys && keys.hasOwnProperty(k) ? keys[k] : k);
      writeCbor(w, v[k], keys);
    }
  }
}

export function encodeCbor(v: any, keys?: any): Uint8Array {
  const w: Writer = { b: new Uint8Array(64), n: 0 };
  writeCbor(w, v, keys);
  return written(w);
}
