// SenML JSON (content-format 110), RFC 8428 with the LwM2M 1.1 "vlo" label.

import { fail, utf8Decode, utf8Encode } from "../lib/bytes";
import { Entry, TypeLookup } from "./model";
import { fromRecords, toRecords } from "./senml";

export function encodeSenmlJson(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  return utf8Encode(JSON.stringify(toRecords(base, entries, types, true)));
}

export function decodeSenmlJson(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  const text = utf8Decode(payload);
  let list: any;
  try {
    list = JSON.parse(text);
  } catch (e) {
    fail("senml: malformed JSON");
  }
  return fromRecords(base, list, types, true);
}
