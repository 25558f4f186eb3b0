// The CBOR subset (RFC 8949) the codecs need: unsigned and negative integers, byte and text
// strings, arrays and maps (definite or indefinite length), false/true/null, and floats
// (half/single/double on decode, double on encode). Tags and other simple values are rejected.

import { ByteReader, ByteWriter, copyBytes, fail, readFloat, utf8Decode, utf8Encode } from "../lib/bytes";
import { isInt } from "./values";

const MAX_DEPTH = 8;

function arg(r: ByteReader, ai: number): number {
  if (ai < 24) return ai;
  if (ai > 27) fail("cbor: bad additional info");
  return r.uint(1 << (ai - 24));
}

// Consumes the break byte of an indefinite-length container when it comes next.
function atBreak(r: ByteReader): boolean {
  r.need(1);
  if (r.b[r.pos] !== 0xff) return false;
  r.pos++;
  return true;
}

function readItem(r: ByteReader, depth: number): any {
  if (depth > MAX_DEPTH) fail("cbor: nesting too deep");
  const ib = r.u8();
  const major = ib >> 5;
  const ai = ib & 31;
  if (major === 7) {
    if (ai === 20 || ai === 21) return ai === 21;
    if (ai === 22) return null;
    if (ai < 25 || ai > 27) fail("cbor: unsupported simple value");
    const n = 1 << (ai - 24);
    r.need(n);
    r.pos += n;
    return readFloat(r.b, r.pos - n, n);
  }
  const indefinite = ai === 31 && (major === 4 || major === 5);
  const n = indefinite ? 0 : arg(r, ai);
  switch (major) {
    case 0:
      return n;
    case 1:
      return -1 - n;
    case 2:
      return copyBytes(r.take(n));
    case 3:
      return utf8Decode(r.take(n));
    case 4: {
      // every item takes at least one byte: refuse counts the payload cannot hold
      if (n > r.left()) fail("cbor: length past end");
      const list: any[] = [];
      while (indefinite ? !atBreak(r) : list.length < n) list.push(readItem(r, depth + 1));
      return list;
    }
    case 5: {
      if (n * 2 > r.left()) fail("cbor: length past end");
      const map: any = {};
      for (let k = 0; indefinite ? !atBreak(r) : k < n; k++) {
        const key = readItem(r, depth + 1);
        if (typeof key !== "number" && typeof key !== "string") fail("cbor: bad map key");
        const name = String(key);
        if (map.hasOwnProperty(name) || name === "__proto__") fail("cbor: duplicate map key");
        map[name] = readItem(r, depth + 1);
      }
      return map;
    }
  }
  fail("cbor: unsupported major type " + major);
}

/**
 * Decodes exactly one item. Maps become plain objects keyed by String(key), so the integer
 * key -2 reads as "-2"; only integer and text keys are accepted.
 */
export function decodeCbor(b: Uint8Array): any {
  const r = new ByteReader(b, "cbor");
  const v = readItem(r, 0);
  if (r.left()) fail("cbor: trailing bytes");
  return v;
}

export function writeHead(w: ByteWriter, major: number, n: number): void {
  const ai = n < 24 ? n : n < 0x100 ? 24 : n < 0x10000 ? 25 : n < 0x100000000 ? 26 : 27;
  w.u8((major << 5) | ai);
  if (ai > 23) w.int(n, 1 << (ai - 24));
}

/** Integers in their shortest form, other numbers as float64; objects as text-keyed maps. */
export function writeCbor(w: ByteWriter, v: any): void {
  if (typeof v === "number") {
    if (!isInt(v)) {
      w.u8(0xfb);
      w.float(v, 8);
    } else if (v >= 0) writeHead(w, 0, v);
    else writeHead(w, 1, -1 - v);
  } else if (typeof v === "string") {
    const b = utf8Encode(v);
    writeHead(w, 3, b.length);
    w.bytes(b);
  } else if (typeof v === "boolean") w.u8(v ? 0xf5 : 0xf4);
  else if (v === null) w.u8(0xf6);
  else if (v instanceof Uint8Array) {
    writeHead(w, 2, v.length);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    writeHead(w, 4, v.length);
    for (let i = 0; i < v.length; i++) writeCbor(w, v[i]);
  } else {
    const keys = Object.keys(v);
    writeHead(w, 5, keys.length);
    for (let i = 0; i < keys.length; i++) {
      writeCbor(w, keys[i]);
      writeCbor(w, v[keys[i]]);
    }
  }
}

export function encodeCbor(v: any): Uint8Array {
  const w = new ByteWriter(64);
  writeCbor(w, v);
  return w.finish();
}
