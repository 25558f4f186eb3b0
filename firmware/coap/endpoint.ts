// One CoAP endpoint per server link: reliability (RFC 7252 section 4), request/response
// matching (section 5), server-side Block1/Block2 (RFC 7959) and observe notifications
// (RFC 7641). Everything with a deadline is one entry of the endpoint's pending table, and
// the endpoint's single scheduler timer points at the earliest deadline.
import { Scheduler } from "../lib/scheduler";
import { log, logWrn, Log } from "../lib/log";
import { Writer, bytesEqual, putBytes } from "../lib/bytes";
import {
  CoapMessage, CoapOption, EMPTY_BYTES, decodeBlock, decodeMessage, encodeMessage, getUintOption,
  uintOpt, Coap, Known,
} from "./message";

const enum K {
  DEDUP_SIZE = 8,
  // What a pending entry is waiting for. Numbered so that the states an ACK or RST can
  // answer (SENT, CONFIRM, NON_NOTE) are 1..3 and the retransmitted ones (SENT, CONFIRM) 1..2.
  QUEUED = 0, // client request held back by NSTART = 1
  SENT = 1, // client request: CON not yet acknowledged, or NON awaiting its response
  CONFIRM = 2, // CON notification (token set) or separate response awaiting its ACK
  NON_NOTE = 3, // NON notification: a RST to it cancels the observation
  SEPARATE = 4, // client request: empty ACK received, awaiting the separate response
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

const MOD = "coap";

/** Fields that do not apply to an entry's state are left out (undefined). */
interface Pending {
  state: number;
  mid: number;
  /** Request id (client requests). */
  id?: number;
  /** Client request or notification token; null otherwise. */
  token: Uint8Array | null;
  /** The client request to send when it leaves the queue. */
  msg?: CoapMessage;
  /** Retransmitted while unacknowledged; for SEEN the cached reply. */
  bytes?: Uint8Array | null;
  /** Next retransmission or deadline; -1 = none. */
  due: number;
  timeout: number;
  tries: number;
  /** Client requests only. */
  handler?: ResponseHandler;
  /** CON notifications only. */
  onDone?: DoneHandler;
  /** DEFERRED only. */
  ex?: ServerExchange;
}

/** A Block1 body being reassembled: a Writer of its bytes so far. */
interface Upload extends Writer {
  key: string;
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
  /** The request's block-wise key (requestKey). */
  key: string;
  done?: boolean;
  /** An empty ACK went out: the response must be a separate CON. */
  acked?: boolean;
  /** Block1 value echoed in the response to a reassembled request, when there is one. */
  block1?: number;
}

/** Identifies a resource request for block-wise state: method, Uri-Path and Uri-Query bytes. */
function requestKey(m: CoapMessage): string {
  let key = "" + m.code;
  // 11 (Uri-Path) and 15 (Uri-Query) differ in bit 2
  for (const o of m.options) if (o.num === Coap.URI_PATH || o.num === Coap.URI_QUERY) key += (o.num & 4 ? "?" : "/") + String.fromCharCode.apply(null, o.value as any);
  return key;
}

function warn(what: string, e: unknown): void {
  logWrn(MOD, what + ": " + (e as Error).message);
}

/** Runs an application callback; its exceptions are logged, never thrown into the protocol. */
function safely(fn: ((a: any, b?: any, c?: any) => void) | null | undefined, a: any, b?: any, c?: any): void {
  try {
    if (fn) fn(a, b, c);
  } catch (e) {
    warn("callback", e);
  }
}

export interface CoapEndpoint {
  /** Called with the exchange and ctx. */
  onRequest?: ((exchange: Exchange, ctx?: any) => void) | null;
  onObserveCancel?: ((token: Uint8Array) => void) | null;

  readonly transport: Transport;
  readonly scheduler: Scheduler;
  readonly random: () => number;
  p: CoapParams;
  mid: number;
  nextId: number;
  pending: Pending[];
  upload?: Upload | null;
  rep?: Representation | null;
  /** The scheduler timer (undefined or 0: none) and its deadline. */
  timer?: number;
  timerAt?: number;
  closed?: boolean;
  /** Passed to onRequest and to response handlers. */
  ctx: any;

  request(type: number, code: number, options: CoapOption[], payload: Uint8Array | null, onResponse: ResponseHandler): number;
  /** Sends a 2.05 notification; onDone(true) on ACK (NON: at once), false on RST, timeout or supersession. */
  notify(token: Uint8Array, options: CoapOption[], payload: Uint8Array | null, confirmable: boolean, onDone?: (ok: boolean) => void): void;
  /** Entry point for every datagram from the link; never throws. */
  receive(datagram: Uint8Array): void;
  close(): void;
}

// A constructor and one prototype object rather than a class: the same objects, in fewer bytes.
export const CoapEndpoint = function (this: CoapEndpoint, transport: Transport, scheduler: Scheduler, random: () => number, params?: Partial<CoapParams>) {
  const ep = this as { -readonly [k in keyof CoapEndpoint]: CoapEndpoint[k] };
  ep.transport = transport;
  ep.scheduler = scheduler;
  ep.random = random;
  ep.nextId = 1;
  ep.pending = [];
  ep.ctx = null;
  // the defaults, with the given parameters in their place
  ep.p = Object.assign({
    ackTimeout: 2000,
    ackRandomFactor: 1.5,
    maxRetransmit: 4,
    exchangeLifetime: 247000,
    nonLifetime: 145000,
    blockSzx: 6,
    maxBodyBytes: 4096,
  }, params);
  ep.mid = (random() * 65536) | 0;
} as unknown as {
  new (transport: Transport, scheduler: Scheduler, random: () => number, params?: Partial<CoapParams>): CoapEndpoint;
  prototype: CoapEndpoint;
};

CoapEndpoint.prototype = {
  request(this: CoapEndpoint, type: number, code: number, options: CoapOption[], payload: Uint8Array | null, onResponse: ResponseHandler): number {
    const ep = this;
    const id = ep.nextId++;
    if (ep.closed) safely(onResponse, null, "closed", ep.ctx);
    else {
      const token = new Uint8Array(4);
      for (let i = 0; i < 4; i++) token[i] = ep.random() * 256;
      const r = add(ep, K.QUEUED, 0, token, -1);
      r.id = id;
      r.handler = onResponse;
      r.msg = { type: type === Coap.NON ? Coap.NON : Coap.CON, code: code, mid: 0, token: token, options: options, payload: payload };
      startNext(ep);
      arm(ep);
    }
    return id;
  },

  notify(this: CoapEndpoint, token: Uint8Array, options: CoapOption[], payload: Uint8Array | null, confirmable: boolean, onDone?: (ok: boolean) => void): void {
    const ep = this;
    if (ep.closed) return safely(onDone, false);
    const t = ep.scheduler.now();
    const m: CoapMessage = { type: confirmable ? Coap.CON : Coap.NON, code: Coap.CONTENT, mid: (ep.mid = (ep.mid + 1) & 0xffff), token: token, options: options, payload: payload };
    let old: Pending | null = null;
    // notifications are the entries with a token and no response handler
    for (const o of ep.pending) if (!o.handler && o.token && bytesEqual(o.token, token)) old = o;
    remove(ep, old as Pending); // none: indexOf finds no null
    const o = add(ep, confirmable ? K.CONFIRM : K.NON_NOTE, m.mid, token, confirmable ? -1 : t + ep.p.nonLifetime);
    send(ep, m, confirmable ? o : null);
    if (confirmable) {
      o.onDone = onDone;
      // RFC 7641 4.5.2: a newer CON notification replaces one in flight, keeping its back-off.
      if (old && old.state === K.CONFIRM) {
        o.tries = old.tries;
        o.due = t + (o.timeout = old.timeout);
        safely(old.onDone, false);
      }
    } else safely(onDone, true);
    arm(ep);
  },

  receive(this: CoapEndpoint, datagram: Uint8Array): void {
    const ep = this;
    if (ep.closed) return;
    let m: CoapMessage | null = null;
    try {
      dispatch(ep, (m = decodeMessage(datagram)));
    } catch (e) {
      if (m) warn("rx", e);
      else {
        log(Log.LOG_DBG, MOD, "drop: " + (e as Error).message);
        // A confirmable message with a format error is rejected (RFC 7252 section 4.2).
        if (datagram.length >= 4 && datagram[0] >> 4 === 4) sendEmpty(ep, Coap.RST, (datagram[2] << 8) | datagram[3]);
        return;
      }
    }
    arm(ep);
  },

  close(this: CoapEndpoint): void {
    const ep = this;
    if (ep.closed) return;
    ep.closed = true;
    ep.scheduler.cancel(ep.timer as number);
    const all = ep.pending;
    ep.pending = [];
    ep.upload = ep.rep = null;
    // onDone is set on CON notifications only
    for (const p of all) {
      if (p.handler) safely(p.handler, null, "closed", ep.ctx);
      else safely(p.onDone, false);
    }
  },
} as CoapEndpoint;

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
  const p = { state: state, mid: mid, token: token, due: due, tries: 0 } as Pending;
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
      warn("encode", e);
      // the messages sent here are the endpoint's own: m can become the 5.00
      m.code = Coap.INTERNAL_SERVER_ERROR;
      m.options = [];
      m.payload = null;
      bytes = encodeMessage(m);
    }
  }
  if (o) {
    const p = ep.p;
    o.bytes = bytes;
    o.due = ep.scheduler.now() + (o.timeout = p.ackTimeout * (1 + ep.random() * (p.ackRandomFactor - 1)));
  }
  try {
    ep.transport.send(bytes);
  } catch (e) {
    warn("send", e);
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
  if (!next) return; // (a closed endpoint has no entries)
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
  const t = ep.scheduler.now();
  const p = ep.p;
  if (m.type > Coap.NON) {
    // An ACK or RST to the entry with its MID
    let o: Pending | null = null;
    for (const q of ep.pending) {
      if (q.mid === m.mid && q.state > K.QUEUED && q.state <= K.NON_NOTE) {
        o = q;
        break;
      }
    }
    if (!o) return;
    if (m.type === Coap.RST) {
      if (o.handler) return finish(ep, o, null, "reset");
      remove(ep, o);
      if (o.token) {
        safely(ep.onObserveCancel, o.token);
        safely(o.onDone, false);
      }
      return;
    }
    if (!o.bytes) return; // duplicate or late ACK, or the MID of a NON
    if (!o.handler) {
      remove(ep, o);
      return safely(o.onDone, true);
    }
    if (code !== Coap.EMPTY) {
      if (bytesEqual(m.token, o.token as Uint8Array)) finish(ep, o, m, null);
      return;
    }
    o.state = K.SEPARATE;
    o.bytes = null;
    o.due = t + p.exchangeLifetime;
    return startNext(ep);
  }
  if (code === Coap.EMPTY) {
    if (con) sendEmpty(ep, Coap.RST, m.mid); // CoAP ping
    return;
  }
  let count = 0;
  let oldest: Pending | null = null;
  let r: Pending | null = null;
  for (const s of ep.pending) {
    // a separate response (a response code, 2.xx..5.xx): the request waiting with its token
    if (code > 63 && code < 192 && s.handler && s.state !== K.QUEUED && bytesEqual(s.token as Uint8Array, m.token)) r = s;
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
  if (count >= K.DEDUP_SIZE) {
    log(Log.LOG_DBG, MOD, "dedup full");
    remove(ep, oldest as Pending);
  }
  const seen = add(ep, K.SEEN, m.mid, null, t + (con ? p.exchangeLifetime : p.nonLifetime));
  if (code > 31) {
    if (con) seen.bytes = sendEmpty(ep, r ? Coap.ACK : Coap.RST, m.mid);
    if (r) finish(ep, r, m, null);
    return;
  }

  // A request.
  const key = requestKey(m);
  const ex = { request: m, respond: respond, ep: ep, seen: seen, key: key } as ServerExchange;
  const max = p.maxBodyBytes;
  const v1 = getUintOption(m, Coap.BLOCK1);
  // the options but Block1 and Size1 (a reassembled request's), and an unknown critical (odd) option: 4.02
  const kept: CoapOption[] = [];
  for (const o of m.options) {
    if (o.num & 1 && (o.num > 31 || !((Known.CRITICAL >> o.num) & 1))) return ex.respond(Coap.BAD_OPTION);
    if (o.num !== Coap.BLOCK1 && o.num !== Coap.SIZE1) kept.push(o);
  }
  if (v1 >= 0) {
    // Collects one Block1 block; goes on when the body is complete and ex.request holds it.
    const b = decodeBlock(v1);
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
    if (b.num === 0) up = ep.upload = { key: key, b: new Uint8Array(size1 > 0 ? size1 : size), n: 0, due: 0 };
    else if (!up || up.key !== key || up.n !== offset || up.due <= t) return ex.respond(Coap.REQUEST_ENTITY_INCOMPLETE);
    if (b.more && payload.length !== size) {
      ep.upload = null;
      return ex.respond(Coap.BAD_REQUEST);
    }
    putBytes(up, payload);
    up.due = t + p.exchangeLifetime;
    // v1 is num * 16 + 8 (more) + szx here; the reply may ask for smaller blocks
    if (b.more) return ex.respond(Coap.CONTINUE, [uintOpt(Coap.BLOCK1, v1 - b.szx + Math.min(b.szx, p.blockSzx))]);
    ep.upload = null;
    // ex.request is m, now with the whole body (nothing else holds on to m)
    m.options = kept;
    m.payload = up.b.subarray(0, up.n);
    ex.block1 = v1; // the last block: no "more" bit
  }
  const b2 = decodeBlock(getUintOption(m, Coap.BLOCK2));
  const rep = ep.rep;
  if (b2 && b2.num > 0 && rep && rep.key === key) {
    rep.due = t + p.exchangeLifetime;
    return ex.respond(rep.code, rep.options, rep.payload);
  }
  if (!ep.onRequest) return ex.respond(Coap.NOT_FOUND);
  try {
    ep.onRequest(ex, ep.ctx);
  } catch (e) {
    warn("onRequest", e);
    ex.respond(Coap.INTERNAL_SERVER_ERROR);
  }
  if (!ex.done && con) {
    // Wait briefly for a piggy-backed response before acknowledging empty.
    add(ep, K.DEFERRED, m.mid, null, t + p.ackTimeout / 4).ex = ex;
  }
}

function finish(ep: CoapEndpoint, r: Pending, response: CoapMessage | null, error: string | null): void {
  if (!remove(ep, r)) return;
  safely(r.handler, response, error, ep.ctx);
  startNext(ep);
}

/**
 * Exchange.respond. A body larger than a block is cut into the block the request asks for
 * (block 0 without Block2) and kept for the follow-up requests; a block past the end is 4.02.
 */
function respond(this: ServerExchange, code: number, options?: CoapOption[], payload?: Uint8Array | null): void {
  const ex = this;
  const ep = ex.ep;
  if (ex.done || ep.closed) return;
  ex.done = true;
  const req = ex.request;
  const appOptions = options || [];
  const opts = appOptions.slice();
  if ((ex.block1 as number) >= 0) opts.push(uintOpt(Coap.BLOCK1, ex.block1 as number));
  const m: CoapMessage = { type: Coap.ACK, code: code, mid: req.mid, token: req.token, options: opts, payload: payload || null };
  const b2 = decodeBlock(getUintOption(req, Coap.BLOCK2));
  let szx = ep.p.blockSzx;
  const len = payload ? payload.length : 0;
  if (len && (b2 || len > 16 << szx)) {
    const offset = b2 ? b2.num * (16 << b2.szx) : 0;
    if (b2 && b2.szx < szx) szx = b2.szx;
    const size = 16 << szx;
    if (offset >= len) {
      m.code = Coap.BAD_OPTION; // block beyond the end
      m.payload = null;
    } else {
      if (len > size) {
        ep.rep = { key: ex.key, code: code, options: appOptions, payload: payload!, due: ep.scheduler.now() + ep.p.exchangeLifetime };
      }
      const end = Math.min(offset + size, len);
      opts.push(uintOpt(Coap.BLOCK2, (offset / size) * 16 + (end < len ? 8 : 0) + szx));
      if (offset === 0) opts.push(uintOpt(Coap.SIZE2, len));
      m.payload = payload!.subarray(offset, end);
    }
  }
  if (req.type !== Coap.CON || ex.acked) {
    m.type = req.type;
    m.mid = ep.mid = (ep.mid + 1) & 0xffff;
  }
  const bytes = send(ep, m, m.type === Coap.CON ? add(ep, K.CONFIRM, m.mid, null, -1) : null);
  if (m.type === Coap.ACK) {
    ex.seen.bytes = bytes;
    for (const d of ep.pending) if (d.ex === ex) remove(ep, d);
  }
  arm(ep);
}

// ---- the timer ----

// close() cancels the timer: it never fires on a closed endpoint.
function onTick(ep: CoapEndpoint): void {
  ep.timer = 0;
  ep.timerAt = -1;
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
    if (o.bytes && o.state <= K.CONFIRM && o.tries < ep.p.maxRetransmit) {
      o.tries++;
      o.due = t + (o.timeout *= 2);
      send(ep, o.bytes);
    } else if (o.handler) finish(ep, o, null, "timeout");
    else {
      remove(ep, o);
      const ex = o.ex;
      if (ex) {
        ex.acked = true;
        ex.seen.bytes = sendEmpty(ep, Coap.ACK, o.mid);
      } else safely(o.onDone, false);
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
  ep.scheduler.cancel(ep.timer as number);
  ep.timerAt = at;
  ep.timer = at >= 0 ? ep.scheduler.after(at - ep.scheduler.now(), onTick, ep) : 0;
}
