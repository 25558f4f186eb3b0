// CoAP content-format numbers and the dispatcher over the entry-based codecs.

import { fail } from "../lib/bytes";
import { Entry, TypeLookup } from "./model";
import { decodeSenml, encodeSenml } from "./senml";
import { decodeSingle, encodeSingle } from "./text";
import { decodeTlv, encodeTlv } from "./tlv";

export const CF_TEXT = 0;
export const CF_LINK = 40;
export const CF_OPAQUE = 42;
export const CF_CBOR = 60;
export const CF_SENML_JSON = 110;
export const CF_SENML_CBOR = 112;
export const CF_TLV = 11542;
export const CF_LWM2M_JSON = 11543;

/** The formats encodeContent/decodeContent handle (link format has its own Link-based API). */
export function isSupportedFormat(f: number): boolean {
  return f === CF_TLV || f === CF_SENML_CBOR || f === CF_SENML_JSON || f === CF_TEXT || f === CF_OPAQUE;
}

export function encodeContent(f: number, base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  return f === CF_TLV ? encodeTlv(base, entries, types)
    : f === CF_SENML_JSON || f === CF_SENML_CBOR ? encodeSenml(base, entries, types, f === CF_SENML_JSON)
    : f === CF_TEXT || f === CF_OPAQUE ? encodeSingle(base, entries, types, f === CF_OPAQUE)
    : fail("unsupported content format " + f);
}

export function decodeContent(f: number, base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  return f === CF_TLV ? decodeTlv(base, payload, types)
    : f === CF_SENML_JSON || f === CF_SENML_CBOR ? decodeSenml(base, payload, types, f === CF_SENML_JSON)
    : f === CF_TEXT || f === CF_OPAQUE ? decodeSingle(base, payload, types, f === CF_OPAQUE)
    : fail("unsupported content format " + f);
}
