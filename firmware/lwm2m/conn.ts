// One server account's transport: a HAL link (with DTLS for coaps://) and its CoAP endpoint.
import { Scheduler } from "../lib/scheduler";
import { logWrn } from "../lib/log";
import { CoapEndpoint, Exchange, ResponseHandler } from "../coap/endpoint";
import { CoapOption, CON, URI_PATH, URI_QUERY, CONTENT_FORMAT, uintBytes } from "../coap/message";
import { utf8Encode } from "../lib/bytes";
import { LinkOwner, linkOpen, linkSend, linkClose } from "../hal/link";
import { random } from "../hal/rng";
import { parseUri } from "./uri";

export function strOpt(num: number, s: string): CoapOption {
  return { num: num, value: utf8Encode(s) };
}

export function uintOpt(num: number, v: number): CoapOption {
  return { num: num, value: uintBytes(v) };
}

export class Conn implements LinkOwner {
  ep: CoapEndpoint | null = null;
  private handle = -1;
  /** Called once the link can carry requests (at once for coap://), or false on failure. */
  onUp: (ok: boolean) => void = function () {};
  onRequest: (ex: Exchange) => void = function () {};
  onObserveCancel: (token: Uint8Array) => void = function () {};

  constructor(private sched: Scheduler, readonly uri: string, private credential: number) {}

  /** Opens the link; false when the URI or the HAL refuses (onUp is not called then). */
  open(): boolean {
    const u = parseUri(this.uri);
    if (!u) return false;
    const h = linkOpen(u.host, u.port, this);
    if (h < 0) {
      logWrn("lwm2m", "link to " + this.uri + " failed: " + h);
      return false;
    }
    this.handle = h;
    const self = this;
    const ep = new CoapEndpoint(this, this.sched, random);
    ep.onRequest = function (ex: Exchange) {
      self.onRequest(ex);
    };
    ep.onObserveCancel = function (token: Uint8Array) {
      self.onObserveCancel(token);
    };
    this.ep = ep;
    if (u.secure) {
      const rc = __hal.dtls_open(h, this.credential);
      if (rc < 0) {
        this.close();
        return false;
      }
    } else this.onUp(true);
    return true;
  }

  send(bytes: Uint8Array): void {
    if (this.handle >= 0) linkSend(this.handle, bytes);
  }

  rx(data: Uint8Array): void {
    if (this.ep) this.ep.receive(data);
  }

  error(code: number): void {
    logWrn("lwm2m", "link error " + code + " (" + this.uri + ")");
  }

  dtls(connected: boolean, alert: number): void {
    if (!connected) logWrn("lwm2m", "DTLS alert " + alert + " (" + this.uri + ")");
    this.onUp(connected);
  }

  /** Sends a confirmable request to path ("rd/5a3f"), with queries and an optional body. */
  request(code: number, path: string[], query: string[], format: number, payload: Uint8Array | null, fn: ResponseHandler): number {
    const opts: CoapOption[] = [];
    for (let i = 0; i < path.length; i++) opts.push(strOpt(URI_PATH, path[i]));
    if (format >= 0) opts.push(uintOpt(CONTENT_FORMAT, format));
    for (let i = 0; i < query.length; i++) opts.push(strOpt(URI_QUERY, query[i]));
    if (!this.ep) {
      fn(null, "closed");
      return 0;
    }
    return this.ep.request(CON, code, opts, payload, fn);
  }

  close(): void {
    const ep = this.ep;
    this.ep = null;
    if (this.handle >= 0) {
      if (this.uri.charAt(4) === "s") __hal.dtls_close(this.handle);
      linkClose(this.handle);
      this.handle = -1;
    }
    if (ep) ep.close();
  }
}
