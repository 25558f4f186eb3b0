// CoAP content-format numbers and the dispatcher over the entry-based codecs.

import { fail } from "../lib/bytes";
import { Entry, TypeLookup } from "./model";
import { decodeSenml, encodeSenml } from "./senml";
import { decodeSingle, encodeSingle } from "./text";
import { decodeTlv, encodeTlv } from "./tlv";

export const enum Cf {
  CF_TEXT = 0,
  CF_LINK = 40,
  CF_OPAQUE = 42,
  CF_CBOR = 60,
  CF_SENML_JSON = 110,
  CF_SENML_CBOR = 112,
  CF_TLV = 11542,
  CF_LWM2M_JSON = 11543,
}
// The plain names the tests import (unused ones are left out of the bundle).
export const CF_TEXT = Cf.CF_TEXT;
export const CF_LINK = Cf.CF_LINK;
export const CF_OPAQUE = Cf.CF_OPAQUE;
export const CF_CBOR = Cf.CF_CBOR;
export const CF_SENML_JSON = Cf.CF_SENML_JSON;
export const CF_SENML_CBOR = Cf.CF_SENML_CBOR;
export const CF_TLV = Cf.CF_TLV;
export const CF_LWM2M_JSON = Cf.CF_LWM2M_JSON;

/** The formats encodeContent/decodeContent handle (link format has its own Link-based API). */
export function isSupportedFormat(f: number): boolean {
  return " 11542 112 110 0 42 ".indexOf(" " + f + " ") >= 0; // TLV, SenML CBOR and JSON, text, opaque
}

// The codecs' flag is bit 1 of the format: SenML JSON (110) rather than CBOR (112), opaque (42)
// rather than text (0).

/** The codec of format f among TLV's, SenML's and the single-value formats'. */
function pick<F>(f: number, tlv: F, senml: F, single: F): F {
  return f === Cf.CF_TLV ? tlv : f === Cf.CF_SENML_JSON || f === Cf.CF_SENML_CBOR ? senml
    : f === Cf.CF_TEXT || f === Cf.CF_OPAQUE ? single : fail("unsupported content format " + f);
}

export function encodeContent(f: number, base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  return pick(f, encodeTlv, encodeSenml, encodeSingle)(base, entries, types, (f & 2) > 0);
}

export function decodeContent(f: number, base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  return pick(f, decodeTlv, decodeSenml, decodeSingle)(base, payload, types, (f & 2) > 0);
}
