// One server account's transport: a HAL link (with DTLS for coaps://) and its CoapEndpoint.
// A plain object; its callbacks are module functions that find their state through ctx.
import { Scheduler } from "../lib/scheduler";
import { logWrn } from "../lib/log";
import { CoapEndpoint, Exchange, ResponseHandler } from "../coap/endpoint";
import { CoapOption, strOpt, uintOpt, Coap } from "../coap/message";
import { linkOpen, linkClose } from "../hal/link";
import { random } from "../hal/rng";
import { Hal } from "../hal/codes";
import { parseUri } from "./uri";

export { strOpt, uintOpt } from "../coap/message";

export interface Conn {
  /** Closed (requests fail at once) when the link is. */
  ep: CoapEndpoint;
  uri: string;
  handle: number;
  /** Called once the link can carry requests (at once for coap://), or with false and the
   * TLS alert code on failure. */
  onUp: (ok: boolean, c: Conn, alert?: number) => void;
  /** Transport.send */
  send(bytes: Uint8Array): void;
  /** LinkOwner.link */
  link(kind: number, arg: number, data?: Uint8Array): void;
}

function connSend(this: Conn, bytes: Uint8Array): void {
  if (this.handle >= 0) __hal.link_send(this.handle, bytes);
}

function connLink(this: Conn, kind: number, arg: number, data?: Uint8Array): void {
  if (kind === Hal.EV_LINK_RX) return this.ep.receive(data as Uint8Array);
  if (kind !== Hal.EV_DTLS_CONNECTED) logWrn("lwm2m", (kind === Hal.EV_LINK_ERROR ? "link error " : "DTLS alert ") + arg + " (" + this.uri + ")");
  if (kind !== Hal.EV_LINK_ERROR) this.onUp(kind === Hal.EV_DTLS_CONNECTED, this, arg);
}

/**
 * Opens a link to uri (DTLS with the credential handle for coaps://); onRequest and response
 * handlers get ctx. null when the URI or the HAL refuses (onUp is not called then).
 */
export function openConn(sched: Scheduler, uri: string, credential: number, ctx: any,
  onUp: (ok: boolean, c: Conn, alert?: number) => void, onRequest: (ex: Exchange, ctx?: any) => void): Conn | null {
  const c: Conn = { ep: null as any, uri: uri, handle: -1, onUp: onUp, send: connSend, link: connLink };
  const ep = (c.ep = new CoapEndpoint(c, sched, random));
  ep.ctx = ctx;
  ep.onRequest = onRequest;
  const u = parseUri(uri);
  const h = (c.handle = u ? linkOpen(u.host, u.port, c) : -1);
  if (!u || h < 0) logWrn("lwm2m", "link failed: " + h + " (" + uri + ")");
  else if (!u.secure || __hal.dtls_open(h, credential) >= 0) {
    if (!u.secure) onUp(true, c);
    return c;
  }
  closeConn(c);
  return null;
}

/** Sends a confirmable request to path ("rd/5a3f"), with queries and an optional body. */
export function connRequest(c: Conn, code: number, path: string[], query: string[], format: number, payload: Uint8Array | null, fn: ResponseHandler): void {
  // the message encoder puts the options in order (stable for the repeated ones)
  const opts: CoapOption[] = format >= 0 ? [uintOpt(Coap.CONTENT_FORMAT, format)] : [];
  const all = path.concat(query);
  for (let i = 0; i < all.length; i++) opts.push(strOpt(i < path.length ? Coap.URI_PATH : Coap.URI_QUERY, all[i]));
  c.ep.request(Coap.CON, code, opts, payload, fn);
}

export function closeConn(c: Conn): void {
  if (c.handle >= 0) {
    if (c.uri.charAt(4) === "s") __hal.dtls_close(c.handle);
    linkClose(c.handle);
    c.handle = -1;
  }
  c.ep.close();
}
