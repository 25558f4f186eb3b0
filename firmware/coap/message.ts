// CoAP message model and wire format (RFC 7252 section 3), plus option helpers and the
// Block1/Block2 option value (RFC 7959). Decoded option values and payloads are views into
// the datagram (no copy): the datagram must not be reused while the message is in use.
import { EMPTY_BYTES, Reader, fail, putBytes, putNum, readInt, skip, utf8Decode, utf8Encode, writer, written } from "../lib/bytes";

// Numeric constants are const enum members throughout the firmware: tsc writes each use as a
// literal. A module-level const would stay a variable of the bundle's scope, and on the meter
// every such variable, and every function that reads one, costs heap (about 10 KB in all).
export const enum Coap {
  CON = 0,
  NON = 1,
  ACK = 2,
  RST = 3,
  EMPTY = 0,
  GET = 1,
  POST = 2,
  PUT = 3,
  DELETE = 4,
  FETCH = 5,
  IPATCH = 7,
  CREATED = 0x41,
  DELETED = 0x42,
  VALID = 0x43,
  CHANGED = 0x44,
  CONTENT = 0x45,
  CONTINUE = 0x5f,
  BAD_REQUEST = 0x80,
  UNAUTHORIZED = 0x81,
  BAD_OPTION = 0x82,
  FORBIDDEN = 0x83,
  NOT_FOUND = 0x84,
  METHOD_NOT_ALLOWED = 0x85,
  NOT_ACCEPTABLE = 0x86,
  REQUEST_ENTITY_INCOMPLETE = 0x88,
  PRECONDITION_FAILED = 0x8c,
  REQUEST_ENTITY_TOO_LARGE = 0x8d,
  UNSUPPORTED_CONTENT_FORMAT = 0x8f,
  INTERNAL_SERVER_ERROR = 0xa0,
  NOT_IMPLEMENTED = 0xa1,
  SERVICE_UNAVAILABLE = 0xa3,
  IF_MATCH = 1,
  URI_HOST = 3,
  ETAG = 4,
  IF_NONE_MATCH = 5,
  OBSERVE = 6,
  URI_PORT = 7,
  LOCATION_PATH = 8,
  URI_PATH = 11,
  CONTENT_FORMAT = 12,
  MAX_AGE = 14,
  URI_QUERY = 15,
  ACCEPT = 17,
  LOCATION_QUERY = 20,
  BLOCK2 = 23,
  BLOCK1 = 27,
  SIZE2 = 28,
  PROXY_URI = 35,
  SIZE1 = 60,
}
// The plain names the tests import (unused ones are left out of the bundle).
export const CON = Coap.CON;
export const NON = Coap.NON;
export const ACK = Coap.ACK;
export const RST = Coap.RST;
export const GET = Coap.GET;
export const POST = Coap.POST;
export const PUT = Coap.PUT;
export const DELETE = Coap.DELETE;
export const CREATED = Coap.CREATED;
export const DELETED = Coap.DELETED;
export const CHANGED = Coap.CHANGED;
export const CONTENT = Coap.CONTENT;
export const CONTINUE = Coap.CONTINUE;
export const BAD_OPTION = Coap.BAD_OPTION;
export const NOT_FOUND = Coap.NOT_FOUND;
export const REQUEST_ENTITY_INCOMPLETE = Coap.REQUEST_ENTITY_INCOMPLETE;
export const REQUEST_ENTITY_TOO_LARGE = Coap.REQUEST_ENTITY_TOO_LARGE;
export const INTERNAL_SERVER_ERROR = Coap.INTERNAL_SERVER_ERROR;
export const OBSERVE = Coap.OBSERVE;
export const LOCATION_PATH = Coap.LOCATION_PATH;
export const URI_PATH = Coap.URI_PATH;
export const CONTENT_FORMAT = Coap.CONTENT_FORMAT;
export const URI_QUERY = Coap.URI_QUERY;
export const ACCEPT = Coap.ACCEPT;
export const BLOCK2 = Coap.BLOCK2;
export const BLOCK1 = Coap.BLOCK1;
export const SIZE2 = Coap.SIZE2;
export const SIZE1 = Coap.SIZE1;

export interface CoapOption {
  num: number;
  value: Uint8Array;
}

export interface CoapMessage {
  type: number;
  code: number;
  mid: number;
  token: Uint8Array;
  options: CoapOption[];
  payload: Uint8Array | null;
}

export interface BlockValue {
  num: number;
  more: boolean;
  szx: number;
}

/**
 * Critical (odd) options this stack processes, one bit each; any other odd option makes a
 * request fail with 4.02.
 */
export const enum Known {
  CRITICAL = (1 << Coap.IF_MATCH) | (1 << Coap.URI_HOST) | (1 << Coap.IF_NONE_MATCH) | (1 << Coap.URI_PORT) | (1 << Coap.URI_PATH) |
    (1 << Coap.URI_QUERY) | (1 << Coap.ACCEPT) | (1 << Coap.BLOCK2) | (1 << Coap.BLOCK1),
}

export { EMPTY_BYTES };

export function emptyBytes(): Uint8Array {
  return EMPTY_BYTES;
}

export function isRequestCode(code: number): boolean {
  return code > 0 && code < 32;
}

export function isResponseCode(code: number): boolean {
  return code >= 64 && code < 192;
}

/** "2.05" for 0x45. */
export function codeToString(code: number): string {
  const detail = code & 31;
  return (code >> 5) + "." + (detail < 10 ? "0" : "") + detail;
}

export function encodeMessage(m: CoapMessage): Uint8Array {
  const tkl = m.token.length;
  const payload = m.payload;
  if (tkl > 8) fail("bad token");
  const w = writer();
  putNum(w, ((0x40 | ((m.type & 3) << 4) | tkl) << 24) + m.code * 65536 + (m.mid & 0xffff), 4);
  putBytes(w, m.token);
  // Options in number order; equal numbers keep their relative order (repeatable options).
  const opts = m.options.slice();
  for (let i = 1; i < opts.length; i++) {
    const o = opts[i];
    let j = i;
    for (; j > 0 && opts[j - 1].num > o.num; j--) opts[j] = opts[j - 1];
    opts[j] = o;
  }
  let prev = 0;
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i];
    const d = o.num - prev;
    const len = o.value.length;
    if (len > 65804) fail("option too long");
    // header nibbles 13 and 14 announce 1 and 2 extended bytes holding v - 13 and v - 269
    const dn = d < 13 ? d : d < 269 ? 13 : 14;
    const ln = len < 13 ? len : len < 269 ? 13 : 14;
    putNum(w, (dn << 4) | ln, 1);
    putNum(w, d - (dn < 14 ? 13 : 269), dn > 12 ? dn - 12 : 0);
    putNum(w, len - (ln < 14 ? 13 : 269), ln > 12 ? ln - 12 : 0);
    putBytes(w, o.value);
    prev = o.num;
  }
  if (payload && payload.length) {
    putNum(w, 0xff, 1);
    putBytes(w, payload);
  }
  return written(w);
}

/** Parses one datagram; throws Error on any format error (RFC 7252 section 3). */
export function decodeMessage(b: Uint8Array): CoapMessage {
  const tkl = b[0] & 15;
  const code = b[1];
  // short, version not 1, token too long or truncated, an empty message with more than a header
  if (b.length < 4 || b[0] >> 6 !== 1 || tkl > 8 || 4 + tkl > b.length || (code === Coap.EMPTY && b.length !== 4)) fail("bad header");
  const m: CoapMessage = {
    type: (b[0] >> 4) & 3,
    code: code,
    mid: (b[2] << 8) | b[3],
    token: b.subarray(4, 4 + tkl),
    options: [],
    payload: null,
  };
  const r: Reader = { b: b, n: 4 + tkl, end: b.length, name: "coap" };
  let num = 0;
  while (r.n < b.length) {
    const head = b[r.n++];
    if (head === 0xff) {
      if (r.n >= b.length) fail("bad payload");
      m.payload = b.subarray(r.n);
      break;
    }
    // delta, then length: nibble 13 or 14 takes 1 or 2 more bytes, 15 is reserved
    const v = [head >> 4, head & 15];
    for (let k = 0; k < 2; k++) {
      const n = v[k];
      if (n > 14) fail("bad option");
      if (n > 12) v[k] = readInt(b, skip(r, n - 12), n - 12, false) + (n < 14 ? 13 : 269);
    }
    num += v[0];
    m.options.push({ num: num, value: b.subarray(skip(r, v[1]), r.n) });
  }
  return m;
}

// ---- option helpers ----
// The firmware uses uintOpt, strOpt, getUintOption, getStringOptions, decodeBlock and
// hasUnknownCriticalOption; the rest serve the tests and tools (the bundler drops them).

export function addOption(m: CoapMessage, num: number, value: Uint8Array): void {
  m.options.push({ num: num, value: value });
}

/** Minimal big-endian bytes of an unsigned integer (0 encodes as zero bytes). */
export function uintBytes(v: number): Uint8Array {
  return uintOpt(0, v).value;
}

export function bytesToUint(b: Uint8Array): number {
  return getUintOption({ options: [{ num: 0, value: b }] } as CoapMessage, 0);
}

export function uintOpt(num: number, v: number): CoapOption {
  const out: number[] = [];
  for (; v >= 1; v = Math.floor(v / 256)) out.unshift(v % 256);
  return { num: num, value: new Uint8Array(out) };
}

export function strOpt(num: number, s: string): CoapOption {
  return { num: num, value: utf8Encode(s) };
}

export function addUintOption(m: CoapMessage, num: number, v: number): void {
  m.options.push(uintOpt(num, v));
}

export function addStringOption(m: CoapMessage, num: number, s: string): void {
  m.options.push(strOpt(num, s));
}

export function getOption(m: CoapMessage, num: number): CoapOption | null {
  return getOptions(m, num)[0] || null;
}

export function getOptions(m: CoapMessage, num: number): CoapOption[] {
  const out: CoapOption[] = [];
  for (let i = 0; i < m.options.length; i++) if (m.options[i].num === num) out.push(m.options[i]);
  return out;
}

/** The (first such) option's unsigned value, or -1 when the option is absent. */
export function getUintOption(m: CoapMessage, num: number): number {
  for (let i = 0; i < m.options.length; i++) {
    const o = m.options[i].value;
    if (m.options[i].num !== num) continue;
    let v = 0;
    for (let k = 0; k < o.length; k++) v = v * 256 + o[k];
    return v;
  }
  return -1;
}

/** UTF-8 values of every such option; throws Error on invalid UTF-8. */
export function getStringOptions(m: CoapMessage, num: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < m.options.length; i++) if (m.options[i].num === num) out.push(utf8Decode(m.options[i].value));
  return out;
}

export function uriPath(m: CoapMessage): string[] {
  return getStringOptions(m, Coap.URI_PATH);
}

export function uriQuery(m: CoapMessage): string[] {
  return getStringOptions(m, Coap.URI_QUERY);
}

export function removeOptions(m: CoapMessage, num: number): void {
  const kept: CoapOption[] = [];
  for (let i = 0; i < m.options.length; i++) if (m.options[i].num !== num) kept.push(m.options[i]);
  m.options = kept;
}

/** Replaces the Uri-Path options with the segments of "/rd/abc" (empty segments skipped). */
export function setUriPath(m: CoapMessage, path: string): void {
  removeOptions(m, Coap.URI_PATH);
  const parts = path.split("/");
  for (let i = 0; i < parts.length; i++) if (parts[i].length > 0) addStringOption(m, Coap.URI_PATH, parts[i]);
}

export function hasUnknownCriticalOption(m: CoapMessage): boolean {
  for (let i = 0; i < m.options.length; i++) {
    const n = m.options[i].num;
    if (n & 1 && (n > 31 || !((Known.CRITICAL >> n) & 1))) return true;
  }
  return false;
}

// ---- Block1/Block2 (RFC 7959 section 2.2) ----

export function blockSize(szx: number): number {
  return 16 << szx;
}

export function encodeBlock(num: number, more: boolean, szx: number): number {
  return num * 16 + (more ? 8 : 0) + (szx & 7);
}

/** Decodes an option value; null for an absent option (-1), the reserved szx 7 or a value longer than 3 bytes. */
export function decodeBlock(v: number): BlockValue | null {
  if ((v & 7) === 7 || v > 0xffffff) return null;
  return { num: v >> 4, more: !!(v & 8), szx: v & 7 };
}

export function getBlockOption(m: CoapMessage, num: number): BlockValue | null {
  return decodeBlock(getUintOption(m, num));
}

export function addBlockOption(m: CoapMessage, num: number, block: number, more: boolean, szx: number): void {
  addUintOption(m, num, encodeBlock(block, more, szx));
}
