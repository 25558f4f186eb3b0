// Bootstrap from Smartcard (LwM2M 1.1 Core appendix G): open a logical channel, select the
// PKCS#15 application by AID, follow EF(ODF) -> EF(DODF) -> EF LwM2M_Bootstrap (the data
// object with OID 2.23.43.9.1), read it with READ BINARY and parse its objects. One read runs
// at a time; callers that ask meanwhile get the same result.
import { Scheduler } from "../lib/scheduler";
import { fail } from "../lib/bytes";
import { Entry, TypeLookup, Model } from "../formats/model";
import { decodeTlv } from "../formats/tlv";
import { EV_CARD_RESPONSE, EV_CARD_CHANGED, ENOENT, EAGAIN } from "../hal/codes";
import { onEvent } from "../hal/events";
import { Registry, Reg } from "./registry";

const enum K {
  MAX = 32768,
  CHUNK = 255,
  TIMEOUT = 5000,
  // Steps, and the file being read
  IDLE = 0,
  OPEN = 1,
  APP = 2,
  SELECT = 3,
  READ = 4,
  CLOSE = 5,
  F_ODF = 0,
  F_DODF = 1,
  F_BOOT = 2,
}

export interface CardObject {
  id: number;
  /** 0 = implicit (1.0 or defined by the enabler), else major * 256 + minor */
  version: number;
  entries: Entry[];
}

/** err is null on success; fingerprint is the FNV-1a of the bootstrap data. */
export type CardDone = (err: string | null, objects: CardObject[], fingerprint: number) => void;

const AID = [0xa0, 0, 0, 0, 0x63, 0x50, 0x4b, 0x43, 0x53, 0x2d, 0x31, 0x35];
const PAST_END = "bootstrap size past the end of the file";

let sched: Scheduler;
let changed: (inserted: boolean) => void;
let present = false;
let waiting: CardDone[] = [];
let types: TypeLookup;
let step = K.IDLE;
let fileNo = 0;
let ch = 0; // logical channel; 0 (the basic channel) when the card offers none
let off = 0;
let want = 0;
let apdus = 0;
let timer = 0;
let file: Uint8Array | null = null;
let dodfs: Uint8Array[] = [];
let error: string | null = null;
let objects: CardObject[] = [];
let print = 0;
const rx = new Uint8Array(258);

/** Registers the card events; onChange runs on insertion (true) and removal (false). */
export function cardInit(s: Scheduler, onChange: (inserted: boolean) => void): void {
  sched = s;
  changed = onChange;
  onEvent(EV_CARD_RESPONSE, onResponse);
  onEvent(EV_CARD_CHANGED, onChanged);
}

/** Whether a card answered the last APDU (or was inserted since). */
export function cardPresent(): boolean {
  return present;
}

/** Reads and parses EF LwM2M_Bootstrap; done always runs later, never inside this call. */
export function readCard(t: TypeLookup, done: CardDone): void {
  if (waiting.push(done) > 1) return;
  types = t;
  fileNo = ch = apdus = 0;
  dodfs = [];
  step = K.OPEN;
  send([0, 0x70, 0, 0, 1]);
}

function send(cmd: number[]): void {
  const rc = __hal.card_transmit(new Uint8Array(cmd));
  sched.cancel(timer);
  present = rc !== ENOENT;
  if (rc < 0) failed(present ? "card error " + rc : "no card", 0);
  else timer = sched.after(K.TIMEOUT, onTimeout);
}

function onTimeout(): void {
  failed("card not responding", 0);
}

// Ends the read with an error (kept if the read had already ended); report later or now.
function failed(why: string, now: number): void {
  if (step !== K.CLOSE) {
    error = why;
    objects = [];
  }
  if (now) report();
  else timer = sched.after(0, report);
}

function report(): void {
  sched.cancel(timer);
  const w = waiting;
  waiting = [];
  step = K.IDLE;
  file = null;
  for (let i = 0; i < w.length; i++) w[i](error, objects, print);
}

function finish(err: string | null, objs: CardObject[], fp: number): void {
  error = err;
  objects = objs;
  print = fp;
  step = K.CLOSE;
  if (!ch) {
    timer = sched.after(0, report);
    return;
  }
  send([0, 0x70, 0x80, ch]);
}

function onChanged(h: number, inserted: number): void {
  present = inserted === 1;
  if (!present && step) failed("card removed", 1);
  if (changed) changed(present);
}

function onResponse(): void {
  if (!step) return;
  const n = __hal.card_receive(rx);
  if (n === EAGAIN) return; // a stale event: the answer it announced was replaced
  sched.cancel(timer);
  if (step === K.CLOSE) return report();
  try {
    if (n < 2 || ++apdus > 400) fail("no answer (" + n + ")");
    const sw = (rx[n - 2] << 8) | rx[n - 1];
    // T=0: the data waits for GET RESPONSE
    if (sw >> 8 === 0x61) send([ch, 0xc0, 0, 0, sw & 255]);
    else onAnswer(rx.subarray(0, n - 2), sw);
  } catch (e) {
    finish("card: " + (e as Error).message, [], 0);
  }
}

function check(sw: number, what: string): void {
  if (sw !== 0x9000 && sw !== 0x6282) fail(what + " failed (" + sw.toString(16) + ")");
}

function onAnswer(d: Uint8Array, sw: number): void {
  if (step === K.OPEN) {
    // Cards without logical channels answer with an error: stay on the basic channel.
    ch = sw === 0x9000 && d[0] < 4 ? d[0] : 0;
    step = K.APP;
    send([ch, 0xa4, 4, 0x0c, AID.length].concat(AID));
  } else if (step === K.APP) {
    check(sw, "SELECT PKCS#15");
    select([0x50, 0x31]);
  } else if (step === K.SELECT) {
    check(sw, "SELECT");
    let s = find(d, 0, d.length, 0x62, 0);
    if (s >= 0) s = find(d, s, fEnd, 0x80, 0);
    if (s < 0) fail("no file size");
    for (want = 0; s < fEnd; ) want = want * 256 + d[s++];
    if (!want || (fileNo < K.F_BOOT && want > K.MAX)) fail("bad file size " + want);
    off = 0;
    file = null;
    readNext();
  } else chunk(d, sw);
}

// SELECT with the FCP (for the file size). A path from the MF starts with 3F00; any other
// path is relative to the application.
function select(path: ArrayLike<number>): void {
  const abs = path[0] === 0x3f && !path[1] ? 2 : 0;
  const n = path.length - abs;
  if (n < 2 || n & 1) fail("bad path");
  const cmd = [ch, 0xa4, abs ? 8 : n === 2 ? 0 : 9, 4, n];
  for (let i = abs; i < path.length; i++) cmd.push(path[i]);
  cmd.push(0);
  step = K.SELECT;
  send(cmd);
}

function readNext(): void {
  step = K.READ;
  send([ch, 0xb0, off >> 8, off & 255, Math.min(want - off, K.CHUNK)]);
}

function chunk(d: Uint8Array, sw: number): void {
  check(sw, "READ BINARY at " + off);
  if (!d.length) fail("empty READ BINARY");
  if (!file) {
    if (fileNo === K.F_BOOT) {
      // The header's size, not the file's, says how much there is to read.
      const total = d.length < 4 ? 0 : 4 + ((d[2] << 8) | d[3]);
      if (!total || total > want) fail(PAST_END);
      if (total > K.MAX) fail("bootstrap data over 32 KB");
      want = total;
    }
    file = new Uint8Array(want);
  }
  const n = Math.min(d.length, want - off);
  file.set(d.subarray(0, n), off);
  off += n;
  if (off < want) return readNext();
  const b = file;
  if (fileNo === K.F_ODF) {
    dodfPaths(b);
    nextDodf();
  } else if (fileNo === K.F_DODF) {
    const p = bootstrapPath(b);
    if (!p) return nextDodf();
    fileNo = K.F_BOOT;
    select(p);
  } else finish(null, parseBootstrap(b, types), fnv1a(b));
}

function nextDodf(): void {
  const p = dodfs.shift();
  if (!p) fail("no LwM2M bootstrap data object");
  fileNo = K.F_DODF;
  select(p);
}

// ---- DER, as far as the PKCS#15 directory files need it

let fEnd = 0;

/** Start of the first element with `tag` (-1: any) in b[p, end), looking `depth` levels
 * down; fEnd = its end. */
function find(b: Uint8Array, p: number, end: number, tag: number, depth: number): number {
  while (p + 2 <= end) {
    const t = b[p];
    if (t === 0 || t === 0xff) break; // padding after the last entry
    let n = b[p + 1];
    p += 2;
    if (n & 0x80) {
      let k = n & 0x7f;
      if (k > 2 || p + k > end) break;
      for (n = 0; k > 0; k--) n = n * 256 + b[p++];
    }
    const e = p + n;
    if (e > end) break;
    if ((tag < 0 || t === tag) && (tag !== 6 || isBootstrapOid(b, p, e))) {
      fEnd = e;
      return p;
    }
    if (depth && t & 0x20) {
      const r = find(b, p, e, tag, depth - 1);
      if (r >= 0) return r;
    }
    p = e;
  }
  return -1;
}

// 2.23.43.9.1 (06 04 67 2B 09 01); some cards wrap it once more, as the spec's example did.
function isBootstrapOid(b: Uint8Array, s: number, e: number): boolean {
  return e - s <= 6 && b[e - 4] === 0x67 && b[e - 3] === 0x2b && b[e - 2] === 9 && b[e - 1] === 1;
}

// EF(ODF): every dataObjects [7] entry names a DODF, in priority order.
function dodfPaths(b: Uint8Array): void {
  let p = 0;
  let s: number;
  while ((s = find(b, p, b.length, 0xa7, 0)) >= 0) {
    p = fEnd;
    const q = find(b, s, p, 4, 2);
    if (q >= 0) dodfs.push(b.subarray(q, fEnd));
  }
}

// EF(DODF): the data object that carries the bootstrap OID; its path is in typeAttributes [1].
function bootstrapPath(b: Uint8Array): Uint8Array | null {
  let p = 0;
  let s: number;
  while ((s = find(b, p, b.length, -1, 0)) >= 0) {
    p = fEnd;
    if (find(b, s, p, 6, 4) < 0) continue;
    const t = find(b, s, p, 0xa1, 0);
    const q = t < 0 ? -1 : find(b, t, fEnd, 4, 3);
    if (q >= 0) return b.subarray(q, fEnd);
  }
  return null;
}

// ---- the file itself

/** Parses EF LwM2M_Bootstrap (header, then objects of TLV instances); throws on bad data. */
export function parseBootstrap(b: Uint8Array, t: TypeLookup): CardObject[] {
  const count = (b[0] << 8) | b[1];
  const end = 4 + ((b[2] << 8) | b[3]);
  if (!(end <= b.length)) fail(PAST_END);
  const objs: CardObject[] = [];
  let p = 4;
  for (let i = 0; i < count; i++) {
    const id = (b[p] << 8) | b[p + 1];
    let version = b[p + 2];
    p += 3;
    if (version) version = version * 256 + b[p++];
    const len = (b[p] << 8) | b[p + 1];
    p += 2;
    if (p + len > end) fail("object " + (i + 1) + " of " + count + " past the end");
    const entries = decodeTlv([id], b.subarray(p, p + len), t);
    for (let k = 0; k < entries.length; k++) if (entries[k].path[1] === Model.NO_ID) fail("/" + id + ": resource outside an instance");
    objs.push({ id: id, version: version, entries: entries });
    p += len;
  }
  if (p !== end) fail("bytes after the last object");
  return objs;
}

/** 32-bit FNV-1a. */
export function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 16777619) >>> 0;
  return h;
}

/**
 * Bootstrap-Writes the card's objects into reg, all or nothing; objects the meter does not
 * implement are skipped. Returns "" or why not; `from` receives [oid, iid] of each instance
 * that came from the card (for forgetCard when the card goes).
 */
export function applyCard(reg: Registry, objs: CardObject[], from: number[][]): string {
  const ids: number[] = [];
  for (let i = 0; i < objs.length; i++) if (reg.obj(objs[i].id)) ids.push(objs[i].id);
  const staged = reg.stage(ids);
  const paths: number[][] = [];
  for (let i = 0; i < objs.length; i++) {
    const o = objs[i];
    if (!staged.obj(o.id)) continue;
    if (staged.write([o.id], o.entries, Reg.W_BOOT) >= 0x80) return "card: object /" + o.id + " rejected";
    for (let k = 0; k < o.entries.length; k++) {
      const e = o.entries[k].path;
      const n = paths.length;
      if (!n || paths[n - 1][0] !== e[0] || paths[n - 1][1] !== e[1]) paths.push([e[0], e[1]]);
    }
  }
  reg.adopt(staged);
  for (let i = 0; i < paths.length; i++) from.push(paths[i]);
  return "";
}

/** Deletes the instances applyCard wrote. */
export function forgetCard(reg: Registry, from: number[][]): void {
  for (let i = 0; i < from.length; i++) reg.remove(from[i][0], from[i][1]);
  from.length = 0;
}
