// Opaque (content-format 42): see text.ts.
import { Entry, TypeLookup } from "./model";
import { decodeSingle, encodeSingle } from "./text";

export function encodeOpaque(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  return encodeSingle(base, entries, types, true);
}

export function decodeOpaque(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  return decodeSingle(base, payload, types, true);
}
