// One CoAP endpoint per server link: reliability (RFC 7252 section 4), request/response
// matching (section 5), server-side Block1/Block2 (RFC 7959) and observe notifications
// (RFC 7641). Every deadline lives on the endpoint's single scheduler timer.
import { Scheduler } from "../lib/scheduler";
import { logDbg, logWrn } from "../lib/log";
import {
  ACK, BAD_OPTION, BAD_REQUEST, BLOCK1, BLOCK2, CoapMessage, CoapOption, CON, CONTENT, CONTINUE, EMPTY,
  INTERNAL_SERVER_ERROR, NON, NOT_FOUND, REQUEST_ENTITY_INCOMPLETE, REQUEST_ENTITY_TOO_LARGE, RST, SIZE1, SIZE2,
  blockSize, decodeMessage, emptyBytes, encodeBlock, encodeMessage, getBlockOption, getUintOption,
  hasUnknownCriticalOption, isRequestCode, isResponseCode, uintBytes, URI_PATH, URI_QUERY,
} from "./message";

export interface Transport {
  send(bytes: Uint8Array): void;
}

export interface CoapParams {
  ackTimeout: number;
  ackRandomFactor: number;
  maxRetransmit: number;
  exchangeLifetime: number;
  nonLifetime: number;
  /** Preferred block size exponent: 16 << szx bytes. */
  blockSzx: number;
  /** Largest request body reassembled from Block1 transfers. */
  maxBodyBytes: number;
}

/** Exactly one call per request: a response, or null with "timeout", "reset" or "closed". */
export type ResponseHandler = (response: CoapMessage | null, error: string | null) => void;

export interface Exchange {
  request: CoapMessage;
  respond(code: number, options?: CoapOption[], payload?: Uint8Array | null): void;
}

const DEFAULTS: CoapParams = {
  ackTimeout: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  exchangeLifetime: 247000,
  nonLifetime: 145000,
  blockSzx: 6,
  maxBodyBytes: 4096,
};

const MOD = "coap";
const DEDUP_SIZE = 8;
const NON_NOTES = 4;

// Client request states. Only SENT counts against NSTART=1.
const QUEUED = 0;
const SENT = 1; // CON not yet acknowledged, or NON awaiting its response
const SEPARATE = 2; // empty ACK received, awaiting the separate response

interface ClientRequest {
  id: number;
  msg: CoapMessage;
  handler: ResponseHandler;
  state: number;
  deadline: number; // response wait for NON and separate responses; 0 = none
}

/** A confirmable message retransmitted until acknowledged. */
interface Outgoing {
  mid: number;
  bytes: Uint8Array;
  due: number;
  timeout: number;
  tries: number;
  req: ClientRequest | null;
  token: Uint8Array | null; // set for notifications
  onDone: ((ok: boolean) => void) | null;
}

/** A recently received CON/NON and the reply that duplicates get. */
interface Seen {
  mid: number;
  expires: number; // 0 = free
  reply: Uint8Array | null;
}

interface Upload {
  key: string;
  body: Uint8Array;
  length: number;
  expires: number;
}

interface Representation {
  key: string;
  code: number;
  options: CoapOption[];
  payload: Uint8Array;
  expires: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Identifies a resource request for block-wise state: method, Uri-Path and Uri-Query bytes. */
function requestKey(m: CoapMessage): string {
  let key = "" + m.code;
  for (let i = 0; i < m.options.length; i++) {
    const o = m.options[i];
    if (o.num !== URI_PATH && o.num !== URI_QUERY) continue;
    key += o.num === URI_PATH ? "/" : "?";
    for (let j = 0; j < o.value.length; j++) key += String.fromCharCode(o.value[j]);
  }
  return key;
}

/** Runs an application callback; its exceptions are logged, never thrown into the protocol. */
function safely(fn: ((a: any, b?: any) => void) | null, a: any, b?: any): void {
  if (!fn) return;
  try {
    fn(a, b);
  } catch (e) {
    logWrn(MOD, "callback: " + (e as Error).message);
  }
}

function earliest(at: number, t: number): number {
  return at < 0 || t < at ? t : at;
}

class ServerExchange implements Exchange {
  done = false;
  acked = false; // an empty ACK went out: the response must be a separate CON
  deadline = 0;
  block1 = -1; // Block1 value echoed in the response to a reassembled request

  constructor(public request: CoapMessage, private ep: CoapEndpoint, readonly seen: Seen) {}

  respond(code: number, options?: CoapOption[], payload?: Uint8Array | null): void {
    this.ep.sendResponse(this, code, options || [], payload || null);
  }
}

export class CoapEndpoint {
  onRequest: ((exchange: Exchange) => void) | null = null;
  onObserveCancel: ((token: Uint8Array) => void) | null = null;
  stats = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0, retransmissions: 0 };

  private p: CoapParams;
  private mid: number;
  private nextId = 1;
  private requests: ClientRequest[] = [];
  private outgoing: Outgoing[] = [];
  private seen: Seen[] = [];
  private seenNext = 0;
  private deferred: ServerExchange[] = [];
  private noteMids: number[] = [];
  private noteTokens: Uint8Array[] = [];
  private upload: Upload | null = null;
  private rep: Representation | null = null;
  private timer = 0;
  private timerAt = -1;
  private closed = false;
  private readonly tick: () => void;

  constructor(
    private transport: Transport,
    private scheduler: Scheduler,
    private random: () => number,
    params?: Partial<CoapParams>,
  ) {
    const p: any = {};
    const given: any = params || {};
    for (const k in DEFAULTS) p[k] = given[k] !== undefined ? given[k] : (DEFAULTS as any)[k];
    this.p = p;
    this.mid = Math.floor(random() * 65536);
    const self = this;
    this.tick = function () {
      self.onTick();
    };
  }

  // ---- client side ----

  request(type: number, code: number, options: CoapOption[], payload: Uint8Array | null, onResponse: ResponseHandler): number {
    const id = this.nextId++;
    if (this.closed) {
      safely(onResponse, null, "closed");
      return id;
    }
    const token = new Uint8Array(4);
    for (let i = 0; i < 4; i++) token[i] = Math.floor(this.random() * 256);
    const msg: CoapMessage = { type: type === NON ? NON : CON, code: code, mid: 0, token: token, options: options, payload: payload };
    this.requests.push({ id: id, msg: msg, handler: onResponse, state: QUEUED, deadline: 0 });
    this.pump();
    this.arm();
    return id;
  }

  /** Forgets a request; its handler is not called. */
  cancel(id: number): void {
    for (let i = 0; i < this.requests.length; i++) {
      const r = this.requests[i];
      if (r.id !== id) continue;
      this.requests.splice(i, 1);
      this.dropOutgoing(r);
      this.pump();
      this.arm();
      return;
    }
  }

  /** Sends a 2.05 notification; onDone(true) on ACK (NON: at once), false on RST, timeout or supersession. */
  notify(token: Uint8Array, options: CoapOption[], payload: Uint8Array | null, confirmable: boolean, onDone?: (ok: boolean) => void): void {
    const done = onDone || null;
    if (this.closed) {
      safely(done, false);
      return;
    }
    const m: CoapMessage = { type: confirmable ? CON : NON, code: CONTENT, mid: this.nextMid(), token: token, options: options, payload: payload };
    const bytes = this.encode(m);
    if (confirmable) {
      const old = this.findNotification(token);
      const o = this.transmit(m.mid, bytes, null, token, done);
      if (old) this.supersede(old, o);
    } else {
      const i = this.noteMids.length < NON_NOTES ? this.noteMids.length : m.mid % NON_NOTES;
      this.noteMids[i] = m.mid;
      this.noteTokens[i] = token;
      this.send(bytes);
      safely(done, true);
    }
    this.arm();
  }

  /** Entry point for every datagram from the link; never throws. */
  receive(datagram: Uint8Array): void {
    if (this.closed) return;
    this.stats.received++;
    this.stats.bytesReceived += datagram.length;
    let m: CoapMessage;
    try {
      m = decodeMessage(datagram);
    } catch (e) {
      logDbg(MOD, "drop: " + (e as Error).message);
      // A confirmable message with a format error is rejected (RFC 7252 section 4.2).
      if (datagram.length >= 4 && datagram[0] >> 4 === 4) this.sendEmpty(RST, (datagram[2] << 8) | datagram[3]);
      return;
    }
    try {
      this.dispatch(m);
    } catch (e) {
      logWrn(MOD, "rx: " + (e as Error).message);
    }
    this.arm();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.scheduler.cancel(this.timer);
    const reqs = this.requests;
    const outs = this.outgoing;
    this.requests = [];
    this.outgoing = [];
    this.seen = [];
    this.deferred = [];
    this.upload = null;
    this.rep = null;
    for (let i = 0; i < reqs.length; i++) safely(reqs[i].handler, null, "closed");
    for (let i = 0; i < outs.length; i++) safely(outs[i].onDone, false);
  }

  // ---- sending ----

  private nextMid(): number {
    this.mid = (this.mid + 1) & 0xffff;
    return this.mid;
  }

  private send(bytes: Uint8Array): void {
    this.stats.sent++;
    this.stats.bytesSent += bytes.length;
    try {
      this.transport.send(bytes);
    } catch (e) {
      logWrn(MOD, "send: " + (e as Error).message);
    }
  }

  private sendEmpty(type: number, mid: number): Uint8Array {
    const bytes = encodeMessage({ type: type, code: EMPTY, mid: mid, token: emptyBytes(), options: [], payload: null });
    this.send(bytes);
    return bytes;
  }

  private encode(m: CoapMessage): Uint8Array {
    try {
      return encodeMessage(m);
    } catch (e) {
      logWrn(MOD, "encode: " + (e as Error).message);
      return encodeMessage({ type: m.type, code: INTERNAL_SERVER_ERROR, mid: m.mid, token: m.token, options: [], payload: null });
    }
  }

  private transmit(mid: number, bytes: Uint8Array, req: ClientRequest | null, token: Uint8Array | null, onDone: ((ok: boolean) => void) | null): Outgoing {
    const timeout = this.p.ackTimeout * (1 + this.random() * (this.p.ackRandomFactor - 1));
    const o: Outgoing = { mid: mid, bytes: bytes, due: this.now() + timeout, timeout: timeout, tries: 0, req: req, token: token, onDone: onDone };
    this.outgoing.push(o);
    this.send(bytes);
    return o;
  }

  /** RFC 7641 4.5.2: a newer CON notification replaces one still in flight, keeping its back-off. */
  private supersede(old: Outgoing, o: Outgoing): void {
    this.outgoing.splice(this.outgoing.indexOf(old), 1);
    o.tries = old.tries;
    o.timeout = old.timeout;
    o.due = this.now() + o.timeout;
    safely(old.onDone, false);
  }

  /** Starts the first queued request unless one is still SENT (NSTART = 1). */
  private pump(): void {
    let next: ClientRequest | null = null;
    for (let i = 0; i < this.requests.length; i++) {
      const r = this.requests[i];
      if (r.state === SENT) return;
      if (!next && r.state === QUEUED) next = r;
    }
    if (!next || this.closed) return;
    const msg = next.msg;
    msg.mid = this.nextMid();
    next.state = SENT;
    const bytes = this.encode(msg);
    if (msg.type === CON) this.transmit(msg.mid, bytes, next, null, null);
    else {
      next.deadline = this.now() + this.maxTransmitWait();
      this.send(bytes);
    }
  }

  private maxTransmitWait(): number {
    const p = this.p;
    return p.ackTimeout * (Math.pow(2, p.maxRetransmit + 1) - 1) * p.ackRandomFactor;
  }

  // ---- receiving ----

  private dispatch(m: CoapMessage): void {
    if (m.type === ACK || m.type === RST) {
      if (m.type === RST) this.onReset(m.mid);
      else this.onAck(m);
      return;
    }
    if (m.code === EMPTY) {
      if (m.type === CON) this.sendEmpty(RST, m.mid); // CoAP ping
      return;
    }
    const dup = this.findSeen(m.mid);
    if (dup) {
      if (dup.reply) this.send(dup.reply);
      return;
    }
    const seen = this.remember(m.mid, m.type === CON ? this.p.exchangeLifetime : this.p.nonLifetime);
    if (isRequestCode(m.code)) this.onServerRequest(m, seen);
    else if (isResponseCode(m.code)) this.onSeparateResponse(m, seen);
    else if (m.type === CON) seen.reply = this.sendEmpty(RST, m.mid);
  }

  private onAck(m: CoapMessage): void {
    const o = this.findOutgoing(m.mid);
    if (!o) return; // duplicate or late ACK
    const r = o.req;
    if (r && m.code !== EMPTY && !sameBytes(m.token, r.msg.token)) return;
    this.outgoing.splice(this.outgoing.indexOf(o), 1);
    if (!r) safely(o.onDone, true);
    else if (m.code !== EMPTY) this.finish(r, m, null);
    else {
      r.state = SEPARATE;
      r.deadline = this.now() + this.p.exchangeLifetime;
      this.pump();
    }
  }

  private onReset(mid: number): void {
    const o = this.findOutgoing(mid);
    if (o) {
      this.outgoing.splice(this.outgoing.indexOf(o), 1);
      if (o.req) this.finish(o.req, null, "reset");
      else if (o.token) this.observeCancelled(o.token, o.onDone);
      return;
    }
    for (let i = 0; i < this.requests.length; i++) {
      const r = this.requests[i];
      if (r.state === SENT && r.msg.mid === mid) return this.finish(r, null, "reset");
    }
    const n = this.noteMids.indexOf(mid);
    if (n >= 0) {
      this.noteMids[n] = -1;
      this.observeCancelled(this.noteTokens[n], null);
    }
  }

  private observeCancelled(token: Uint8Array, onDone: ((ok: boolean) => void) | null): void {
    safely(this.onObserveCancel, token);
    safely(onDone, false);
  }

  private onSeparateResponse(m: CoapMessage, seen: Seen): void {
    let r: ClientRequest | null = null;
    for (let i = 0; i < this.requests.length; i++) {
      const q = this.requests[i];
      if (q.state !== QUEUED && sameBytes(q.msg.token, m.token)) r = q;
    }
    if (m.type === CON) seen.reply = this.sendEmpty(r ? ACK : RST, m.mid);
    if (r) this.finish(r, m, null);
  }

  private finish(r: ClientRequest, response: CoapMessage | null, error: string | null): void {
    const i = this.requests.indexOf(r);
    if (i < 0) return;
    this.requests.splice(i, 1);
    this.dropOutgoing(r);
    safely(r.handler, response, error);
    this.pump();
  }

  // ---- server side ----

  private onServerRequest(m: CoapMessage, seen: Seen): void {
    const ex = new ServerExchange(m, this, seen);
    if (hasUnknownCriticalOption(m)) return ex.respond(BAD_OPTION);
    if (m.options.length > 0 && getUintOption(m, BLOCK1) >= 0 && !this.acceptBlock1(ex)) return;
    const b2 = getBlockOption(m, BLOCK2);
    const rep = this.rep;
    if (b2 && b2.num > 0 && rep && rep.key === requestKey(m)) {
      rep.expires = this.now() + this.p.exchangeLifetime;
      return ex.respond(rep.code, rep.options, rep.payload);
    }
    if (!this.onRequest) return ex.respond(NOT_FOUND);
    try {
      this.onRequest(ex);
    } catch (e) {
      logWrn(MOD, "onRequest: " + (e as Error).message);
      ex.respond(INTERNAL_SERVER_ERROR);
    }
    if (!ex.done && m.type === CON) {
      // Wait briefly for a piggy-backed response before acknowledging empty.
      ex.deadline = this.now() + this.p.ackTimeout / 4;
      this.deferred.push(ex);
    }
  }

  /** Collects one Block1 block; true when the body is complete and ex.request now holds it. */
  private acceptBlock1(ex: ServerExchange): boolean {
    const m = ex.request;
    const b = getBlockOption(m, BLOCK1);
    if (!b) {
      ex.respond(BAD_OPTION);
      return false;
    }
    const size = blockSize(b.szx);
    const offset = b.num * size;
    const payload = m.payload || emptyBytes();
    const max = this.p.maxBodyBytes;
    const size1 = getUintOption(m, SIZE1);
    const key = requestKey(m);
    let up = this.upload;
    if (offset + payload.length > max || size1 > max) {
      this.upload = null;
      ex.respond(REQUEST_ENTITY_TOO_LARGE, [{ num: SIZE1, value: uintBytes(max) }]);
      return false;
    }
    if (b.num === 0) up = this.upload = { key: key, body: new Uint8Array(size1 > 0 ? size1 : size), length: 0, expires: 0 };
    else if (!up || up.key !== key || up.length !== offset || up.expires <= this.now()) {
      ex.respond(REQUEST_ENTITY_INCOMPLETE);
      return false;
    }
    if (b.more && payload.length !== size) {
      this.upload = null;
      ex.respond(BAD_REQUEST);
      return false;
    }
    const need = offset + payload.length;
    if (need > up.body.length) {
      const grown = new Uint8Array(Math.min(max, Math.max(need, up.body.length * 2)));
      grown.set(up.body.subarray(0, up.length));
      up.body = grown;
    }
    up.body.set(payload, offset);
    up.length = need;
    up.expires = this.now() + this.p.exchangeLifetime;
    if (b.more) {
      const szx = Math.min(b.szx, this.p.blockSzx);
      ex.respond(CONTINUE, [{ num: BLOCK1, value: uintBytes(encodeBlock(b.num, true, szx)) }]);
      return false;
    }
    this.upload = null;
    const options: CoapOption[] = [];
    for (let i = 0; i < m.options.length; i++) if (m.options[i].num !== BLOCK1 && m.options[i].num !== SIZE1) options.push(m.options[i]);
    ex.request = { type: m.type, code: m.code, mid: m.mid, token: m.token, options: options, payload: up.body.subarray(0, up.length) };
    ex.block1 = encodeBlock(b.num, false, b.szx);
    return true;
  }

  /** Called through Exchange.respond(). */
  sendResponse(ex: ServerExchange, code: number, options: CoapOption[], payload: Uint8Array | null): void {
    if (ex.done || this.closed) return;
    ex.done = true;
    const req = ex.request;
    const opts = options.slice(0);
    if (ex.block1 >= 0) opts.push({ num: BLOCK1, value: uintBytes(ex.block1) });
    const m: CoapMessage = { type: ACK, code: code, mid: req.mid, token: req.token, options: opts, payload: this.sliceBlock2(req, code, options, opts, payload) };
    if (m.payload === null && payload && payload.length > 0) m.code = BAD_OPTION; // block beyond the end
    if (req.type !== CON || ex.acked) {
      m.type = req.type;
      m.mid = this.nextMid();
    }
    const bytes = this.encode(m);
    if (m.type === CON) this.transmit(m.mid, bytes, null, null, null);
    else this.send(bytes);
    if (m.type === ACK) {
      if (ex.seen.mid === req.mid) ex.seen.reply = bytes;
      const i = this.deferred.indexOf(ex);
      if (i >= 0) this.deferred.splice(i, 1);
    }
    this.arm();
  }

  /**
   * Cuts a response body into the block the request asks for (block 0 without Block2) and keeps
   * the whole representation for the follow-up requests. Returns null for a block past the end.
   */
  private sliceBlock2(req: CoapMessage, code: number, appOptions: CoapOption[], opts: CoapOption[], payload: Uint8Array | null): Uint8Array | null {
    const b2 = getBlockOption(req, BLOCK2);
    let szx = this.p.blockSzx;
    const len = payload ? payload.length : 0;
    if (!payload || (!b2 && len <= blockSize(szx))) return payload;
    const offset = b2 ? b2.num * blockSize(b2.szx) : 0;
    if (b2 && b2.szx < szx) szx = b2.szx;
    const size = blockSize(szx);
    if (offset >= len) return offset === 0 ? payload : null;
    if (len > size) {
      this.rep = { key: requestKey(req), code: code, options: appOptions, payload: payload, expires: this.now() + this.p.exchangeLifetime };
    }
    const end = Math.min(offset + size, len);
    opts.push({ num: BLOCK2, value: uintBytes(encodeBlock(offset / size, end < len, szx)) });
    if (offset === 0) opts.push({ num: SIZE2, value: uintBytes(len) });
    return payload.subarray(offset, end);
  }

  // ---- bookkeeping ----

  private now(): number {
    return this.scheduler.now();
  }

  private findOutgoing(mid: number): Outgoing | null {
    for (let i = 0; i < this.outgoing.length; i++) if (this.outgoing[i].mid === mid) return this.outgoing[i];
    return null;
  }

  private findNotification(token: Uint8Array): Outgoing | null {
    for (let i = 0; i < this.outgoing.length; i++) {
      const o = this.outgoing[i];
      if (o.token && sameBytes(o.token, token)) return o;
    }
    return null;
  }

  private dropOutgoing(r: ClientRequest): void {
    for (let i = 0; i < this.outgoing.length; i++) if (this.outgoing[i].req === r) this.outgoing.splice(i--, 1);
  }

  private findSeen(mid: number): Seen | null {
    const now = this.now();
    for (let i = 0; i < this.seen.length; i++) {
      const s = this.seen[i];
      if (s.mid === mid && s.expires > now) return s;
    }
    return null;
  }

  /** Records a received MID in a fixed ring; the oldest entry is overwritten when full. */
  private remember(mid: number, lifetime: number): Seen {
    let s = this.seen[this.seenNext];
    if (!s) s = this.seen[this.seenNext] = { mid: 0, expires: 0, reply: null };
    else if (s.expires > 0) logDbg(MOD, "dedup full");
    s.mid = mid;
    s.expires = this.now() + lifetime;
    s.reply = null;
    this.seenNext = (this.seenNext + 1) % DEDUP_SIZE;
    return s;
  }

  private onTick(): void {
    this.timer = 0;
    this.timerAt = -1;
    if (this.closed) return;
    const now = this.now();
    for (;;) {
      let o: Outgoing | null = null;
      for (let i = 0; i < this.outgoing.length && !o; i++) if (this.outgoing[i].due <= now) o = this.outgoing[i];
      if (!o) break;
      if (o.tries < this.p.maxRetransmit) {
        o.tries++;
        o.timeout *= 2;
        o.due = now + o.timeout;
        this.stats.retransmissions++;
        this.send(o.bytes);
        continue;
      }
      this.outgoing.splice(this.outgoing.indexOf(o), 1);
      if (o.req) this.finish(o.req, null, "timeout");
      else safely(o.onDone, false);
    }
    for (;;) {
      let r: ClientRequest | null = null;
      for (let i = 0; i < this.requests.length && !r; i++) {
        const q = this.requests[i];
        if (q.deadline > 0 && q.deadline <= now) r = q;
      }
      if (!r) break;
      this.finish(r, null, "timeout");
    }
    this.expire(now);
    this.arm();
  }

  private expire(now: number): void {
    while (this.deferred.length > 0 && this.deferred[0].deadline <= now) {
      const ex = this.deferred.shift() as ServerExchange;
      ex.acked = true;
      const ack = this.sendEmpty(ACK, ex.request.mid);
      if (ex.seen.mid === ex.request.mid) ex.seen.reply = ack;
    }
    for (let i = 0; i < this.seen.length; i++) {
      const s = this.seen[i];
      if (s.expires > 0 && s.expires <= now) {
        s.expires = 0;
        s.reply = null;
      }
    }
    if (this.upload && this.upload.expires <= now) this.upload = null;
    if (this.rep && this.rep.expires <= now) this.rep = null;
  }

  /** Points the single scheduler timer at the earliest deadline of anything pending. */
  private arm(): void {
    if (this.closed) return;
    let at = -1;
    for (let i = 0; i < this.outgoing.length; i++) at = earliest(at, this.outgoing[i].due);
    for (let i = 0; i < this.requests.length; i++) if (this.requests[i].deadline > 0) at = earliest(at, this.requests[i].deadline);
    if (this.deferred.length > 0) at = earliest(at, this.deferred[0].deadline);
    for (let i = 0; i < this.seen.length; i++) if (this.seen[i].expires > 0) at = earliest(at, this.seen[i].expires);
    if (this.upload) at = earliest(at, this.upload.expires);
    if (this.rep) at = earliest(at, this.rep.expires);
    if (at === this.timerAt) return;
    if (this.timer) this.scheduler.cancel(this.timer);
    this.timer = 0;
    this.timerAt = at;
    if (at >= 0) this.timer = this.scheduler.after(at - this.now(), this.tick);
  }
}
