// One CoAP endpoint per server link: reliability (RFC 7252 section 4), request/response
// matching (section 5), server-side Block1/Block2 (RFC 7959) and observe notifications
// (RFC 7641). Everything with a deadline is one entry of the endpoint's pending table, and
// the endpoint's single scheduler timer points at the earliest deadline.
import { Scheduler } from "../lib/scheduler";
import { logDbg, logWrn } from "../lib/log";
import { bytesEqual } from "../lib/bytes";
import {
  ACK, BAD_OPTION, BAD_REQUEST, BLOCK1, BLOCK2, CoapMessage, CoapOption, CON, CONTENT, CONTINUE, EMPTY,
  INTERNAL_SERVER_ERROR, NON, NOT_FOUND, REQUEST_ENTITY_INCOMPLETE, REQUEST_ENTITY_TOO_LARGE, RST, SIZE1, SIZE2,
  blockSize, decodeMessage, emptyBytes, encodeBlock, encodeMessage, getBlockOption, getUintOption,
  hasUnknownCriticalOption, isRequestCode, isResponseCode, uintOpt, URI_PATH, URI_QUERY,
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
const DEDUP_SIZE = 8;

// What a pending entry is waiting for.
const QUEUED = 0; // client request held back by NSTART = 1
const SENT = 1; // client request: CON not yet acknowledged, or NON awaiting its response
const SEPARATE = 2; // client request: empty ACK received, awaiting the separate response
const CONFIRM = 3; // CON notification (token set) or separate response awaiting its ACK
const NON_NOTE = 4; // NON notification: a RST to it cancels the observation
const DEFERRED = 5; // received CON request: empty ACK unless the response comes first
const SEEN = 6; // received CON/NON: duplicates get `bytes` (the reply) again

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
  expires: number;
}

interface Representation {
  key: string;
  code: number;
  options: CoapOption[];
  payload: Uint8Array;
  expires: number;
}

/** Identifies a resource request for block-wise state: method, Uri-Path and Uri-Query bytes. */
function requestKey(m: CoapMessage): string {
  let key = "" + m.code;
  for (const o of m.options) {
    if (o.num !== URI_PATH && o.num !== URI_QUERY) continue;
    key += o.num === URI_PATH ? "/" : "?";
    for (let j = 0; j < o.value.length; j++) key += String.fromCharCode(o.value[j]);
  }
  return key;
}

/** Runs an application callback; its exceptions are logged, never thrown into the protocol. */
function safely(fn: ((a: any, b?: any) => void) | null, a: any, b?: any): void {
  try {
    if (fn) fn(a, b);
  } catch (e) {
    logWrn(MOD, "callback: " + (e as Error).message);
  }
}

class ServerExchange implements Exchange {
  done = false;
  acked = false; // an empty ACK went out: the response must be a separate CON
  block1 = -1; // Block1 value echoed in the response to a reassembled request

  constructor(public request: CoapMessage, private ep: CoapEndpoint, readonly seen: Pending) {}

  respond(code: number, options?: CoapOption[], payload?: Uint8Array | null): void {
    sendResponse(this.ep, this, code, options || [], payload || null);
  }
}

export class CoapEndpoint {
  onRequest: ((exchange: Exchange) => void) | null = null;
  onObserveCancel: ((token: Uint8Array) => void) | null = null;
  stats = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0, retransmissions: 0 };

  p: CoapParams;
  mid: number;
  nextId = 1;
  pending: Pending[] = [];
  upload: Upload | null = null;
  rep: Representation | null = null;
  timer = 0;
  timerAt = -1;
  closed = false;
  readonly tick: () => void;

  constructor(readonly transport: Transport, readonly scheduler: Scheduler, readonly random: () => number, params?: Partial<CoapParams>) {
    const p: any = {};
    const given: any = params || {};
    for (const k in DEFAULTS) p[k] = given[k] !== undefined ? given[k] : (DEFAULTS as any)[k];
    this.p = p;
    this.mid = Math.floor(random() * 65536);
    const self = this;
    this.tick = function () {
      onTick(self);
    };
  }

  request(type: number, code: number, options: CoapOption[], payload: Uint8Array | null, onResponse: ResponseHandler): number {
    const id = this.nextId++;
    if (this.closed) {
      safely(onResponse, null, "closed");
      return id;
    }
    const token = new Uint8Array(4);
    for (let i = 0; i < 4; i++) token[i] = Math.floor(this.random() * 256);
    const msg: CoapMessage = { type: type === NON ? NON : CON, code: code, mid: 0, token: token, options: options, payload: payload };
    const r = add(this, QUEUED, 0, token, null, -1);
    r.id = id;
    r.msg = msg;
    r.handler = onResponse;
    startNext(this);
    arm(this);
    return id;
  }

  /** Forgets a request; its handler is not called. */
  cancel(id: number): void {
    for (const r of this.pending) {
      if (r.id === id) {
        remove(this, r);
        startNext(this);
        arm(this);
        return;
      }
    }
  }

  /** Sends a 2.05 notification; onDone(true) on ACK (NON: at once), false on RST, timeout or supersession. */
  notify(token: Uint8Array, options: CoapOption[], payload: Uint8Array | null, confirmable: boolean, onDone?: (ok: boolean) => void): void {
    const done = onDone || null;
    if (this.closed) return safely(done, false);
    const m: CoapMessage = { type: confirmable ? CON : NON, code: CONTENT, mid: nextMid(this), token: token, options: options, payload: payload };
    const bytes = encode(this, m);
    let old: Pending | null = null;
    for (const o of this.pending) if ((o.state === CONFIRM || o.state === NON_NOTE) && o.token && bytesEqual(o.token, token)) old = o;
    if (old) remove(this, old);
    if (confirmable) {
      const o = transmit(this, m.mid, bytes, token);
      o.onDone = done;
      // RFC 7641 4.5.2: a newer CON notification replaces one in flight, keeping its back-off.
      if (old && old.state === CONFIRM) {
        o.tries = old.tries;
        o.timeout = old.timeout;
        o.due = now(this) + o.timeout;
        safely(old.onDone, false);
      }
    } else {
      add(this, NON_NOTE, m.mid, token, null, now(this) + this.p.nonLifetime);
      send(this, bytes);
      safely(done, true);
    }
    arm(this);
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
      if (datagram.length >= 4 && datagram[0] >> 4 === 4) sendEmpty(this, RST, (datagram[2] << 8) | datagram[3]);
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
    if (this.timer) this.scheduler.cancel(this.timer);
    const all = this.pending;
    this.pending = [];
    this.upload = null;
    this.rep = null;
    for (const p of all) {
      if (p.handler) safely(p.handler, null, "closed");
      else if (p.state === CONFIRM) safely(p.onDone, false);
    }
  }
}

// ---- the pending table ----

function now(ep: CoapEndpoint): number {
  return ep.scheduler.now();
}

function add(ep: CoapEndpoint, state: number, mid: number, token: Uint8Array | null, bytes: Uint8Array | null, due: number): Pending {
  const p: Pending = { state: state, mid: mid, id: 0, token: token, msg: null, bytes: bytes, due: due, timeout: 0, tries: 0, handler: null, onDone: null, ex: null };
  ep.pending.push(p);
  return p;
}

function remove(ep: CoapEndpoint, p: Pending): boolean {
  const i = ep.pending.indexOf(p);
  if (i >= 0) ep.pending.splice(i, 1);
  return i >= 0;
}

/** The entry an ACK or RST with this MID answers. */
function findByMid(ep: CoapEndpoint, mid: number): Pending | null {
  for (const p of ep.pending) if (p.mid === mid && (p.state === SENT || p.state === CONFIRM || p.state === NON_NOTE)) return p;
  return null;
}

// ---- sending ----

function nextMid(ep: CoapEndpoint): number {
  return (ep.mid = (ep.mid + 1) & 0xffff);
}

function send(ep: CoapEndpoint, bytes: Uint8Array): void {
  ep.stats.sent++;
  ep.stats.bytesSent += bytes.length;
  try {
    ep.transport.send(bytes);
  } catch (e) {
    logWrn(MOD, "send: " + (e as Error).message);
  }
}

function sendEmpty(ep: CoapEndpoint, type: number, mid: number): Uint8Array {
  const bytes = encodeMessage({ type: type, code: EMPTY, mid: mid, token: emptyBytes(), options: [], payload: null });
  send(ep, bytes);
  return bytes;
}

function encode(ep: CoapEndpoint, m: CoapMessage): Uint8Array {
  try {
    return encodeMessage(m);
  } catch (e) {
    logWrn(MOD, "encode: " + (e as Error).message);
    return encodeMessage({ type: m.type, code: INTERNAL_SERVER_ERROR, mid: m.mid, token: m.token, options: [], payload: null });
  }
}

/** Sends a CON; the entry keeps it for retransmission until acknowledged. */
function sendConfirmable(ep: CoapEndpoint, o: Pending, bytes: Uint8Array): void {
  const p = ep.p;
  o.bytes = bytes;
  o.timeout = p.ackTimeout * (1 + ep.random() * (p.ackRandomFactor - 1));
  o.due = now(ep) + o.timeout;
  send(ep, bytes);
}

function transmit(ep: CoapEndpoint, mid: number, bytes: Uint8Array, token: Uint8Array | null): Pending {
  const o = add(ep, CONFIRM, mid, token, null, -1);
  sendConfirmable(ep, o, bytes);
  return o;
}

/** Starts the first queued request unless one is still SENT (NSTART = 1). */
function startNext(ep: CoapEndpoint): void {
  let next: Pending | null = null;
  for (const r of ep.pending) {
    if (r.state === SENT) return;
    if (!next && r.state === QUEUED) next = r;
  }
  if (!next || ep.closed) return;
  const msg = next.msg as CoapMessage;
  const p = ep.p;
  msg.mid = next.mid = nextMid(ep);
  next.state = SENT;
  const bytes = encode(ep, msg);
  if (msg.type === CON) sendConfirmable(ep, next, bytes);
  else {
    next.due = now(ep) + p.ackTimeout * (Math.pow(2, p.maxRetransmit + 1) - 1) * p.ackRandomFactor; // MAX_TRANSMIT_WAIT
    send(ep, bytes);
  }
}

// ---- receiving ----

function dispatch(ep: CoapEndpoint, m: CoapMessage): void {
  if (m.type === ACK) return onAck(ep, m);
  if (m.type === RST) return onReset(ep, m.mid);
  if (m.code === EMPTY) {
    if (m.type === CON) sendEmpty(ep, RST, m.mid); // CoAP ping
    return;
  }
  for (const s of ep.pending) {
    if (s.state === SEEN && s.mid === m.mid) {
      if (s.bytes) send(ep, s.bytes);
      return;
    }
  }
  const seen = remember(ep, m.mid, m.type === CON ? ep.p.exchangeLifetime : ep.p.nonLifetime);
  if (isRequestCode(m.code)) onServerRequest(ep, m, seen);
  else if (isResponseCode(m.code)) onSeparateResponse(ep, m, seen);
  else if (m.type === CON) seen.bytes = sendEmpty(ep, RST, m.mid);
}

function onAck(ep: CoapEndpoint, m: CoapMessage): void {
  const o = findByMid(ep, m.mid);
  if (!o || !o.bytes) return; // duplicate or late ACK, or the MID of a NON
  if (!o.handler) {
    remove(ep, o);
    return safely(o.onDone, true);
  }
  if (m.code !== EMPTY) {
    if (bytesEqual(m.token, o.token as Uint8Array)) finish(ep, o, m, null);
    return;
  }
  o.state = SEPARATE;
  o.bytes = null;
  o.due = now(ep) + ep.p.exchangeLifetime;
  startNext(ep);
}

function onReset(ep: CoapEndpoint, mid: number): void {
  const o = findByMid(ep, mid);
  if (!o) return;
  if (o.handler) return finish(ep, o, null, "reset");
  remove(ep, o);
  if (o.token) {
    safely(ep.onObserveCancel, o.token);
    if (o.state === CONFIRM) safely(o.onDone, false);
  }
}

function onSeparateResponse(ep: CoapEndpoint, m: CoapMessage, seen: Pending): void {
  let r: Pending | null = null;
  for (const q of ep.pending) if (q.handler && q.state !== QUEUED && bytesEqual(q.token as Uint8Array, m.token)) r = q;
  if (m.type === CON) seen.bytes = sendEmpty(ep, r ? ACK : RST, m.mid);
  if (r) finish(ep, r, m, null);
}

function finish(ep: CoapEndpoint, r: Pending, response: CoapMessage | null, error: string | null): void {
  if (!remove(ep, r)) return;
  safely(r.handler, response, error);
  startNext(ep);
}

/** Records a received MID; the oldest record is dropped when DEDUP_SIZE are kept. */
function remember(ep: CoapEndpoint, mid: number, lifetime: number): Pending {
  let count = 0;
  let oldest: Pending | null = null;
  for (const s of ep.pending) {
    if (s.state !== SEEN) continue;
    if (!oldest) oldest = s;
    count++;
  }
  if (oldest && count >= DEDUP_SIZE) {
    logDbg(MOD, "dedup full");
    remove(ep, oldest);
  }
  return add(ep, SEEN, mid, null, null, now(ep) + lifetime);
}

// ---- server side ----

function onServerRequest(ep: CoapEndpoint, m: CoapMessage, seen: Pending): void {
  const ex = new ServerExchange(m, ep, seen);
  if (hasUnknownCriticalOption(m)) return ex.respond(BAD_OPTION);
  if (getUintOption(m, BLOCK1) >= 0 && !acceptBlock1(ep, ex)) return;
  const b2 = getBlockOption(m, BLOCK2);
  const rep = ep.rep;
  if (b2 && b2.num > 0 && rep && rep.key === requestKey(m)) {
    rep.expires = now(ep) + ep.p.exchangeLifetime;
    return ex.respond(rep.code, rep.options, rep.payload);
  }
  if (!ep.onRequest) return ex.respond(NOT_FOUND);
  try {
    ep.onRequest(ex);
  } catch (e) {
    logWrn(MOD, "onRequest: " + (e as Error).message);
    ex.respond(INTERNAL_SERVER_ERROR);
  }
  if (!ex.done && m.type === CON) {
    // Wait briefly for a piggy-backed response before acknowledging empty.
    add(ep, DEFERRED, m.mid, null, null, now(ep) + ep.p.ackTimeout / 4).ex = ex;
  }
}

/** Collects one Block1 block; true when the body is complete and ex.request now holds it. */
function acceptBlock1(ep: CoapEndpoint, ex: ServerExchange): boolean {
  const m = ex.request;
  const b = getBlockOption(m, BLOCK1);
  if (!b) {
    ex.respond(BAD_OPTION);
    return false;
  }
  const size = blockSize(b.szx);
  const offset = b.num * size;
  const payload = m.payload || emptyBytes();
  const max = ep.p.maxBodyBytes;
  const size1 = getUintOption(m, SIZE1);
  const key = requestKey(m);
  let up = ep.upload;
  const need = offset + payload.length;
  if (need > max || size1 > max) {
    ep.upload = null;
    ex.respond(REQUEST_ENTITY_TOO_LARGE, [uintOpt(SIZE1, max)]);
    return false;
  }
  if (b.num === 0) up = ep.upload = { key: key, body: new Uint8Array(size1 > 0 ? size1 : size), length: 0, expires: 0 };
  else if (!up || up.key !== key || up.length !== offset || up.expires <= now(ep)) {
    ex.respond(REQUEST_ENTITY_INCOMPLETE);
    return false;
  }
  if (b.more && payload.length !== size) {
    ep.upload = null;
    ex.respond(BAD_REQUEST);
    return false;
  }
  if (need > up.body.length) {
    const grown = new Uint8Array(Math.min(max, Math.max(need, up.body.length * 2)));
    grown.set(up.body.subarray(0, up.length));
    up.body = grown;
  }
  up.body.set(payload, offset);
  up.length = need;
  up.expires = now(ep) + ep.p.exchangeLifetime;
  if (b.more) {
    ex.respond(CONTINUE, [uintOpt(BLOCK1, encodeBlock(b.num, true, Math.min(b.szx, ep.p.blockSzx)))]);
    return false;
  }
  ep.upload = null;
  const options: CoapOption[] = [];
  for (const o of m.options) if (o.num !== BLOCK1 && o.num !== SIZE1) options.push(o);
  ex.request = { type: m.type, code: m.code, mid: m.mid, token: m.token, options: options, payload: up.body.subarray(0, up.length) };
  ex.block1 = encodeBlock(b.num, false, b.szx);
  return true;
}

function sendResponse(ep: CoapEndpoint, ex: ServerExchange, code: number, options: CoapOption[], payload: Uint8Array | null): void {
  if (ex.done || ep.closed) return;
  ex.done = true;
  const req = ex.request;
  const opts = options.slice(0);
  if (ex.block1 >= 0) opts.push(uintOpt(BLOCK1, ex.block1));
  const m: CoapMessage = { type: ACK, code: code, mid: req.mid, token: req.token, options: opts, payload: sliceBlock2(ep, req, code, options, opts, payload) };
  if (m.payload === null && payload && payload.length > 0) m.code = BAD_OPTION; // block beyond the end
  if (req.type !== CON || ex.acked) {
    m.type = req.type;
    m.mid = nextMid(ep);
  }
  const bytes = encode(ep, m);
  if (m.type === CON) transmit(ep, m.mid, bytes, null);
  else send(ep, bytes);
  if (m.type === ACK) {
    ex.seen.bytes = bytes;
    for (const d of ep.pending) if (d.ex === ex) remove(ep, d);
  }
  arm(ep);
}

/**
 * Cuts a response body into the block the request asks for (block 0 without Block2) and keeps
 * the whole representation for the follow-up requests. Returns null for a block past the end.
 */
function sliceBlock2(ep: CoapEndpoint, req: CoapMessage, code: number, appOptions: CoapOption[], opts: CoapOption[], payload: Uint8Array | null): Uint8Array | null {
  const b2 = getBlockOption(req, BLOCK2);
  let szx = ep.p.blockSzx;
  const len = payload ? payload.length : 0;
  if (!payload || (!b2 && len <= blockSize(szx))) return payload;
  const offset = b2 ? b2.num * blockSize(b2.szx) : 0;
  if (b2 && b2.szx < szx) szx = b2.szx;
  const size = blockSize(szx);
  if (offset >= len) return offset === 0 ? payload : null;
  if (len > size) {
    ep.rep = { key: requestKey(req), code: code, options: appOptions, payload: payload, expires: now(ep) + ep.p.exchangeLifetime };
  }
  const end = Math.min(offset + size, len);
  opts.push(uintOpt(BLOCK2, encodeBlock(offset / size, end < len, szx)));
  if (offset === 0) opts.push(uintOpt(SIZE2, len));
  return payload.subarray(offset, end);
}

// ---- the timer ----

/** Handles the first entry whose deadline has passed; false when none has. */
function expireOne(ep: CoapEndpoint, t: number): boolean {
  let o: Pending | null = null;
  for (const p of ep.pending) {
    if (p.due >= 0 && p.due <= t) {
      o = p;
      break;
    }
  }
  if (!o) return false;
  if (o.bytes && (o.state === SENT || o.state === CONFIRM) && o.tries < ep.p.maxRetransmit) {
    o.tries++;
    o.timeout *= 2;
    o.due = t + o.timeout;
    ep.stats.retransmissions++;
    send(ep, o.bytes);
  } else if (o.handler) finish(ep, o, null, "timeout");
  else {
    remove(ep, o);
    const ex = o.ex;
    if (ex) {
      ex.acked = true;
      ex.seen.bytes = sendEmpty(ep, ACK, o.mid);
    } else if (o.state === CONFIRM) safely(o.onDone, false);
  }
  return true;
}

function onTick(ep: CoapEndpoint): void {
  ep.timer = 0;
  ep.timerAt = -1;
  if (ep.closed) return;
  const t = now(ep);
  while (expireOne(ep, t));
  if (ep.upload && ep.upload.expires <= t) ep.upload = null;
  if (ep.rep && ep.rep.expires <= t) ep.rep = null;
  arm(ep);
}

function earliest(at: number, t: number): number {
  return at < 0 || (t >= 0 && t < at) ? t : at;
}

/** Points the single scheduler timer at the earliest deadline of anything pending. */
function arm(ep: CoapEndpoint): void {
  if (ep.closed) return;
  let at = -1;
  for (const p of ep.pending) at = earliest(at, p.due);
  if (ep.upload) at = earliest(at, ep.upload.expires);
  if (ep.rep) at = earliest(at, ep.rep.expires);
  if (at === ep.timerAt) return;
  if (ep.timer) ep.scheduler.cancel(ep.timer);
  ep.timer = 0;
  ep.timerAt = at;
  if (at >= 0) ep.timer = ep.scheduler.after(at - now(ep), ep.tick);
}
