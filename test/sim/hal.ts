/// <reference path="../../firmware/hal/native.d.ts" />
// A simulated native HAL in Node: virtual clock, in-memory store with transactions, console
// capture, seeded RNG, and links to test-side fake LwM2M servers over SimLink (optionally lossy).
// It installs itself as globalThis.__hal so the real firmware modules run unchanged; run()
// plays the C main loop: drain events into __hal.dispatch, then sleep to the next deadline.
import { Scheduler } from "../../firmware/lib/scheduler";
import { CoapEndpoint, Exchange } from "../../firmware/coap/endpoint";
import {
  CoapMessage, CoapOption, CON, NON, ACK, RST, CONTENT, POST, decodeMessage, encodeMessage, DELETE, CHANGED, CREATED, DELETED, URI_PATH, URI_QUERY, CONTENT_FORMAT,
  ACCEPT, OBSERVE, LOCATION_PATH, uriPath, uriQuery, getUintOption, uintBytes,
} from "../../firmware/coap/message";
import { Hal as codes } from "../../firmware/hal/codes";
import { VirtualClock } from "./clock";
import { SimLink, LinkConditions, seededRandom } from "./network";

export interface Received {
  code: number;
  path: string;
  query: string[];
  format: number;
  payload: Uint8Array | null;
  time: number;
}

export interface CallResult {
  res: CoapMessage | null;
  err: string | null;
  done: boolean;
}

function copyMessage(m: CoapMessage): CoapMessage {
  return {
    ...m,
    token: new Uint8Array(m.token),
    options: m.options.map((o) => ({ num: o.num, value: new Uint8Array(o.value) })),
    payload: m.payload ? new Uint8Array(m.payload) : null,
  };
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A fake LwM2M (bootstrap) server: answers the client's requests and sends its own. */
export class FakeServer {
  received: Received[] = [];
  /** One CoAP endpoint per client link (a re-registration opens a new link). */
  conns: CoapEndpoint[] = [];
  notifications: CoapMessage[] = [];
  notificationTimes: number[] = [];
  /** Answer notifications with RST (cancels the observation). */
  rejectNotifications = false;
  nextLocation = 1;
  /** Answer for a request from the client; the default plays a bootstrap server + LwM2M server. */
  handler: (req: CoapMessage, ex: Exchange, srv: FakeServer) => void = defaultHandler;

  constructor(readonly sim: SimHal, readonly host: string, readonly port: number) {}

  get uri(): string {
    return "coap://" + this.host + ":" + this.port;
  }

  attach(link: SimLink): void {
    const ep = new CoapEndpoint(link.b, this.sim.net, this.sim.random);
    link.b.onReceive = (d) => {
      // Notifications are taken here (the endpoint has no client-side observe): record and ACK.
      const m = decodeMessage(d);
      if (m.code === CONTENT && (m.type === CON || m.type === NON) && m.options.some((o) => o.num === OBSERVE)) {
        this.notifications.push(copyMessage(m));
        this.notificationTimes.push(this.sim.clock.now());
        if (m.type === CON) link.b.send(encodeMessage({ type: this.rejectNotifications ? RST : ACK, code: 0, mid: m.mid, token: new Uint8Array(0), options: [], payload: null }));
        return;
      }
      ep.receive(d);
    };
    ep.onRequest = (ex) => {
      const m = ex.request;
      this.received.push({
        code: m.code,
        path: "/" + uriPath(m).join("/"),
        query: uriQuery(m),
        format: getUintOption(m, CONTENT_FORMAT),
        payload: m.payload ? new Uint8Array(m.payload) : null,
        time: this.sim.clock.now(),
      });
      this.handler(m, ex, this);
    };
    this.conns.push(ep);
  }

  last(): Received | undefined {
    return this.received[this.received.length - 1];
  }

  /** Sends a request to the client over the newest link; the result fills in as time runs. */
  send(code: number, path: string, opts: { format?: number; accept?: number; payload?: Uint8Array | string; query?: string[]; observe?: number } = {}): CallResult {
    const r: CallResult = { res: null, err: null, done: false };
    const ep = this.conns[this.conns.length - 1];
    if (!ep) throw new Error("no client link to " + this.uri);
    const o: CoapOption[] = [];
    if (opts.observe !== undefined) o.push({ num: OBSERVE, value: uintBytes(opts.observe) });
    for (const p of path.split("/")) if (p) o.push({ num: URI_PATH, value: text(p) });
    if (opts.format !== undefined) o.push({ num: CONTENT_FORMAT, value: uintBytes(opts.format) });
    for (const q of opts.query || []) o.push({ num: URI_QUERY, value: text(q) });
    if (opts.accept !== undefined) o.push({ num: ACCEPT, value: uintBytes(opts.accept) });
    const payload = typeof opts.payload === "string" ? text(opts.payload) : opts.payload || null;
    ep.request(CON, code, o, payload, (res, err) => {
      r.res = res ? copyMessage(res) : null;
      r.err = err;
      r.done = true;
    });
    return r;
  }

  /** send() and run the simulation until the answer is in (at most 300 s virtual). */
  call(code: number, path: string, opts: Parameters<FakeServer["send"]>[2] = {}): CoapMessage {
    const r = this.send(code, path, opts);
    this.sim.runWhile(() => !r.done, 300_000);
    if (!r.res) throw new Error(`no response to ${path}: ${r.err}`);
    return r.res;
  }
}

function defaultHandler(req: CoapMessage, ex: Exchange, srv: FakeServer): void {
  const path = uriPath(req);
  if (req.code === POST && path[0] === "bs") return ex.respond(CHANGED);
  if (req.code === POST && path.length === 1 && path[0] === "rd") {
    const loc = "" + srv.nextLocation++;
    return ex.respond(CREATED, [
      { num: LOCATION_PATH, value: text("rd") },
      { num: LOCATION_PATH, value: text(loc) },
    ]);
  }
  if (req.code === POST && path[0] === "rd") return ex.respond(CHANGED);
  if (req.code === DELETE && path[0] === "rd") return ex.respond(DELETED);
  ex.respond(0x84);
}

interface SimLinkState {
  host: string;
  port: number;
  rx: Uint8Array[];
  link: SimLink;
  open: boolean;
}

export class SimHal implements NativeHal {
  readonly clock = new VirtualClock(1_000_000);
  /** Test-side timers: network delays and the fake servers' CoAP endpoints. */
  readonly net = new Scheduler(this.clock);
  readonly random: () => number;
  conditions: Partial<LinkConditions> = {};
  servers: FakeServer[] = [];
  links: SimLinkState[] = [];
  events: [number, number, number][] = [];
  timerAt = -1;
  store = new Map<number, Uint8Array>();
  txn: [number, Uint8Array | null][] | null = null;
  failCommit = false;
  consoleIn: string[] = [];
  output: string[] = [];
  logs: string[] = [];
  resets: string[] = [];
  wall = 1_700_000_000_000;
  heap = [60_000, 90_000, 180_224];
  echo = !!process.env.SIM_ECHO;
  dispatch?: (kind: number, handle: number, arg: number) => void;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  install(): this {
    (globalThis as any).__hal = this;
    return this;
  }

  addServer(host = "127.0.0.1", port = 5683): FakeServer {
    const s = new FakeServer(this, host, port);
    this.servers.push(s);
    return s;
  }

  /** Forgets the running firmware (after sys_reset): links, events, timer. Store and servers stay. */
  reboot(): void {
    for (const l of this.links) l.open = false;
    this.events = [];
    this.timerAt = -1;
    this.consoleIn = [];
    this.txn = null;
    this.dispatch = undefined;
  }

  // ---- driving ----

  post(kind: number, handle = 0, arg = 0): void {
    this.events.push([kind, handle, arg]);
  }

  private drain(): number {
    let n = 0;
    while (this.events.length > 0) {
      const [k, h, a] = this.events.shift()!;
      if (this.dispatch) this.dispatch(k, h, a);
      if (++n > 100000) throw new Error("event storm");
    }
    return n;
  }

  /** One main-loop step: work that is due now, else sleep to the next deadline (not past end). */
  private step(end: number): boolean {
    if (this.drain() + this.net.run() > 0) return true;
    let next = this.timerAt;
    const n = this.net.nextDelay();
    if (n >= 0 && (next < 0 || this.clock.now() + n < next)) next = this.clock.now() + n;
    if (next < 0 || next > end) return false;
    if (next > this.clock.now()) this.clock.set(next);
    if (this.timerAt >= 0 && this.timerAt <= this.clock.now()) {
      this.timerAt = -1;
      this.post(codes.EV_TIMER);
    }
    return true;
  }

  /** Runs the main loop for ms of virtual time. */
  run(ms: number): void {
    const end = this.clock.now() + ms;
    while (this.step(end));
    if (this.clock.now() < end) this.clock.set(end);
  }

  /** Runs while cond() holds, at most limit ms; returns the virtual time spent. */
  runWhile(cond: () => boolean, limit: number): number {
    const start = this.clock.now();
    const end = start + limit;
    while (cond() && this.step(end));
    while (cond() && this.clock.now() < end) this.run(Math.min(1000, end - this.clock.now()));
    return this.clock.now() - start;
  }

  /** Log lines already matched by waitLog: each wait looks only at lines after the last match. */
  logCursor = 0;

  /** Runs until a log line containing s appears after the last matched one (at most limit ms). */
  waitLog(s: string, limit = 600_000): string {
    const find = () => {
      for (let i = this.logCursor; i < this.logs.length; i++) if (this.logs[i].includes(s)) return i;
      return -1;
    };
    this.runWhile(() => find() < 0, limit);
    const i = find();
    if (i < 0) throw new Error(`log "${s}" not seen; last lines:\n` + this.logs.slice(-10).join("\n"));
    this.logCursor = i + 1;
    return this.logs[i];
  }

  /** Types a console line and returns the output lines it produced. */
  command(line: string): string[] {
    const from = this.output.length;
    this.consoleIn.push(line);
    this.post(codes.EV_CONSOLE_LINE);
    this.drain();
    return this.output.slice(from);
  }

  // ---- NativeHal ----

  link_open(host: string, port: number): number {
    const link = new SimLink(this.net, this.random, this.conditions);
    const handle = this.links.length + 1;
    const st: SimLinkState = { host, port, rx: [], link, open: true };
    this.links[handle - 1] = st;
    link.a.onReceive = (d) => {
      if (!st.open) return;
      st.rx.push(d);
      this.post(codes.EV_LINK_RX, handle, d.length);
    };
    const srv = this.servers.find((s) => s.host === host && s.port === port);
    if (srv) srv.attach(link);
    return handle;
  }

  private linkOf(h: number): SimLinkState | null {
    const l = this.links[h - 1];
    return l && l.open ? l : null;
  }

  link_send(handle: number, data: Uint8Array): number {
    const l = this.linkOf(handle);
    if (!l) return codes.ECLOSED;
    l.link.a.send(data);
    return data.length;
  }

  link_recv(handle: number, out: Uint8Array): number {
    const l = this.linkOf(handle);
    if (!l) return codes.ECLOSED;
    const d = l.rx.shift();
    if (!d) return 0;
    if (d.length > out.length) return codes.ETOOBIG;
    out.set(d);
    return d.length;
  }

  link_close(handle: number): number {
    const l = this.linkOf(handle);
    if (!l) return codes.ECLOSED;
    l.open = false;
    return 0;
  }

  /** [link, credential] of every dtls_open; a credential in dtlsAlerts is refused with that alert. */
  dtlsOpens: number[][] = [];
  dtlsAlerts: { [credential: number]: number } = {};

  dtls_open(link: number, credential: number): number {
    if (!this.linkOf(link)) return codes.ECLOSED;
    this.dtlsOpens.push([link, credential]);
    const alert = this.dtlsAlerts[credential];
    this.post(alert === undefined ? codes.EV_DTLS_CONNECTED : codes.EV_DTLS_ALERT, link, alert);
    return 0;
  }

  dtls_close(link: number): number {
    return 0;
  }

  timer_now(): number {
    return this.clock.now();
  }

  timer_wall(): number {
    return this.wall + this.clock.now();
  }

  timer_arm(delay: number): number {
    this.timerAt = this.clock.now() + Math.max(0, delay);
    return 0;
  }

  rng_fill(out: Uint8Array): number {
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(this.random() * 256);
    return out.length;
  }

  store_read(id: number, out: Uint8Array): number {
    const d = this.store.get(id);
    if (!d) return codes.ENOENT;
    if (d.length > out.length) return codes.ETOOBIG;
    out.set(d);
    return d.length;
  }

  store_write(id: number, data: Uint8Array): number {
    if (this.txn) this.txn.push([id, new Uint8Array(data)]);
    else this.store.set(id, new Uint8Array(data));
    return 0;
  }

  store_remove(id: number): number {
    if (this.txn) this.txn.push([id, null]);
    else if (!this.store.delete(id)) return codes.ENOENT;
    return 0;
  }

  store_begin(): number {
    if (this.txn) return codes.EBUSY;
    this.txn = [];
    return 0;
  }

  store_commit(): number {
    const t = this.txn;
    this.txn = null;
    if (!t) return codes.EINVAL;
    if (this.failCommit) return codes.EIO;
    for (const [id, d] of t) {
      if (d) this.store.set(id, d);
      else this.store.delete(id);
    }
    return 0;
  }

  scrubs = 0;

  /** The simulation runs the firmware's modules directly: no overlay images to load. */
  overlay_load(index: number): number {
    if (index >= 0) throw new RangeError("no overlay images in the simulation");
    return 0;
  }

  store_scrub(): number {
    if (this.txn) return codes.EBUSY;
    this.scrubs++;
    return 0;
  }

  store_abort(): number {
    this.txn = null;
    return 0;
  }

  console_read(out: Uint8Array): number {
    const line = this.consoleIn.shift();
    if (line === undefined) return 0;
    const b = text(line);
    const n = Math.min(b.length, out.length);
    out.set(b.subarray(0, n));
    return n;
  }

  console_write(s: string): number {
    for (const line of s.split("\n")) if (line.length > 0) this.output.push(line);
    if (this.echo) process.stdout.write(s);
    return 0;
  }

  card_transmit(apdu: Uint8Array): number {
    return codes.ENOTSUP;
  }

  card_receive(out: Uint8Array): number {
    return codes.ENOTSUP;
  }

  sys_reset(reason: string): number {
    this.resets.push(reason);
    this.reboot();
    return 0;
  }

  sys_fatal(reason: string): number {
    throw new Error("sys_fatal: " + reason);
  }

  sys_watchdog_kick(): number {
    return 0;
  }

  sys_heap(which: number): number {
    return this.heap[which] ?? codes.EINVAL;
  }

  log_write(level: number, s: string): number {
    const t = this.clock.now();
    const line = `[${(t / 1000).toFixed(3)}] <${["", "err", "wrn", "inf", "dbg"][level]}> ${s}`;
    this.logs.push(line);
    if (this.echo) console.log(line);
    return 0;
  }
}
