// SenML CBOR (content-format 112): see senml.ts.
import { Entry, TypeLookup } from "./model";
import { decodeSenml, encodeSenml } from "./senml";

export function encodeSenmlCbor(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  return encodeSenml(base, entries, types, false);
}

export function decodeSenmlCbor(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  return decodeSenml(base, payload, types, false);
}
