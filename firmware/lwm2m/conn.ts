// One server account's transport: a HAL link (with DTLS for coaps://) and its CoAP endpoint.
import { Scheduler } from "../lib/scheduler";
import { logWrn } from "../lib/log";
import { CoapEndpoint, ResponseHandler } from "../coap/endpoint";
import { CoapOption, CON, URI_PATH, URI_QUERY, CONTENT_FORMAT, strOpt, uintOpt } from "../coap/message";
import { LinkOwner, linkOpen, linkSend, linkClose } from "../hal/link";
import { random } from "../hal/rng";
import { EV_LINK_ERROR, EV_DTLS_CONNECTED, EV_DTLS_ALERT } from "../hal/codes";
import { parseUri } from "./uri";

export { strOpt, uintOpt } from "../coap/message";

function connError(c: Conn, what: string): void {
  logWrn("lwm2m", what + " (" + c.uri + ")");
}

export class Conn implements LinkOwner {
  /** Set onRequest/onObserveCancel on it; closed (requests fail at once) when the link is. */
  readonly ep: CoapEndpoint;
  private handle = -1;
  /** Called once the link can carry requests (at once for coap://), or false on failure. */
  onUp: (ok: boolean) => void = function () {};

  constructor(sched: Scheduler, readonly uri: string, private credential: number) {
    this.ep = new CoapEndpoint(this, sched, random);
  }

  /** Opens the link; false when the URI or the HAL refuses (onUp is not called then). */
  open(): boolean {
    const u = parseUri(this.uri);
    const h = u ? linkOpen(u.host, u.port, this) : -1;
    if (!u || h < 0) {
      connError(this, "link failed: " + h);
      return false;
    }
    this.handle = h;
    if (!u.secure) this.onUp(true);
    else if (__hal.dtls_open(h, this.credential) < 0) {
      this.close();
      return false;
    }
    return true;
  }

  send(bytes: Uint8Array): void {
    if (this.handle >= 0) linkSend(this.handle, bytes);
  }

  rx(data: Uint8Array): void {
    this.ep.receive(data);
  }

  linkEvent(kind: number, arg: number): void {
    if (kind === EV_LINK_ERROR) return connError(this, "link error " + arg);
    if (kind === EV_DTLS_ALERT) connError(this, "DTLS alert " + arg);
    this.onUp(kind === EV_DTLS_CONNECTED);
  }

  /** Sends a confirmable request to path ("rd/5a3f"), with queries and an optional body. */
  request(code: number, path: string[], query: string[], format: number, payload: Uint8Array | null, fn: ResponseHandler): number {
    const opts: CoapOption[] = [];
    for (const p of path) opts.push(strOpt(URI_PATH, p));
    if (format >= 0) opts.push(uintOpt(CONTENT_FORMAT, format));
    for (const q of query) opts.push(strOpt(URI_QUERY, q));
    return this.ep.request(CON, code, opts, payload, fn);
  }

  close(): void {
    if (this.handle >= 0) {
      if (this.uri.charAt(4) === "s") __hal.dtls_close(this.handle);
      linkClose(this.handle);
      this.handle = -1;
    }
    this.ep.close();
  }
}
