// Bootstrap from Smartcard (LwM2M 1.1 Core appendix G), shipped as an overlay (build/overlays.ts):
// app/boot.ts hands it the card events and the read timeout, and it stays loaded only while a
// read is under way. A read opens a logical channel, selects the PKCS#15 application by AID,
// follows EF(ODF) -> EF(DODF) -> EF LwM2M_Bootstrap (the data object with OID 2.23.43.9.1),
// reads it with READ BINARY and closes the channel. Data unlike what the card applied last
// time (FNV-1a fingerprint) are applied like a bootstrap: one Bootstrap-Write per object into
// a staged copy, validated, committed with the keys in the secure store. The store record
// REC lists the instances the card wrote, so that removing the card deletes exactly those.
import { fail } from "../lib/bytes";
import { log, Log } from "../lib/log";
import { Entry, TypeLookup } from "../formats/model";
import { decodeTlv } from "../formats/tlv";
import { Registry, Reg } from "./registry";
import { commitConfig } from "./credentials";
import { validateConfig } from "./validate";

const enum K {
  MAX = 32768,
  CHUNK = 255,
  /** [oid, iid]* of the instances from the card, then the card data's fingerprint (u32) */
  REC = 0x7f03,
  EV_RESPONSE = 7,
  EV_CHANGED = 8,
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

const AID = [0xa0, 0, 0, 0, 0x63, 0x50, 0x4b, 0x43, 0x53, 0x2d, 0x31, 0x35];
const MOD = "card";
const BAD_SIZE = "bad size";

let reg: Registry;
let step = K.IDLE;
let fileNo = 0;
let ch = 0; // logical channel; 0 (the basic channel) when the card offers none
let off = 0;
let want = 0;
let apdus = 0;
let file: Uint8Array | null = null;
/** Paths of the DODFs still to look into. */
let dodfs: Uint8Array[] = [];
/** What the read found: the bootstrap data, null (nothing to apply) or empty (no card). */
let found: Uint8Array | null = null;
const rx = new Uint8Array(258);

/** Loaded while a read is under way. */
export function keep(): boolean {
  return step > 0;
}

/**
 * The card's events: EV_CARD_RESPONSE, EV_CARD_CHANGED (arg 1: inserted, also the read at
 * start-up; 0: removed), a check (kind 0: a read unless one is under way) and the read timeout
 * (no kind). Returns 0 while a read is under way; when it has ended, 1 (configuration
 * unchanged) or 2 (card data applied), plus 2 when there is no card (3, or 4: its data deleted).
 */
export function cardEvent(a: { reg: Registry }, arg?: number, kind?: number): number {
  reg = a.reg;
  try {
    handle(arg, kind);
  } catch (e) {
    warn(e);
    if (step !== K.CLOSE) found = null;
    close();
  }
  if (step) return 0;
  const f = found;
  found = null;
  ch = 0;
  try {
    return f ? use(f) + (f.length ? 0 : 2) : 1;
  } catch (e) {
    warn(e);
    return 1;
  }
}

function warn(e: unknown): void {
  log(Log.LOG_WRN, MOD, (e as Error).message);
}

function handle(arg?: number, kind?: number): void {
  // Removed: the channel went with the card.
  if (kind === K.EV_CHANGED && !arg) return gone();
  // Inserted: a new read. A check: a read, unless one is under way.
  if (kind === K.EV_CHANGED || (kind === 0 && !step)) {
    apdus = fileNo = 0;
    step = K.OPEN;
    return send([0, 0x70, 0, 0, 1]);
  }
  if (!step || kind === 0) return;
  const n = kind === K.EV_RESPONSE ? __hal.card_receive(rx) : 0;
  if (n === -6 /* EAGAIN: a stale event, the answer it announced was replaced */) return;
  if (step === K.CLOSE) return void (step = K.IDLE);
  // no answer in time (the timeout), or none at all
  if (n < 2 || ++apdus > 400) fail("card not responding");
  const sw = (rx[n - 2] << 8) | rx[n - 1];
  const d = rx.subarray(0, n - 2);
  // T=0: the data waits for GET RESPONSE
  if (sw >> 8 === 0x61) return send([ch, 0xc0, 0, 0, sw & 255]);
  if (step === K.OPEN) {
    // Cards without logical channels answer with an error: stay on the basic channel.
    ch = sw === 0x9000 && d[0] < 4 ? d[0] : 0;
    step = K.APP;
    return send([ch, 0xa4, 4, 0x0c, 12].concat(AID));
  }
  if ((sw !== 0x9000 && sw !== 0x6282) || (step === K.READ && !d.length)) fail((step === K.APP ? "no PKCS#15 app, " : "") + "status " + sw.toString(16));
  if (step === K.APP) return select([0x50, 0x31]);
  if (step === K.SELECT) {
    // the file size, from the FCP template
    let s = find(d, 0, d.length, 0x80, 1);
    for (want = 0; s >= 0 && s < fEnd; ) want = want * 256 + d[s++];
    if (!want || (fileNo < K.F_BOOT && want > K.MAX)) fail(BAD_SIZE);
    off = 0;
    file = null;
    return readNext();
  }
  if (!file) {
    if (fileNo === K.F_BOOT) {
      // The header's size, not the file's, says how much there is to read.
      const total = d.length < 4 ? 0 : 4 + ((d[2] << 8) | d[3]);
      if (!total || total > want || total > K.MAX) fail(BAD_SIZE);
      want = total;
    }
    file = new Uint8Array(want);
  }
  const k = Math.min(d.length, want - off);
  file.set(d.subarray(0, k), off);
  if ((off += k) < want) return readNext();
  if (fileNo === K.F_BOOT) {
    found = file;
    return close();
  }
  const p = paths(file);
  if (!fileNo) dodfs = p;
  else if (p[0]) {
    fileNo = K.F_BOOT;
    return select(p[0]);
  }
  const q = dodfs.shift();
  if (!q) fail("no bootstrap data");
  fileNo = K.F_DODF;
  select(q);
}

function send(cmd: number[]): void {
  const rc = __hal.card_transmit(new Uint8Array(cmd));
  // ENOENT, ENOTSUP: no card
  if (rc === -4 || rc === -8) gone();
  else if (rc < 0) fail("card error " + rc);
}

/** No card (any more): the data of the last one go. */
function gone(): void {
  step = K.IDLE;
  found = new Uint8Array(0);
}

/** Ends the read: closes the logical channel first when there is one. */
function close(): void {
  step = ch && step !== K.CLOSE && __hal.card_transmit(new Uint8Array([0, 0x70, 0x80, ch])) >= 0 ? K.CLOSE : K.IDLE;
}

// SELECT with the FCP (for the file size). A path from the MF starts with 3F00; any other
// path is relative to the application.
function select(path: Uint8Array | number[]): void {
  const abs = path[0] === 0x3f && !path[1] ? 2 : 0;
  const n = path.length - abs;
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
    // 2.23.43.9.1 (06 04 67 2B 09 01); some cards wrap it once more, as the spec's example did.
    if ((tag < 0 || t === tag) && (tag !== 6 || (n < 7 && b[e - 4] === 0x67 && b[e - 3] === 0x2b && b[e - 2] === 9 && b[e - 1] === 1))) {
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

/** EF(ODF): the paths of the DODFs (dataObjects [7] entries), in priority order. EF(DODF): the
 * path of the data object with the bootstrap OID, which follows the OID. */
function paths(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  let s: number;
  while ((s = find(b, p, b.length, fileNo ? -1 : 0xa7, 0)) >= 0) {
    const e = (p = fEnd);
    if (fileNo) s = find(b, s, e, 6, 4) < 0 ? e : fEnd;
    s = find(b, s, e, 4, 2);
    if (s >= 0) out.push(b.subarray(s, fEnd));
  }
  return out;
}

// ---- the file itself

/** Parses EF LwM2M_Bootstrap (header, then objects of TLV instances), handing each object to
 * each(id, entries); throws on bad data. */
export function parseBootstrap(b: Uint8Array, t: TypeLookup, each: (id: number, entries: Entry[]) => void): void {
  const count = (b[0] << 8) | b[1];
  const end = 4 + ((b[2] << 8) | b[3]);
  if (!(end <= b.length)) fail(BAD_SIZE);
  let p = 4;
  for (let i = 1; i <= count; i++) {
    const id = (b[p] << 8) | b[p + 1];
    // version: 00 (defined by the enabler), or major and minor
    p += b[p + 2] ? 4 : 3;
    const len = (b[p] << 8) | b[p + 1];
    p += 2;
    if (p + len > end) fail(BAD_SIZE);
    each(id, decodeTlv([id], b.subarray(p, (p += len)), t));
  }
  if (p !== end) fail(BAD_SIZE);
}

/** 32-bit FNV-1a. */
export function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 16777619) >>> 0;
  return h;
}

/**
 * Brings the configuration in line with the card data b (empty: no card), all or nothing, in
 * one store commit: the instances the last card wrote go, the new card's come in (objects the
 * meter does not implement are skipped). 1: nothing to change, 2: changed.
 */
function use(b: Uint8Array): number {
  // The card record, into rx (free by now).
  const n = __hal.store_read(K.REC, rx) - 4;
  const fp = fnv1a(b);
  const r: number[] = [];
  const f = [fp >>> 24, (fp >> 16) & 255, (fp >> 8) & 255, fp & 255];
  // The same card, and what it wrote is still there (a factory reset may have removed it).
  let same: unknown = n >= 0 && b.length;
  for (let i = 0; same && i < n + 4; i++) same = i < n ? i & 1 || reg.inst(rx[i], rx[i + 1]) : rx[i] === f[i - n];
  if (same || (n < 0 && !b.length)) return 1;
  const s = reg.stage([0, 1, 2]);
  for (let i = 0; i < n; i += 2) s.remove(rx[i], rx[i + 1]);
  if (b.length) {
    parseBootstrap(b, reg.types, function (id: number, e: Entry[]): void {
      if (!s.obj(id)) return;
      if (s.write([id], e, Reg.W_BOOT) >= 0x80) fail("object /" + id + " rejected");
      // the entries come instance by instance
      for (let k = 0; k < e.length; k++) if (!k || e[k - 1].path[1] !== e[k].path[1]) r.push(id, e[k].path[1]);
    });
    // A card may hold only a bootstrap account.
    const why = validateConfig(s);
    if (why && why !== "no management server") fail(why);
  }
  const rc = commitConfig(s, reg, [[K.REC], [b.length ? new Uint8Array(r.concat(f)) : null]]);
  if (rc < 0) fail("store error " + rc);
  log(Log.LOG_INF, MOD, b.length ? "applied " + r.length / 2 + " instance(s)" : "removed, its data deleted");
  return 2;
}
