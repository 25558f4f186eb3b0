// Request and response plumbing shared by the DM and bootstrap interfaces: the LwM2M path of a
// request, payload decoding, read responses in the negotiated content format, link answers.
import { Entry, parsePath, pathToString, Model } from "../formats/model";
import { encodeContent, decodeContent, isSupportedFormat, Cf } from "../formats/content-format";
import { Exchange } from "../coap/endpoint";
import { CoapMessage, getUintOption, getStringOptions, Coap } from "../coap/message";
import { logWrn } from "../lib/log";
import { utf8Encode } from "../lib/bytes";
import { Registry, ReadCheck, resDef, Reg } from "./registry";
import { uintOpt } from "./conn";

export interface Encoded {
  code: number;
  format: number;
  payload: Uint8Array | null;
}

/** The request's Uri-Path as an LwM2M path; null when it is not one. */
export function requestPath(req: CoapMessage): number[] | null {
  try {
    return parsePath("/" + getStringOptions(req, Coap.URI_PATH).join("/"));
  } catch (e) {
    return null;
  }
}

/** The request payload decoded against path, or the CoAP error code to answer. */
export function decodeRequest(reg: Registry, path: number[], req: CoapMessage): Entry[] | number {
  const cf = getUintOption(req, Coap.CONTENT_FORMAT);
  if (cf < 0 || !req.payload) return Coap.BAD_REQUEST;
  if (!isSupportedFormat(cf)) return Coap.UNSUPPORTED_CONTENT_FORMAT;
  try {
    return decodeContent(cf, path, req.payload, reg.types);
  } catch (e) {
    logWrn("lwm2m", "payload for " + pathToString(path) + ": " + (e as Error).message);
    return Coap.BAD_REQUEST;
  }
}

/** Reads path and encodes it in accept (-1: TLV, or text/opaque for a single resource). */
export function encodeRead(reg: Registry, path: number[], accept: number, check: ReadCheck): Encoded {
  const out: Entry[] = [];
  const res: Encoded = { code: reg.read(path, out, check), format: accept, payload: null };
  if (res.code !== Coap.CONTENT) return res;
  const d = resDef(reg.obj(path[0]), path[2]);
  const single = !!d && (path.length === 4 || !(d & Reg.MULTI));
  if (accept < 0) res.format = single ? (((d >> 5) & 15) === Model.T_OPAQUE ? Cf.CF_OPAQUE : Cf.CF_TEXT) : Cf.CF_TLV;
  const f = res.format;
  res.code = Coap.NOT_ACCEPTABLE;
  if (isSupportedFormat(f) && (single || (f !== Cf.CF_TEXT && f !== Cf.CF_OPAQUE))) {
    try {
      res.payload = encodeContent(f, path, out, reg.types);
      res.code = Coap.CONTENT;
    } catch (e) {}
  }
  return res;
}

/** Answers with the content of path, with an Observe option when observe >= 0; returns what was read. */
export function respondRead(ex: Exchange, reg: Registry, path: number[], accept: number, check: ReadCheck, observe: number): Encoded {
  const r = encodeRead(reg, path, accept, check);
  const cf = uintOpt(Coap.CONTENT_FORMAT, r.format);
  // the payload is null but for CONTENT
  ex.respond(r.code, r.code !== Coap.CONTENT ? [] : observe >= 0 ? [uintOpt(Coap.OBSERVE, observe), cf] : [cf], r.payload);
  return r;
}

/** Answers with a link-format document. */
export function respondLinks(ex: Exchange, links: string): void {
  ex.respond(Coap.CONTENT, [uintOpt(Coap.CONTENT_FORMAT, Cf.CF_LINK)], utf8Encode(links));
}
