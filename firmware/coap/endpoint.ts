// One CoAP endpoint per server link: reliability (RFC 7252 section 4), request/response
// matching (section 5), server-side Block1/Block2 (RFC 7959) and observe notifications
// (RFC 7641). Everything with a deadline is one entry of the endpoint's pending table, and
// the endpoint's single scheduler timer points at the earliest deadline.
import { Scheduler } from "../lib/scheduler";
import { log, logWrn, Log } from "../lib/log";
import { bytesEqual } from "../lib/bytes";
import {
  CoapMessage, CoapOption, EMPTY_BYTES, decodeBlock, decodeMessage, encodeMessage, getUintOption,
  hasUnknownCriticalOption, uintOpt, Coap,
} from "./message";

const enum K {
  DEDUP_SIZE = 8,
  // What a pending entry is waiting for.
  QUEUED = 0, // client request held back by NSTART = 1
  SENT = 1, // client request: CON not yet acknowledged, or NON awaiting its response
  SEPARATE = 2, // client request: empty ACK received, awaiting the separate response
  CONFIRM = 3, // CON notification (token set) or separate response awaiting its ACK
  NON_NOTE = 4, // NON notification: a RST to it cancels the observation
  DEFERRED = 5, // received CON request: empty ACK unless the response comes first
  SEEN = 6, // received CON/NON: duplicates get `bytes` (the reply) again
}

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

/**
 * Exactly one call per request: a response, or null with "timeout", "reset" or "closed"; ctx is
 * the endpoint's ctx (so one module function can serve many endpoints without a closure each).
 */
export type ResponseHandler = (response: CoapMessage | null, error: string | null, ctx?: any) => void;

export interface Exchange {
  request: CoapMessage;
  respond(code: number, options?: CoapOption[], payload?: Uint8Array | null): void;
}

type DoneHandler = ((ok: boolean) => void) | null;

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

interface Pending {
  state: number;
  mid: number;
  /** Request id (client requests), 0 otherwise. */
  id: number;
  /** Client request or notification token. */
  token: Uint8Array | null;
  /** The client request to send when it leaves the queue. */
  msg: CoapMessage | null;
  /** Retransmitted while unacknowledged; for SEEN the cached reply. */
  bytes: Uint8Array | null;
  /** Next retransmission or deadline; -1 = none. */
  due: number;
  timeout: number;
  tries: number;
  handler: ResponseHandler | null;
  onDone: DoneHandler;
  ex: ServerExchange | null;
}

interface Upload {
  key: string;
  body: Uint8Array;
  length: number;
  due: number;
}

interface Representation {
  key: string;
  code: number;
  options: CoapOption[];
  payload: Uint8Array;
  due: number;
}

/** The exchange handed to onRequest: a plain object whose respond is the module function below. */
interface ServerExchange extends Exchange {
  ep: CoapEndpoint;
  /** The SEEN entry of the request: its `bytes` become the reply duplicates get. */
  seen: Pending;
  done: boolean;
  /** An empty ACK went out: the response must be a separate CON. */
  acked: boolean;
  /** Block1 value echoed in the response to a reassembled request, -1 = none. */
  block1: number;
}

/** Identifies a resource request for block-wise state: method, Uri-Path and Uri-Query bytes. */
function requestKey(m: CoapMessage): string {
  let key = "" + m.code;
  for (const o of m.options) {
    if (o.num !== Coap.URI_PATH && o.num !== Coap.URI_QUERY) continue;
    key += o.num === Coap.URI_PATH ? "/" : "?";
    for (let j = 0; j < o.value.length; j++) key += String.fromCharCode(o.value[j]);
  }
  return key;
}

/** Runs an application callback; its exceptions are logged, never thrown into the protocol. */
function safely(fn: ((a: any, b?: any, c?: any) => void) | null, a: any, b?: any, c?: any): void {
  try {
    if (fn) fn(a, b, c);
  } catch (e) {
    logWrn(MOD, "callback: " + (e as Error).message);
  }
}

export class CoapEndpoint {
  /** Called with the exchange and ctx. */
  onRequest: ((exchange: Exchange, ctx?: any) => void) | null = null;
  onObserveCancel: ((token: Uint8Array) => void) | null = null;

  p: CoapParams;
  mid: number;
  nextId = 1;
  pending: Pending[] = [];
  upload: Upload | null = null;
  rep: Representation | null = null;
  timer = 0;
  timerAt = -1;
  closed = false;
  /** Passed to onRequest and to response handlers. */
  ctx: any = null;

  constructor(readonly transport: Transport, readonly scheduler: Scheduler, readonly random: () => number, params?: Partial<CoapParams>) {
    const p: any = {};
    const given: any = params || {};
    for (const k in DEFAULTS) p[k] = given[k] !== undefined ? given[k] : (DEFAULTS as any)[k];
    this.p = p;
    this.mid = Math.floor(random() * 65536);
  }

  request(type: number, code: number, options: CoapOption[], payload: Uint8Array | null, onResponse: ResponseHandler): number {
    const id = this.nextId++;
    if (this.closed) {
      safely(onResponse, null, "closed", this.ctx);
      return id;
    }
    const token = new Uint8Array(4);
    for (let i = 0; i < 4; i++) token[i] = Math.floor(this.random() * 256);
    const msg: CoapMessage = { type: type === Coap.NON ? Coap.NON : Coap.CON, code: code, mid: 0, token: token, options: options, payload: payload };
    const r = add(this, K.QUEUED, 0, token, -1);
    r.id = id;
    r.msg = msg;
    r.handler = onResponse;
    startNext(this);
    arm(this);
    return id;
  }

  /** Sends a 2.05 notification; onDone(true) on ACK (NON: at once), false on RST, timeout or supersession. */
  notify(token: Uint8Array, options: CoapOption[], payload: Uint8Array | null, confirmable: boolean, onDone?: (ok: boolean) => void): void {
    const done = onDone || null;
    if (this.closed) return safely(done, false);
    const m: CoapMessage = { type: confirmable ? Coap.CON : Coap.NON, code: Coap.CONTENT, mid: (this.mid = (this.mid + 1) & 0xffff), token: token, options: options, payload: payload };
    let old: Pending | null = null;
    for (const o of this.pending) if ((o.state === K.CONFIRM || o.state === K.NON_NOTE) && o.token && bytesEqual(o.token, token)) old = o;
    if (old) remove(this, old);
    const o = add(this, confirmable ? K.CONFIRM : K.NON_NOTE, m.mid, token, confirmable ? -1 : this.scheduler.now() + this.p.nonLifetime);
    send(this, m, confirmable ? o : null);
    if (confirmable) {
      o.onDone = done;
      // RFC 7641 4.5.2: a newer CON notification replaces one in flight, keeping its back-off.
      if (old && old.state === K.CONFIRM) {
        o.tries = old.tries;
        o.timeout = old.timeout;
        o.due = this.scheduler.now() + o.timeout;
        safely(old.onDone, false);
      }
    } else safely(done, true);
    arm(this);
  }

  /** Entry point for every datagram from the link; never throws. */
  receive(datagram: Uint8Array): void {
    if (this.closed) return;
    let m: CoapMessage;
    try {
      m = decodeMessage(datagram);
    } catch (e) {
      log(Log.LOG_DBG, MOD, "drop: " + (e as Error).message);
      // A confirmable message with a format error is rejected (RFC 7252 section 4.2).
      if (datagram.length >= 4 && datagram[0] >> 4 === 4) sendEmpty(this, Coap.RST, (datagram[2] << 8) | datagram[3]);
      return;
    }
    try {
      dispatch(this, m);
    } catch (e) {
      logWrn(MOD, "rx: " + (e as Error).message);
    }
    arm(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.scheduler.cancel(this.timer);
    const all = this.pending;
    this.pending = [];
    this.upload = null;
    this.rep = null;
    for (const p of all) {
      if (p.handler) safely(p.handler, null, "closed", this.ctx);
      else if (p.state === K.CONFIRM) safely(p.onDone, false);
    }
  }
}

/** Forgets a request; its handler is not called. */
export function cancelRequest(ep: CoapEndpoint, id: number): void {
  for (const r of ep.pending) {
    if (r.id === id) {
      remove(ep, r);
      startNext(ep);
      arm(ep);
      return;
    }
  }
}

// ---- the pending table ----

function add(ep: CoapEndpoint, state: number, mid: number, token: Uint8Array | null, due: number): Pending {
  const p: Pending = { state: state, mid: mid, id: 0, token: token, msg: null, bytes: null, due: due, timeout: 0, tries: 0, handler: null, onDone: null, ex: null };
  ep.pending.push(p);
  return p;
}

function remove(ep: CoapEndpoint, p: Pending): boolean {
  const i = ep.pending.indexOf(p);
  if (i >= 0) ep.pending.splice(i, 1);
  return i >= 0;
}

// ---- sending ----

/**
 * Sends a message (encoded here; a message that cannot be encoded goes out as a 5.00) or
 * bytes. With an entry o the message is confirmable: o keeps it for retransmission.
 */
function send(ep: CoapEndpoint, m: CoapMessage | Uint8Array, o?: Pending | null): Uint8Array {
  let bytes = m as Uint8Array;
  if (!(m instanceof Uint8Array)) {
    try {
      bytes = encodeMessage(m);
    } catch (e) {
      logWrn(MOD, "encode: " + (e as Error).message);
      bytes = encodeMessage({ type: m.type, code: Coap.INTERNAL_SERVER_ERROR, mid: m.mid, token: m.token, options: [], payload: null });
    }
  }
  if (o) {
    const p = ep.p;
    o.bytes = bytes;
    o.timeout = p.ackTimeout * (1 + ep.random() * (p.ackRandomFactor - 1));
    o.due = ep.scheduler.now() + o.timeout;
  }
  try {
    ep.transport.send(bytes);
  } catch (e) {
    logWrn(MOD, "send: " + (e as Error).message);
  }
  return bytes;
}

function sendEmpty(ep: CoapEndpoint, type: number, mid: number): Uint8Array {
  return send(ep, { type: type, code: Coap.EMPTY, mid: mid, token: EMPTY_BYTES, options: [], payload: null });
}

/** Starts the first queued request unless one is still SENT (NSTART = 1). */
function startNext(ep: CoapEndpoint): void {
  let next: Pending | null = null;
  for (const r of ep.pending) {
    if (r.state === K.SENT) return;
    if (!next && r.state === K.QUEUED) next = r;
  }
  if (!next || ep.closed) return;
  const msg = next.msg as CoapMessage;
  const p = ep.p;
  msg.mid = next.mid = ep.mid = (ep.mid + 1) & 0xffff;
  next.state = K.SENT;
  const con = msg.type === Coap.CON;
  send(ep, msg, con ? next : null);
  // a NON request waits MAX_TRANSMIT_WAIT for its response
  if (!con) next.due = ep.scheduler.now() + p.ackTimeout * (Math.pow(2, p.maxRetransmit + 1) - 1) * p.ackRandomFactor;
}

// ---- receiving ----

function dispatch(ep: CoapEndpoint, m: CoapMessage): void {
  const code = m.code;
  const con = m.type === Coap.CON;
  if (m.type === Coap.ACK || m.type === Coap.RST) return onReply(ep, m);
  if (code === Coap.EMPTY) {
    if (con) sendEmpty(ep, Coap.RST, m.mid); // CoAP ping
    return;
  }
  let count = 0;
  let oldest: Pending | null = null;
  for (const s of ep.pending) {
    if (s.state !== K.SEEN) continue;
    if (s.mid === m.mid) {
      // a duplicate: the same reply again
      if (s.bytes) send(ep, s.bytes);
      return;
    }
    if (!oldest) oldest = s;
    count++;
  }
  // Remember the MID; the oldest record goes when DEDUP_SIZE are kept.
  if (oldest && count >= K.DEDUP_SIZE) {
    log(Log.LOG_DBG, MOD, "dedup full");
    remove(ep, oldest);
  }
  const seen = add(ep, K.SEEN, m.mid, null, ep.scheduler.now() + (con ? ep.p.exchangeLifetime : ep.p.nonLifetime));
  if (code < 32) return onServerRequest(ep, m, seen);
  let r: Pending | null = null;
  if (code >= 64 && code < 192) {
    // a separate response
    for (const q of ep.pending) if (q.handler && q.state !== K.QUEUED && bytesEqual(q.token as Uint8Array, m.token)) r = q;
  }
  if (con) seen.bytes = sendEmpty(ep, r ? Coap.ACK : Coap.RST, m.mid);
  if (r) finish(ep, r, m, null);
}

/** An ACK or RST to the entry with its MID. */
function onReply(ep: CoapEndpoint, m: CoapMessage): void {
  let o: Pending | null = null;
  for (const p of ep.pending) {
    if (p.mid === m.mid && (p.state === K.SENT || p.state === K.CONFIRM || p.state === K.NON_NOTE)) {
      o = p;
      break;
    }
  }
  if (!o) return;
  if (m.type === Coap.RST) {
    if (o.handler) return finish(ep, o, null, "reset");
    remove(ep, o);
    if (o.token) {
      safely(ep.onObserveCancel, o.token);
      if (o.state === K.CONFIRM) safely(o.onDone, false);
    }
    return;
  }
  if (!o.bytes) return; // duplicate or late ACK, or the MID of a NON
  if (!o.handler) {
    remove(ep, o);
    return safely(o.onDone, true);
  }
  if (m.code !== Coap.EMPTY) {
    if (bytesEqual(m.token, o.token as Uint8Array)) finish(ep, o, m, null);
    return;
  }
  o.state = K.SEPARATE;
  o.bytes = null;
  o.due = ep.scheduler.now() + ep.p.exchangeLifetime;
  startNext(ep);
}

function finish(ep: CoapEndpoint, r: Pending, response: CoapMessage | null, error: string | null): void {
  if (!remove(ep, r)) return;
  safely(r.handler, response, error, ep.ctx);
  startNext(ep);
}

// ---- server side ----

function onServerRequest(ep: CoapEndpoint, m: CoapMessage, seen: Pending): void {
  const ex: ServerExchange = { request: m, respond: respond, ep: ep, seen: seen, done: false, acked: false, block1: -1 };
  const t = ep.scheduler.now();
  const max = ep.p.maxBodyBytes;
  const key = requestKey(m);
  if (hasUnknownCriticalOption(m)) return ex.respond(Coap.BAD_OPTION);
  if (getUintOption(m, Coap.BLOCK1) >= 0) {
    // Collects one Block1 block; goes on when the body is complete and ex.request holds it.
    const b = decodeBlock(getUintOption(m, Coap.BLOCK1));
    if (!b) return ex.respond(Coap.BAD_OPTION);
    const size = 16 << b.szx;
    const offset = b.num * size;
    const payload = m.payload || EMPTY_BYTES;
    const size1 = getUintOption(m, Coap.SIZE1);
    let up = ep.upload;
    const need = offset + payload.length;
    if (need > max || size1 > max) {
      ep.upload = null;
      return ex.respond(Coap.REQUEST_ENTITY_TOO_LARGE, [uintOpt(Coap.SIZE1, max)]);
    }
    if (b.num === 0) up = ep.upload = { key: key, body: new Uint8Array(size1 > 0 ? size1 : size), length: 0, due: 0 };
    else if (!up || up.key !== key || up.length !== offset || up.due <= t) return ex.respond(Coap.REQUEST_ENTITY_INCOMPLETE);
    if (b.more && payload.length !== size) {
      ep.upload = null;
      return ex.respond(Coap.BAD_REQUEST);
    }
    if (need > up.body.length) {
      const grown = new Uint8Array(Math.min(max, Math.max(need, up.body.length * 2)));
      grown.set(up.body.subarray(0, up.length));
      up.body = grown;
    }
    up.body.set(payload, offset);
    up.length = need;
    up.due = t + ep.p.exchangeLifetime;
    if (b.more) return ex.respond(Coap.CONTINUE, [uintOpt(Coap.BLOCK1, b.num * 16 + 8 + Math.min(b.szx, ep.p.blockSzx))]);
    ep.upload = null;
    const options: CoapOption[] = [];
    for (const o of m.options) if (o.num !== Coap.BLOCK1 && o.num !== Coap.SIZE1) options.push(o);
    ex.request = { type: m.type, code: m.code, mid: m.mid, token: m.token, options: options, payload: up.body.subarray(0, up.length) };
    ex.block1 = b.num * 16 + b.szx;
  }
  const b2 = decodeBlock(getUintOption(m, Coap.BLOCK2));
  const rep = ep.rep;
  if (b2 && b2.num > 0 && rep && rep.key === key) {
    rep.due = t + ep.p.exchangeLifetime;
    return ex.respond(rep.code, rep.options, rep.payload);
  }
  if (!ep.onRequest) return ex.respond(Coap.NOT_FOUND);
  try {
    ep.onRequest(ex, ep.ctx);
  } catch (e) {
    logWrn(MOD, "onRequest: " + (e as Error).message);
    ex.respond(Coap.INTERNAL_SERVER_ERROR);
  }
  if (!ex.done && m.type === Coap.CON) {
    // Wait briefly for a piggy-backed response before acknowledging empty.
    add(ep, K.DEFERRED, m.mid, null, t + ep.p.ackTimeout / 4).ex = ex;
  }
}

/**
 * Exchange.respond. A body larger than a block is cut into the block the request asks for
 * (block 0 without Block2) and kept for the follow-up requests; a block past the end is 4.02.
 */
function respond(this: ServerExchange, code: number, options?: CoapOption[], payload?: Uint8Array | null): void {
  const ep = this.ep;
  if (this.done || ep.closed) return;
  this.done = true;
  const req = this.request;
  const appOptions = options || [];
  const opts = appOptions.slice(0);
  if (this.block1 >= 0) opts.push(uintOpt(Coap.BLOCK1, this.block1));
  const m: CoapMessage = { type: Coap.ACK, code: code, mid: req.mid, token: req.token, options: opts, payload: payload || null };
  const b2 = decodeBlock(getUintOption(req, Coap.BLOCK2));
  let szx = ep.p.blockSzx;
  const len = payload ? payload.length : 0;
  if (payload && (b2 || len > 16 << szx)) {
    const offset = b2 ? b2.num * (16 << b2.szx) : 0;
    if (b2 && b2.szx < szx) szx = b2.szx;
    const size = 16 << szx;
    if (offset >= len) {
      if (offset > 0 && len > 0) {
        m.code = Coap.BAD_OPTION; // block beyond the end
        m.payload = null;
      }
    } else {
      if (len > size) {
        ep.rep = { key: requestKey(req), code: code, options: appOptions, payload: payload, due: ep.scheduler.now() + ep.p.exchangeLifetime };
      }
      const end = Math.min(offset + size, len);
      opts.push(uintOpt(Coap.BLOCK2, (offset / size) * 16 + (end < len ? 8 : 0) + szx));
      if (offset === 0) opts.push(uintOpt(Coap.SIZE2, len));
      m.payload = payload.subarray(offset, end);
    }
  }
  if (req.type !== Coap.CON || this.acked) {
    m.type = req.type;
    m.mid = ep.mid = (ep.mid + 1) & 0xffff;
  }
  const bytes = send(ep, m, m.type === Coap.CON ? add(ep, K.CONFIRM, m.mid, null, -1) : null);
  if (m.type === Coap.ACK) {
    this.seen.bytes = bytes;
    for (const d of ep.pending) if (d.ex === this) remove(ep, d);
  }
  arm(ep);
}

// ---- the timer ----

function onTick(ep: CoapEndpoint): void {
  ep.timer = 0;
  ep.timerAt = -1;
  if (ep.closed) return;
  const t = ep.scheduler.now();
  // Handle every entry whose deadline has passed, one at a time (handlers change the table).
  for (;;) {
    let o: Pending | null = null;
    for (const p of ep.pending) {
      if (p.due >= 0 && p.due <= t) {
        o = p;
        break;
      }
    }
    if (!o) break;
    if (o.bytes && (o.state === K.SENT || o.state === K.CONFIRM) && o.tries < ep.p.maxRetransmit) {
      o.tries++;
      o.timeout *= 2;
      o.due = t + o.timeout;
      send(ep, o.bytes);
    } else if (o.handler) finish(ep, o, null, "timeout");
    else {
      remove(ep, o);
      const ex = o.ex;
      if (ex) {
        ex.acked = true;
        ex.seen.bytes = sendEmpty(ep, Coap.ACK, o.mid);
      } else if (o.state === K.CONFIRM) safely(o.onDone, false);
    }
  }
  if (ep.upload && ep.upload.due <= t) ep.upload = null;
  if (ep.rep && ep.rep.due <= t) ep.rep = null;
  arm(ep);
}

/** Points the single scheduler timer at the earliest deadline of anything pending. */
function arm(ep: CoapEndpoint): void {
  if (ep.closed) return;
  let at = -1;
  for (const p of (ep.pending as { due: number }[]).concat(ep.upload || [], ep.rep || [])) {
    if (p.due >= 0 && (at < 0 || p.due < at)) at = p.due;
  }
  if (at === ep.timerAt) return;
  ep.scheduler.cancel(ep.timer);
  ep.timer = 0;
  ep.timerAt = at;
  if (at >= 0) ep.timer = ep.scheduler.after(at - ep.scheduler.now(), onTick, ep);
}
