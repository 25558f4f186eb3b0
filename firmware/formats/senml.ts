// SenML JSON (content-format 110) and SenML CBOR (112), RFC 8428 with the LwM2M 1.1 "vlo"
// label. Records are objects keyed by the JSON label names (bn, n, v, vs, vb, vd, vlo); CBOR
// uses RFC 8428's integer labels for them (vlo stays text) and carries vd as bytes.

import { base64urlDecode, base64urlEncode, fail, utf8Decode, utf8Encode } from "../lib/bytes";
import { decodeCbor, encodeCbor } from "./cbor";
import { Entry, ObjLink, TypeLookup, Value, parsePath, pathStartsWith, pathToString, Model } from "./model";
import { fitsType, parseObjLink, typeFor } from "./values";

// The SenML labels by RFC 8428 CBOR key + 4 (-4..8, no label has key 5), then vlo, which has
// no integer key and stays text; the CBOR keys as decodeCbor spells them; and the first letter
// of the JS type each label's value must have ("-": accepted and ignored, " ": no such label).
// vd is bytes in CBOR.
const LABELS = "bu bt bn bver n u v vs vb _ t ut vd vlo".split(" ");
const CBOR_KEYS = "-4 -3 -2 -1 0 1 2 3 4 _ 6 7 8 vlo".split(" ");
const TYPES = "--s-s-nsb --ss";
const enum L {
  BN = 2,
  N = 4,
  VD = 12,
  VLO = 13,
}

/** The CBOR map key of a label: its integer key, vlo as text. */
function cborKey(label: string): string | number {
  const i = LABELS.indexOf(label);
  return i < 13 ? i - 4 : label;
}

/**
 * One record per valued entry. The first record's base name is the longest path prefix shared
 * by all entries that still leaves every name at least one level ("/3/0/" + "0" for a read of
 * /3/0). Entries with a null value ("instance exists") have no SenML form and are left out.
 */
export function encodeSenml(base: number[], entries: Entry[], types: TypeLookup, json: boolean): Uint8Array {
  let prefix: number[] | null = null;
  for (let k = 0; k < entries.length; k++) {
    const p = entries[k].path;
    if (!pathStartsWith(p, base)) fail("senml: entry outside " + pathToString(base));
    if (entries[k].value === null) continue;
    if (p.length < 3) fail("senml: value above resource level");
    prefix = prefix || p.slice(0, -1);
    // past the prefix's end its undefined matches no id
    let n = 0;
    while (n < p.length - 1 && prefix[n] === p[n]) n++;
    prefix.length = n;
  }
  const depth = prefix ? prefix.length : 0;
  const out: any[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    const v = e.value;
    if (v === null) continue;
    const rec: any = {};
    if (!out.length && depth) rec.bn = pathToString(prefix as number[]) + "/";
    rec.n = (depth ? "" : "/") + e.path.slice(depth).join("/");
    const t = typeFor(types, e.path, v);
    rec[t === Model.T_STRING || t === Model.T_CORELNK ? "vs" : t === Model.T_BOOLEAN ? "vb" : t === Model.T_OPAQUE ? "vd" : t === Model.T_OBJLNK ? "vlo" : "v"] =
      t === Model.T_OPAQUE && json ? base64urlEncode(v as Uint8Array) : t === Model.T_OBJLNK ? (v as ObjLink).objectId + ":" + (v as ObjLink).instanceId : v;
    out.push(rec);
  }
  return json ? utf8Encode(JSON.stringify(out)) : encodeCbor(out, cborKey);
}

function expect(ok: boolean, label: string): void {
  if (!ok) fail("senml: bad " + label);
}

/** A pack to entries with full paths. */
export function decodeSenml(base: number[], payload: Uint8Array, types: TypeLookup, json: boolean): Entry[] {
  let list: any;
  if (json) {
    const text = utf8Decode(payload);
    try {
      list = JSON.parse(text);
    } catch (e) {
      fail("senml: malformed JSON");
    }
  } else list = decodeCbor(payload);
  expect(Array.isArray(list), "pack");
  const out: Entry[] = [];
  let bn = "";
  for (let k = 0; k < list.length; k++) {
    const rec = list[k];
    // a plain object: not null, an array or bytes
    expect(({} as any).toString.call(rec) === "[object Object]", "record");
    let n = "";
    let value: Value | null = null;
    const keys = Object.keys(rec);
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j];
      const x = rec[key];
      const i = (json ? LABELS : CBOR_KEYS).indexOf(key);
      const label = LABELS[i];
      const want = TYPES.charAt(i); // "" when i = -1
      if (want <= " ") fail("senml: unknown label " + key);
      if (want === "-") continue; // times and units carry nothing for LwM2M
      expect(i === L.VD && !json ? x instanceof Uint8Array : (typeof x).charAt(0) === want, label);
      if (i === L.BN) bn = x;
      else if (i === L.N) n = x;
      else {
        expect(value === null, "record: several values");
        value = i === L.VLO ? parseObjLink(x) : i === L.VD && json ? base64urlDecode(x) : x;
      }
    }
    const path = parsePath(bn + n);
    if (!pathStartsWith(path, base)) fail("senml: " + pathToString(path) + " outside the request path");
    if (value !== null) {
      expect(path.length >= 3, "record: value above resource level");
      const t = types(path[0], path[2]);
      if (t !== Model.T_NONE && !fitsType(t, value)) fail("senml: type mismatch at " + pathToString(path));
    }
    out.push({ path: path, value: value });
  }
  return out;
}
