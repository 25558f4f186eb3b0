// OMA TLV (content-format 11542), LwM2M 1.1 Core section 7.4.3.

import {
  EMPTY_BYTES, Reader, fail, putBytes, putNum, readFloat, readInt, skip, utf8Decode, utf8Encode, writer, written,
} from "../lib/bytes";
import { Entry, TypeLookup, Value, pathStartsWith, pathToString, Model } from "./model";
import { typeFor } from "./values";

const enum K {
  OBJ_INST = 0x00,
  RES_INST = 0x40,
  MULTI = 0x80,
  RES = 0xc0,
}

// Small tables as hex digits, read with (TABLE >> (4 * index)) & 15.
const enum L {
  /** By element type (bits 7-6): the path level its identifier sits at (1, 3, 2, 2). */
  LEVELS = 0x2231,
  /** By base path length (1..4): the depth of its elements' identifiers (1, 2, 2, 3). */
  DEPTHS = 0x32210,
}

function comparePaths(a: Entry, b: Entry): number {
  const p = a.path;
  const q = b.path;
  for (let k = 0; k < p.length && k < q.length; k++) if (p[k] !== q[k]) return p[k] - q[k];
  return p.length - q.length;
}

function encodeValue(path: number[], v: any, types: TypeLookup): Uint8Array {
  if (v === null) fail("tlv: no value for " + pathToString(path));
  const t = typeFor(types, path, v);
  if (t === Model.T_STRING || t === Model.T_CORELNK) return utf8Encode(v);
  if (t === Model.T_OPAQUE) return v;
  const w = writer();
  let n = 1; // a boolean: one byte, 1 or 0
  if (t === Model.T_OBJLNK) {
    v = v.objectId * 65536 + v.instanceId;
    n = 4;
  } else if (t === Model.T_FLOAT) {
    // float32 when it holds v exactly
    putNum(w, v, 4, true);
    n = readFloat(w.b, 0, 4) === v || v !== v ? 4 : 8;
    w.n = 0;
  } else if (t !== Model.T_BOOLEAN) {
    // the smallest of 1, 2, 4 or 8 bytes that holds the integer v
    for (; n < 8; n *= 2) {
      const lim = Math.pow(2, 8 * n - (t === Model.T_UNSIGNED ? 0 : 1));
      if (v < lim && v >= -lim) break;
    }
  }
  putNum(w, v, n, t === Model.T_FLOAT);
  return written(w);
}

// Encodes sorted entries [from, to) whose ids at `depth` become the elements of this level.
function encodeLevel(list: Entry[], from: number, to: number, depth: number, types: TypeLookup): Uint8Array {
  const w = writer();
  let i = from;
  while (i < to) {
    const e = list[i];
    if (e.path.length <= depth) {
      // an "exists" marker of the enclosing element, already written as that element
      if (e.value !== null) fail("tlv: value above its level at " + pathToString(e.path));
      i++;
      continue;
    }
    const id = e.path[depth];
    let j = i + 1;
    while (j < to && list[j].path[depth] === id) j++;
    let type = depth === 1 ? K.OBJ_INST : K.MULTI;
    let body: Uint8Array = EMPTY_BYTES;
    // an object instance, or a resource with instances (sorted last among its entries)
    if (depth === 1 || (depth === 2 && list[j - 1].path.length === 4)) body = encodeLevel(list, i, j, depth + 1, types);
    else {
      if (j - i > 1) fail("tlv: duplicate entry " + pathToString(e.path));
      // [o,i,r] without a value: a multiple resource with no instances
      if (depth === 3) type = K.RES_INST;
      else if (e.value !== null) type = K.RES;
      if (type !== K.MULTI) body = encodeValue(e.path, e.value, types);
    }
    const len = body.length;
    if (!(id >= 0 && id <= 65535)) fail("tlv: bad identifier");
    if (len > 0xffffff) fail("tlv: value too long");
    const lt = len < 8 ? 0 : len < 0x100 ? 1 : len < 0x10000 ? 2 : 3;
    const wide = id > 255 ? 1 : 0; // a 16-bit identifier
    putNum(w, type | (wide << 5) | (lt << 3) | (lt ? 0 : len), 1);
    putNum(w, id, wide + 1);
    putNum(w, len, lt);
    putBytes(w, body);
    i = j;
  }
  return written(w);
}

/**
 * base [o]: object instances; [o,i]: resources; [o,i,r]: one resource (a multiple resource
 * when entries are resource instances); [o,i,r,ri]: one resource instance.
 */
export function encodeTlv(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  checkBase(base);
  for (let k = 0; k < entries.length; k++) {
    const p = entries[k].path;
    if (p.length < 2 || p.length > 4 || !pathStartsWith(p, base)) fail("tlv: entry outside " + pathToString(base));
  }
  const sorted = entries.slice().sort(comparePaths);
  return encodeLevel(sorted, 0, sorted.length, (L.DEPTHS >> (base.length * 4)) & 15, types);
}

function decodeValue(v: Uint8Array, t: number): Value {
  const n = v.length;
  switch (t) {
    case Model.T_STRING:
    case Model.T_CORELNK:
      return utf8Decode(v);
    case Model.T_INTEGER:
    case Model.T_TIME:
    case Model.T_UNSIGNED:
      if (n & (n - 1) || !(n & 15)) fail("tlv: bad integer length"); // 1, 2, 4 or 8
      return readInt(v, 0, n, t !== Model.T_UNSIGNED);
    case Model.T_FLOAT:
      if (n !== 4 && n !== 8) fail("tlv: bad float length");
      return readFloat(v, 0, n);
    case Model.T_BOOLEAN:
      if (n !== 1 || v[0] > 1) fail("tlv: bad boolean");
      return v[0] === 1;
    case Model.T_OBJLNK:
      if (n !== 4) fail("tlv: bad objlnk length");
      return { objectId: (v[0] << 8) | v[1], instanceId: (v[2] << 8) | v[3] };
  }
  return new Uint8Array(v); // opaque, or unknown type: the raw bytes
}

// Decodes the elements in b[pos, end) below `parent`. Only the top level may restate the last
// id of the base path (a wrapper) or omit the instance (Create on /o), so nesting stays <= 3.
function decodeLevel(b: Uint8Array, pos: number, end: number, parent: number[], top: boolean, out: Entry[], types: TypeLookup): void {
  const r: Reader = { b: b, n: pos, end: end, name: "tlv" };
  while (r.n < end) {
    const t = b[skip(r, 1)];
    const k = t & 0x20 ? 2 : 1;
    const id = readInt(b, skip(r, k), k, false);
    const lt = (t >> 3) & 3;
    const len = lt ? readInt(b, skip(r, lt), lt, false) : t & 7;
    if (len > end - r.n) fail("tlv: length past end");
    const start = r.n;
    r.n += len;
    const kind = t & 0xc0;
    const level = (L.LEVELS >> ((t >> 6) * 4)) & 15;
    const path: number[] = level === parent.length ? parent.concat([id])
      : top && level === parent.length - 1 && parent[level] === id ? parent.slice()
      : top && level === 2 && parent.length === 1 ? [parent[0], Model.NO_ID, id]
      : fail("tlv: unexpected element at " + pathToString(parent));
    if (!(kind & K.RES_INST)) {
      // an object instance or a multiple resource: elements inside
      const count = out.length;
      decodeLevel(b, start, start + len, path, false, out, types);
      if (out.length === count) out.push({ path: path, value: null });
    } else {
      out.push({ path: path, value: decodeValue(b.subarray(start, start + len), types(path[0], path[2])) });
    }
  }
}

function checkBase(base: number[]): void {
  if (base.length < 1 || base.length > 4) fail("tlv: bad base path");
}

export function decodeTlv(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  checkBase(base);
  const out: Entry[] = [];
  decodeLevel(payload, 0, payload.length, base, true, out, types);
  return out;
}
