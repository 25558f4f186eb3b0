// SenML records <-> entries, shared by SenML JSON and SenML CBOR. Records here are objects
// keyed by the JSON label names (bn, n, v, vs, vb, vd, vlo), in the order they are written.

import { base64urlDecode, base64urlEncode, fail } from "../lib/bytes";
import {
  Entry, TypeLookup, Value, parsePath, pathStartsWith, pathToString,
  T_NONE, T_STRING, T_BOOLEAN, T_OPAQUE, T_OBJLNK, T_CORELNK,
} from "./model";
import { fitsType, objLinkToString, parseObjLink, typeFor } from "./values";

/**
 * One record per valued entry. The first record's base name is the longest path prefix shared
 * by all entries that still leaves every name at least one level ("/3/0/" + "0" for a read of
 * /3/0). Entries with a null value ("instance exists") have no SenML form and are left out.
 */
export function toRecords(base: number[], entries: Entry[], types: TypeLookup, json: boolean): any[] {
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
    if (t === T_STRING || t === T_CORELNK) rec.vs = v;
    else if (t === T_BOOLEAN) rec.vb = v;
    else if (t === T_OPAQUE) rec.vd = json ? base64urlEncode(v as Uint8Array) : v;
    else if (t === T_OBJLNK) rec.vlo = objLinkToString(v as any);
    else rec.v = v;
    out.push(rec);
  }
  return out;
}

/** The JS type each label's value must have ("" = accepted and ignored); vd is bytes in CBOR. */
const LABEL_TYPES: { [label: string]: string } = {
  bn: "string", n: "string", vs: "string", vlo: "string", vd: "string", v: "number", vb: "boolean",
  bt: "", t: "", bver: "", bu: "", u: "", ut: "",
};

function expect(ok: boolean, label: string): void {
  if (!ok) fail("senml: bad " + label);
}

/** Records (label-keyed objects) to entries with full paths; vd is base64url text when json. */
export function fromRecords(base: number[], list: any, types: TypeLookup, json: boolean): Entry[] {
  expect(Array.isArray(list), "pack");
  const out: Entry[] = [];
  let bn = "";
  for (let k = 0; k < list.length; k++) {
    const rec = list[k];
    expect(typeof rec === "object" && rec !== null && !Array.isArray(rec) && !(rec instanceof Uint8Array), "record");
    let n = "";
    let value: Value | null = null;
    const labels = Object.keys(rec);
    for (let j = 0; j < labels.length; j++) {
      const label = labels[j];
      const x = rec[label];
      const want = LABEL_TYPES.hasOwnProperty(label) ? LABEL_TYPES[label] : fail("senml: unknown label " + label);
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
      if (t !== T_NONE && !fitsType(t, value)) fail("senml: type mismatch at " + pathToString(path));
    }
    out.push({ path: path, value: value });
  }
  return out;
}
