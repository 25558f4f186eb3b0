// Byte helpers for an engine with no TextEncoder, no btoa and typed arrays that only have
// set/subarray: UTF-8, hex, base64url, big-endian integers and a growable writer.

export const MAX_SAFE = 9007199254740991;

/** Throws a plain Error: one call instead of a throw expression at each of many sites. */
export function fail(message: string): never {
  throw new Error(message);
}

export function utf8Encode(s: string): Uint8Array {
  const w = new ByteWriter(s.length + 8);
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
    if (c < 0x80) {
      w.u8(c);
      continue;
    }
    const n = c < 0x800 ? 1 : c < 0x10000 ? 2 : 3; // continuation bytes
    w.u8(((0xff80 >> n) & 0xff) | (c >> (6 * n)));
    for (let k = n - 1; k >= 0; k--) w.u8(0x80 | ((c >> (6 * k)) & 63));
  }
  return w.finish();
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
  const w = new ByteWriter(s.length >> 1);
  let hi = -1;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    if (ch === " ") continue;
    const d = HEX.indexOf(ch.toLowerCase());
    if (d < 0) fail("hex: invalid digit");
    if (hi < 0) hi = d;
    else {
      w.u8((hi << 4) | d);
      hi = -1;
    }
  }
  if (hi >= 0) fail("hex: odd length");
  return w.finish();
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
  const w = new ByteWriter((end * 3) >> 2);
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const d = B64.indexOf(s.charAt(i));
    if (d < 0) fail("base64: invalid character");
    acc = ((acc << 6) | d) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      w.u8(acc >> bits);
    }
  }
  return w.finish();
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
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

/**
 * Big-endian integer of n bytes (1..8), two's complement when signed. Exact up to 2^53;
 * larger magnitudes throw rather than silently lose precision.
 */
export function readInt(b: Uint8Array, off: number, n: number, signed: boolean): number {
  let v = signed ? (b[off] ^ 0x80) - 0x80 : b[off];
  for (let i = 1; i < n; i++) v = v * 256 + b[off + i];
  if (v > MAX_SAFE || v < -MAX_SAFE) fail("integer exceeds 2^53");
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

export class ByteWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(capacity?: number) {
    this.buf = new Uint8Array(capacity || 32);
  }

  private room(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v & 255;
  }

  u16(v: number): void {
    this.u8(v >> 8);
    this.u8(v);
  }

  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }

  /** Big-endian two's complement in n bytes; exact for integers up to 2^53. */
  int(v: number, n: number): void {
    this.room(n);
    for (let i = n - 1; i >= 0; i--) {
      this.buf[this.len + i] = ((v % 256) + 256) % 256;
      v = Math.floor(v / 256);
    }
    this.len += n;
  }

  /** IEEE 754 big-endian float of 4 or 8 bytes. */
  float(v: number, n: number): void {
    this.room(n);
    const dv = new DataView(this.buf.buffer, this.buf.byteOffset + this.len, n);
    if (n === 4) dv.setFloat32(0, v);
    else dv.setFloat64(0, v);
    this.len += n;
  }

  bytes(b: ArrayLike<number>): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** The written bytes, in a buffer of exactly their size. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    out.set(this.buf.subarray(0, this.len));
    return out;
  }
}

/** Bounds-checked cursor; every read past the end throws "<name>: truncated". */
export class ByteReader {
  pos: number;
  end: number;

  constructor(public b: Uint8Array, public name: string, pos?: number, end?: number) {
    this.pos = pos || 0;
    this.end = end === undefined ? b.length : end;
  }

  left(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (n > this.left()) fail(this.name + ": truncated");
  }

  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }

  uint(n: number): number {
    this.need(n);
    const v = readInt(this.b, this.pos, n, false);
    this.pos += n;
    return v;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const s = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
