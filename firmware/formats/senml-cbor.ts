// SenML CBOR (content-format 112): RFC 8428 integer labels, plus the LwM2M 1.1 text label "vlo".

import { ByteWriter, fail } from "../lib/bytes";
import { decodeCbor, writeCbor, writeHead } from "./cbor";
import { Entry, TypeLookup } from "./model";
import { fromRecords, toRecords } from "./senml";

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

export function encodeSenmlCbor(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  const records = toRecords(base, entries, types, false);
  const w = new ByteWriter(64);
  writeHead(w, 4, records.length);
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    const labels = Object.keys(rec);
    writeHead(w, 5, labels.length);
    for (let j = 0; j < labels.length; j++) {
      writeCbor(w, KEYS[labels[j]]);
      writeCbor(w, rec[labels[j]]);
    }
  }
  return w.finish();
}

export function decodeSenmlCbor(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  const list = decodeCbor(payload);
  if (!Array.isArray(list)) fail("senml: bad pack");
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    if (typeof m !== "object" || m === null || Array.isArray(m) || m instanceof Uint8Array) fail("senml: bad record");
    const rec: any = {};
    for (const key in m) {
      if (!LABELS.hasOwnProperty(key)) fail("senml: unknown label " + key);
      rec[LABELS[key]] = m[key];
    }
    list[i] = rec;
  }
  return fromRecords(base, list, types, false);
}
