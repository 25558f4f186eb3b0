// Byte helpers for an engine with no TextEncoder, no btoa and typed arrays that only have
// set/subarray: UTF-8, hex, base64url, big-endian integers and a growable writer.

export const enum Bytes {
  MAX_SAFE = 9007199254740991,
}

/** Shared, never written to. */
export const EMPTY_BYTES = new Uint8Array(0);

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
      if (c >> 11 === 27) {
        // a surrogate: a pair makes one code point, a lone one becomes U+FFFD
        const d = s.charCodeAt(i + 1);
        if (c < 0xdc00 && d >> 10 === 55) {
          c = (c << 10) + d - 0x35fdc00; // 0x10000 + (c - 0xd800) * 1024 + (d - 0xdc00)
          i++;
        } else c = 0xfffd;
      }
      const k = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3; // continuation bytes
      if (out) {
        for (let j = k; j > 0; j--, c >>= 6) out[n + j] = 0x80 | (c & 63);
        out[n] = (0xf0e0c000 >> (8 * k)) | c; // the lead byte's marker bits (none for ASCII)
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
  for (let i = 0; i < b.length; ) {
    let c = b[i++];
    if (c > 127) {
      const n = c > 239 ? 3 : c > 223 ? 2 : c > 191 ? 1 : 0; // continuation bytes
      c &= 63 >> n;
      // past the end b[i] is undefined: not a continuation byte either
      for (let k = 0; k < n; k++) c = (b[i] & 0xc0) === 0x80 ? (c << 6) | (b[i++] & 63) : -1;
      // stray continuation, bad continuation, overlong form, surrogate, above U+10FFFF
      // (the shortest form of n continuation bytes starts at 1 << 7, 11 or 16)
      if (!n || c < 1 << (n * 4.5 + 2.5) || c > 0x10ffff || c >> 11 === 27) fail("utf8: invalid sequence");
      if (c > 0xffff) {
        c -= 0x10000;
        units.push(0xd800 + (c >> 10));
        c = 0xdc00 + (c & 1023);
      }
    }
    units.push(c);
    if (units.length > 511) {
      out += String.fromCharCode.apply(null, units);
      units = [];
    }
  }
  return out + String.fromCharCode.apply(null, units);
}

export function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] | 256).toString(16).substring(1);
  return s;
}

/** Parses hex digits, either case; spaces are skipped so vectors can be written grouped. */
export function unhex(s: string): Uint8Array {
  s = s.split(" ").join("");
  if (s.length & 1) fail("hex: odd length");
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < s.length; i++) {
    const d = parseInt(s.charAt(i), 16); // NaN unless a hex digit, either case
    if (!(d >= 0)) fail("hex: invalid digit");
    out[i >> 1] |= i & 1 ? d : d << 4;
  }
  return out;
}

export const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url (RFC 4648 section 5) without padding, as SenML vd uses. */
export function base64urlEncode(b: Uint8Array): string {
  let s = "";
  let acc = 0; // only its low bits count
  let bits = 0;
  for (let i = 0; i < b.length; i++) {
    acc = (acc << 8) | b[i];
    for (bits += 8; bits > 5; ) s += B64.charAt((acc >> (bits -= 6)) & 63);
  }
  // the last bits, padded with zeros
  return bits ? s + B64.charAt((acc << (6 - bits)) & 63) : s;
}

/** Accepts base64url with or without trailing '=' padding. */
export function base64urlDecode(s: string): Uint8Array {
  let end = s.length;
  while (s.charAt(end - 1) === "=") end--; // charAt(-1) is ""
  if (end % 4 === 1 || s.length - end > 2) fail("base64: bad length");
  const out = new Uint8Array((end * 3) >> 2);
  let acc = 0;
  let n = 0;
  for (let i = 0; i < end; i++) {
    const d = B64.indexOf(s.charAt(i));
    if (d < 0) fail("base64: invalid character");
    acc = (acc << 6) | d; // only its low 12 bits are read
    // each character after the first of a group of 4 completes a byte
    if (i & 3) out[n++] = acc >> (6 - 2 * (i & 3));
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
  if (Math.abs(v) > Bytes.MAX_SAFE) fail("integer exceeds 2^53");
  return v;
}

/** IEEE 754 float of 2, 4 or 8 bytes, big-endian. */
export function readFloat(b: Uint8Array, off: number, n: number): number {
  if (n === 2) {
    const h = (b[off] << 8) | b[off + 1];
    const e = (h >> 10) & 31;
    const m = h & 1023;
    // subnormal (e = 0): m * 2^-24; normal: (1024 + m) * 2^(e - 25)
    const v = e === 31 ? (m ? 0 / 0 : 1 / 0) : (e ? m + 1024 : m) * Math.pow(2, (e || 1) - 25);
    return h & 0x8000 ? -v : v;
  }
  return new DataView(b.buffer, b.byteOffset + off, n)[n === 4 ? "getFloat32" : "getFloat64"](0);
}

/** A growable byte buffer: put* append, written() gives the bytes at their exact size. */
export interface Writer {
  b: Uint8Array;
  n: number;
}

/** An empty writer (it grows as needed). */
export function writer(): Writer {
  return { b: new Uint8Array(64), n: 0 };
}

/** Makes room for k more bytes; returns where they go. */
function grow(w: Writer, k: number): number {
  const need = w.n + k;
  if (need > w.b.length) {
    // doubling: a buffer that starts at a power of two stays one
    const grown = new Uint8Array(Math.max(need, w.b.length * 2));
    grown.set(w.b); // the bytes past n are overwritten before they count
    w.b = grown;
  }
  w.n = need;
  return need - k;
}

/** k bytes big-endian: an IEEE 754 float (k = 4 or 8) when float, else two's complement (exact up to 2^53). */
export function putNum(w: Writer, v: number, k: number, float?: boolean): void {
  const p = grow(w, k);
  if (float) return new DataView(w.b.buffer, w.b.byteOffset + p, k)[k === 4 ? "setFloat32" : "setFloat64"](0, v);
  // a typed array keeps an integer modulo 256, two's complement for negative ones
  for (let i = k - 1; i >= 0; i--, v = Math.floor(v / 256)) w.b[p + i] = v;
}

export function putBytes(w: Writer, b: ArrayLike<number>): void {
  const p = grow(w, b.length); // may replace w.b
  w.b.set(b, p);
}

/** The written bytes, in a buffer of exactly their size. */
export function written(w: Writer): Uint8Array {
  return new Uint8Array(w.b.subarray(0, w.n));
}

/** A bounds-checked cursor over b[n, end) (n as in Writer); name prefixes the "truncated" error. */
export interface Reader {
  b: Uint8Array;
  n: number;
  end: number;
  name: string;
}

/** Advances over n bytes and returns where they start; throws "<name>: truncated" past the end. */
export function skip(r: Reader, n: number): number {
  if (n > r.end - r.n) fail(r.name + ": truncated");
  r.n += n;
  return r.n - n;
}
