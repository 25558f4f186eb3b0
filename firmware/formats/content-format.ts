// CoAP content-format numbers and the dispatcher over the entry-based codecs.

import { Entry, TypeLookup } from "./model";
import { decodeOpaque, encodeOpaque } from "./opaque";
import { decodeSenmlCbor, encodeSenmlCbor } from "./senml-cbor";
import { decodeSenmlJson, encodeSenmlJson } from "./senml-json";
import { decodeText, encodeText } from "./text";
import { decodeTlv, encodeTlv } from "./tlv";

export const CF_TEXT = 0;
export const CF_LINK = 40;
export const CF_OPAQUE = 42;
export const CF_CBOR = 60;
export const CF_SENML_JSON = 110;
export const CF_SENML_CBOR = 112;
export const CF_TLV = 11542;
export const CF_LWM2M_JSON = 11543;

/** Formats encodeContent/decodeContent handle (link format has its own Link-based API). */
export function isSupportedFormat(format: number): boolean {
  return (
    format === CF_TLV || format === CF_SENML_CBOR || format === CF_SENML_JSON || format === CF_TEXT || format === CF_OPAQUE
  );
}

function unsupported(format: number): Error {
  return new Error("unsupported content format " + format);
}

export function encodeContent(format: number, base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  switch (format) {
    case CF_TLV:
      return encodeTlv(base, entries, types);
    case CF_SENML_CBOR:
      return encodeSenmlCbor(base, entries, types);
    case CF_SENML_JSON:
      return encodeSenmlJson(base, entries, types);
    case CF_TEXT:
      return encodeText(base, entries, types);
    case CF_OPAQUE:
      return encodeOpaque(base, entries, types);
  }
  throw unsupported(format);
}

export function decodeContent(format: number, base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  switch (format) {
    case CF_TLV:
      return decodeTlv(base, payload, types);
    case CF_SENML_CBOR:
      return decodeSenmlCbor(base, payload, types);
    case CF_SENML_JSON:
      return decodeSenmlJson(base, payload, types);
    case CF_TEXT:
      return decodeText(base, payload, types);
    case CF_OPAQUE:
      return decodeOpaque(base, payload, types);
  }
  throw unsupported(format);
}
