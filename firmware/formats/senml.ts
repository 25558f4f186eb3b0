// SenML JSON (content-format 110) and SenML CBOR (112), RFC 8428 with the LwM2M 1.1 "vlo"
// label. Records are objects keyed by the JSON label names (bn, n, v, vs, vb, vd, vlo); CBOR
// uses RFC 8428's integer labels for them (vlo stays text) and carries vd as bytes.

import { base64urlDecode, base64urlEncode, fail, utf8Decode, utf8Encode } from "../lib/bytes";
import { decodeCbor, encodeCbor } from "./cbor";
import { Entry, ObjLink, TypeLookup, Value, parsePath, pathStartsWith, pathToString, Model } from "./model";
import { fitsType, parseObjLink, typeFor } from "./values";

// CBOR map key (as decodeCbor spells it) -> SenML label.
const LABELS: any = {
  "-1": "bver", "-2": "bn", "-3": "bt", "-4": "bu",
  "0": "n", "1": "u", "2": "v", "3": "vs", "4": "vb", "6": "t", "7": "ut", "8": "vd", vlo: "vlo",
};
const KEYS: any = {};
for (const k in LABELS) {
  const n = Number(k);
  KEYS[LABELS[k]] = n === n ? n : k;
}

/** The JS type each label's value must have ("" = accepted and ignored); vd is bytes in CBOR. */
const LABEL_TYPES: { [label: string]: string } = {
  bn: "string", n: "string", vs: "string", vlo: "string", vd: "string", v: "number", vb: "boolean",
  bt: "", t: "", bver: "", bu: "", u: "", ut: "",
};

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
    if (!prefix) prefix = p.slice(0, p.length - 1);
    let n = 0;
    while (n < prefix.length && n < p.length - 1 && prefix[n] === p[n]) n++;
    prefix.length = n;
  }
  const depth = prefix ? prefix.length : 0;
  const out: any[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    const v = e.value;
    if (v === null) continue;
    const rec: any = {};
    if (out.length === 0 && depth > 0) rec.bn = pathToString(prefix as number[]) + "/";
    rec.n = depth > 0 ? e.path.slice(depth).join("/") : pathToString(e.path);
    const t = typeFor(types, e.path, v);
    if (t === Model.T_STRING || t === Model.T_CORELNK) rec.vs = v;
    else if (t === Model.T_BOOLEAN) rec.vb = v;
    else if (t === Model.T_OPAQUE) rec.vd = json ? base64urlEncode(v as Uint8Array) : v;
    else if (t === Model.T_OBJLNK) rec.vlo = (v as ObjLink).objectId + ":" + (v as ObjLink).instanceId;
    else rec.v = v;
    out.push(rec);
  }
  return json ? utf8Encode(JSON.stringify(out)) : encodeCbor(out, KEYS);
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
    expect(typeof rec === "object" && rec !== null && !Array.isArray(rec) && !(rec instanceof Uint8Array), "record");
    let n = "";
    let value: Value | null = null;
    const keys = Object.keys(rec);
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j];
      const x = rec[key];
      const label = json ? key : LABELS.hasOwnProperty(key) ? LABELS[key] : "";
      const want = LABEL_TYPES.hasOwnProperty(label) ? LABEL_TYPES[label] : fail("senml: unknown label " + key);
      if (!want) continue; // times and units carry nothing for LwM2M
      expect(label === "vd" && !json ? x instanceof Uint8Array : typeof x === want, label);
      if (label === "bn") bn = x;
      else if (label === "n") n = x;
      else {
        expect(value === null, "record: several values");
        value = label === "vlo" ? parseObjLink(x) : label === "vd" && json ? base64urlDecode(x) : x;
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
