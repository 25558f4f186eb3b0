// SenML JSON (content-format 110): see senml.ts.
import { Entry, TypeLookup } from "./model";
import { decodeSenml, encodeSenml } from "./senml";

export function encodeSenmlJson(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  return encodeSenml(base, entries, types, true);
}

export function decodeSenmlJson(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  return decodeSenml(base, payload, types, true);
}
