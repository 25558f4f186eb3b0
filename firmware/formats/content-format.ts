// CoAP content-format numbers and the dispatcher over the entry-based codecs.

import { fail } from "../lib/bytes";
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

type Encoder = (base: number[], entries: Entry[], types: TypeLookup) => Uint8Array;
type Decoder = (base: number[], payload: Uint8Array, types: TypeLookup) => Entry[];

/** The formats encodeContent/decodeContent handle (link format has its own Link-based API). */
const FORMATS = [CF_TLV, CF_SENML_CBOR, CF_SENML_JSON, CF_TEXT, CF_OPAQUE];
const ENCODERS: Encoder[] = [encodeTlv, encodeSenmlCbor, encodeSenmlJson, encodeText, encodeOpaque];
const DECODERS: Decoder[] = [decodeTlv, decodeSenmlCbor, decodeSenmlJson, decodeText, decodeOpaque];

export function isSupportedFormat(format: number): boolean {
  return FORMATS.indexOf(format) >= 0;
}

function codec(format: number): number {
  const i = FORMATS.indexOf(format);
  if (i < 0) fail("unsupported content format " + format);
  return i;
}

export function encodeContent(format: number, base: number[], entries: Entry[], types: TypeLookup): Uint8Array {
  return ENCODERS[codec(format)](base, entries, types);
}

export function decodeContent(format: number, base: number[], payload: Uint8Array, types: TypeLookup): Entry[] {
  return DECODERS[codec(format)](base, payload, types);
}
