// Read responses shared by the DM and bootstrap interfaces: pick the content format, encode.
import { Entry } from "../formats/model";
import { CF_TEXT, CF_OPAQUE, CF_TLV, CF_LINK, encodeContent, isSupportedFormat } from "../formats/content-format";
import { Exchange } from "../coap/endpoint";
import { CONTENT, NOT_ACCEPTABLE, CONTENT_FORMAT, CoapOption } from "../coap/message";
import { Registry, MULTI, resDef } from "./registry";
import { uintOpt } from "./conn";
import { T_OPAQUE } from "../formats/model";

export interface Encoded {
  code: number;
  format: number;
  payload: Uint8Array | null;
}

/** Reads path and encodes it in accept (-1: TLV, or text/opaque for a single resource). */
export function encodeRead(reg: Registry, path: number[], accept: number, check: boolean): Encoded {
  const out: Entry[] = [];
  const res: Encoded = { code: reg.read(path, out, check), format: accept, payload: null };
  if (res.code !== CONTENT) return res;
  const o = reg.obj(path[0]);
  const d = o && path.length > 2 ? resDef(o.def, path[2]) : null;
  const single = d !== null && (path.length === 4 || !(d[2] & MULTI));
  if (accept < 0) res.format = single ? (d && d[1] === T_OPAQUE ? CF_OPAQUE : CF_TEXT) : CF_TLV;
  const f = res.format;
  if (f === CF_LINK || !isSupportedFormat(f) || ((f === CF_TEXT || f === CF_OPAQUE) && !single)) {
    res.code = NOT_ACCEPTABLE;
    return res;
  }
  try {
    res.payload = encodeContent(f, path, out, reg.types);
  } catch (e) {
    res.code = NOT_ACCEPTABLE;
  }
  return res;
}

export function respondRead(ex: Exchange, reg: Registry, path: number[], accept: number, check: boolean, extra?: CoapOption): void {
  const r = encodeRead(reg, path, accept, check);
  if (r.code !== CONTENT) return ex.respond(r.code);
  const opts = [uintOpt(CONTENT_FORMAT, r.format)];
  if (extra) opts.unshift(extra);
  ex.respond(CONTENT, opts, r.payload);
}
