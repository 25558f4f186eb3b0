// Opaque (content-format 42, application/octet-stream): one opaque resource value as raw bytes.

import { copyBytes, fail } from "../lib/bytes";
import { Entry, TypeLookup, T_NONE, T_OPAQUE } from "./model";
import { checkResourceBase, singleEntry } from "./values";

function checkOpaque(base: number[], types: TypeLookup): void {
  const t = types(base[0], base[2]);
  if (t !== T_NONE && t !== T_OPAQUE) fail("opaque: resource is not opaque");
}

export function encodeOpaque(base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  const v = singleEntry(base, entries, "opaque").value;
  checkOpaque(base, types);
  if (!(v instanceof Uint8Array)) fail("opaque: value is not bytes");
  return v;
}

export function decodeOpaque(base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  checkResourceBase(base, "opaque");
  checkOpaque(base, types);
  return [{ path: base.slice(), value: copyBytes(payload) }];
}
