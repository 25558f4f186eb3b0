// Byte helpers for an engine with no TextEncoder, no btoa and typed arrays that only have
// set/subarray: UTF-8, hex, base64url, big-endian integers and a growable writer.

export const enum Bytes {
  MAX_SAFE = 9007199254740991,
}

/** Throws a plain Error: one call instead of a throw expression at each of many sites. */
export function fail(message: string): never {
  throw new Error(message);
}

/** Two passes over s: the first counts the bytes, the second writes them. */
export function utf8Encode(s: string): Uint8Array {
  let out: Uint8Array | null = null;
  for (;;) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c < 0xe000) {
        const d = s.charCodeAt(i + 1);
        if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else {
          c = 0xfffd; // lone surrogate
        }
      }
      const k = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3; // continuation bytes
      if (out) {
        out[n] = k ? ((0xff80 >> k) & 0xff) | (c >> (6 * k)) : c;
        for (let j = 1; j <= k; j++) out[n + j] = 0x80 | ((c >> (6 * (k - j))) & 63);
      }
      n += k + 1;
    }
    if (out) return out;
    out = new Uint8Array(n);
  }
}

// Strict decoder: rejects truncated sequences, stray continuation bytes, overlong forms,
// surrogates and code points above U+10FFFF.
export function utf8Decode(b: Uint8Array): string {
  let out = "";
  let units: number[] = [];
  let i = 0;
  while (i < b.length) {
    let c = b[i++];
    if (c >= 0x80) {
      const n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0; // continuation bytes
      if (i + n > b.length) fail("utf8: truncated");
      c &= 0x3f >> n;
      for (let k = 0; k < n; k++) {
        const x = b[i++];
        if ((x & 0xc0) !== 0x80) c = -1;
        c = (c << 6) | (x & 63);
      }
      // stray continuation, bad continuation, overlong form, surrogate, above U+10FFFF
      if (n === 0 || c < (n === 1 ? 0x80 : n === 2 ? 0x800 : 0x10000) || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
        fail("utf8: invalid sequence");
      if (c >= 0x10000) {
        c -= 0x10000;
        units.push(0xd800 + (c >> 10));
        c = 0xdc00 + (c & 1023);
      }
    }
    units.push(c);
    if (units.length >= 512) {
      out += String.fromCharCode.apply(null, units);
      units = [];
    }
  }
  return out + String.fromCharCode.apply(null, units);
}

const HEX = "0123456789abcdef";

export function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX.charAt(b[i] >> 4) + HEX.charAt(b[i] & 15);
  return s;
}

/** Parses hex digits, either case; spaces are skipped so vectors can be written grouped. */
export function unhex(s: string): Uint8Array {
  s = s.split(" ").join("").toLowerCase();
  if (s.length & 1) fail("hex: odd length");
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < s.length; i++) {
    const d = HEX.indexOf(s.charAt(i));
    if (d < 0) fail("hex: invalid digit");
    out[i >> 1] |= i & 1 ? d : d << 4;
  }
  return out;
}

export const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url (RFC 4648 section 5) without padding, as SenML vd uses. */
export function base64urlEncode(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8) | (i + 2 < b.length ? b[i + 2] : 0);
    const chars = Math.min(4, b.length - i + 1);
    for (let k = 0; k < chars; k++) s += B64.charAt((n >> (18 - 6 * k)) & 63);
  }
  return s;
}

/** Accepts base64url with or without trailing '=' padding. */
export function base64urlDecode(s: string): Uint8Array {
  let end = s.length;
  while (end > 0 && s.charAt(end - 1) === "=") end--;
  if (end % 4 === 1 || s.length - end > 2) fail("base64: bad length");
  const out = new Uint8Array((end * 3) >> 2);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < end; i++) {
    const d = B64.indexOf(s.charAt(i));
    if (d < 0) fail("base64: invalid character");
    acc = ((acc << 6) | d) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = acc >> bits;
    }
  }
  return out;
}

export function concatBytes(list: Uint8Array[]): Uint8Array {
  let n = 0;
  for (let i = 0; i < list.length; i++) n += list[i].length;
  const out = new Uint8Array(n);
  n = 0;
  for (let i = 0; i < list.length; i++) {
    out.set(list[i], n);
    n += list[i].length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A copy that does not keep the (possibly reused) source buffer alive. */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/**
 * Big-endian integer of n bytes (1..8), two's complement when signed. Exact up to 2^53;
 * larger magnitudes throw rather than silently lose precision.
 */
export function readInt(b: Uint8Array, off: number, n: number, signed: boolean): number {
  let v = signed ? (b[off] ^ 0x80) - 0x80 : b[off];
  for (let i = 1; i < n; i++) v = v * 256 + b[off + i];
  if (v > Bytes.MAX_SAFE || v < -Bytes.MAX_SAFE) fail("integer exceeds 2^53");
  return v;
}

/** IEEE 754 float of 2, 4 or 8 bytes, big-endian. */
export function readFloat(b: Uint8Array, off: number, n: number): number {
  if (n === 2) {
    const h = (b[off] << 8) | b[off + 1];
    const e = (h >> 10) & 31;
    const m = h & 1023;
    const v = e === 0 ? m * Math.pow(2, -24) : e === 31 ? (m ? Number.NaN : Number.POSITIVE_INFINITY) : (m + 1024) * Math.pow(2, e - 25);
    return h & 0x8000 ? -v : v;
  }
  const dv = new DataView(b.buffer, b.byteOffset + off, n);
  return n === 4 ? dv.getFloat32(0) : dv.getFloat64(0);
}

/** A growable byte buffer: put* append, written() gives the bytes at their exact size. */
export interface Writer {
  b: Uint8Array;
  n: number;
}

/** Makes room for k more bytes; returns where they go. */
function grow(w: Writer, k: number): number {
  const need = w.n + k;
  if (need > w.b.length) {
    const grown = new Uint8Array(need * 2);
    grown.set(w.b.subarray(0, w.n));
    w.b = grown;
  }
  w.n = need;
  return need - k;
}

/** k bytes big-endian: an IEEE 754 float (k = 4 or 8) when float, else two's complement (exact up to 2^53). */
export function putNum(w: Writer, v: number, k: number, float?: boolean): void {
  const p = grow(w, k);
  if (float) {
    const dv = new DataView(w.b.buffer, w.b.byteOffset + p, k);
    if (k === 4) dv.setFloat32(0, v);
    else dv.setFloat64(0, v);
    return;
  }
  for (let i = k - 1; i >= 0; i--) {
    w.b[p + i] = ((v % 256) + 256) % 256;
    v = Math.floor(v / 256);
  }
}

export function putBytes(w: Writer, b: ArrayLike<number>): void {
  const p = grow(w, b.length); // may replace w.b
  w.b.set(b, p);
}

/** The written bytes, in a buffer of exactly their size. */
export function written(w: Writer): Uint8Array {
  return new Uint8Array(w.b.subarray(0, w.n));
}

/** A bounds-checked cursor over b[pos, end); name prefixes the "truncated" error. */
export interface Reader {
  b: Uint8Array;
  pos: number;
  end: number;
  name: string;
}

/** Advances over n bytes and returns where they start; throws "<name>: truncated" past the end. */
export function skip(r: Reader, n: number): number {
  if (n > r.end - r.pos) fail(r.name + ": truncated");
  r.pos += n;
  return r.pos - n;
}
