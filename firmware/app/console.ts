// Console line commands, including out-of-band provisioning (GEISA ADM) of the bootstrap
// account, the endpoint name, credentials and factory management-server accounts. Every
// command's output ends with "OK" or "ERROR: <reason>". Secrets are write-only: never echoed,
// logged or read back; the console shows fingerprints (first 8 bytes of SHA-256). Each command
// is checked completely, then applied as one store transaction, or refused with nothing changed.
//
//   set security <psk|x509|nosec> [ssid]     (starts the account's credential afresh)
//   set psk-identity <text> [ssid]           set psk-key <hex, 1..64 bytes> [ssid]
//   set cert|key|server-cert <hex> [ssid]    or `... pem [ssid]` then PEM lines up to -----END
//   set cert-usage <0..3> [ssid]
//   set server <ssid> <coap(s)://host:port> [lifetime]
//   show credentials                         clear credentials (the bootstrap account's)
// [ssid] names a coaps:// management account (made first with set server); without it the
// bootstrap account's credential is meant. A console line holds 255 characters: certificates
// and keys go in as PEM.
import { setLogSink } from "../lib/log";
import { consoleWrite } from "../hal/console";
import { storeCommit } from "../hal/store";
import { reset } from "../hal/sys";
import { Registry } from "../lwm2m/registry";
import { parseUri } from "../lwm2m/uri";
import { saveConfig, saveEndpoint } from "../lwm2m/persist";
import { utf8Encode, utf8Decode, unhex, base64urlDecode, hex, B64 as B64URL } from "../lib/bytes";
import { bootstrapAccount, securityForSsid, purge } from "../lwm2m/objects/security";
import { Txn, writeCredential, removeCredential, readPublicPart, credentialMode, Cred } from "../lwm2m/credentials";
import { BS_STATES, state, startBootstrap } from "../lwm2m/bootstrap";
import { sessions, REG_STATES, stopAll } from "../lwm2m/registration";
import { VERSION, BOARD_NAME } from "./info";

export interface Configurable {
  reg: Registry;
  endpoint: string;
}

type Values = { [k: number]: unknown };
type Insts = { insts: { id: number; v: Values }[] };

const HELP = [
  "help version status reboot bootstrap factory-reset log <err|wrn|inf|dbg>",
  "set endpoint <name> | set bs-uri <uri> | set server <ssid> <uri> [lifetime] | show config|credentials",
  "set security|psk-identity|psk-key|cert|key|server-cert|cert-usage <v|pem> [ssid] | clear credentials",
];
/** Indexed by LOG_* - 1. */
const LEVELS = ["err", "wrn", "inf", "dbg"];
const MODES = ["psk", "rpk", "x509", "nosec"];
/** `set <word>` and the credential part each one writes */
const WORDS = ["psk-identity", "cert", "server-cert", "psk-key", "key", "cert-usage"];
const PART = [1, 1, 2, 3, 3, 4];
/** The standard base64 alphabet and padding (PEM) */
const B64 = B64URL.substring(0, 62) + "+/=";
/** A command that printed its own "OK" (it is about to reset), or is waiting for PEM lines. */
const SILENT = "-";

/** PEM being typed: [word index, handle, base64 so far] */
let pem: [number, number, string] | null = null;

function stored(rc: number): string {
  return rc < 0 ? "store failed (" + rc + ")" : "";
}

function stage(a: Configurable): Registry {
  return a.reg.stage([0, 1, 2]);
}

/** Saves a staged copy of /0../2 (with credential writes t) and makes it live. */
function commit(a: Configurable, staged: Registry, t: Txn): string {
  const rc = saveConfig(staged, t[0], t[1]);
  if (rc >= 0) a.reg.adopt(staged);
  return stored(rc);
}

function coaps(reg: Registry, iid: number): boolean {
  return iid >= 0 && reg.str(0, iid, 0).charAt(4) === "s";
}

/** /0/x/2..5 of an account whose keys are in credential h: mode m, markers for the keys. */
function keysOf(v: Values, h: number, m: number): void {
  v[2] = m;
  v[3] = v[4] = v[5] = new Uint8Array(m < 3 ? [h] : []);
}

/** Tag of the first element inside b when b is exactly one DER SEQUENCE, else -1. */
function derInner(b: Uint8Array): number {
  let n = b[1];
  let hdr = 2;
  if (n > 127) {
    hdr += n & 127;
    for (let i = (n = 0) + 2; i < hdr && hdr < 6; i++) n = n * 256 + b[i];
  }
  return b[0] === 48 && hdr < 6 && hdr + n === b.length ? b[hdr] : -1;
}

/** Checks value b for `set WORDS[w]` on credential h and stores it. */
function setPart(h: number, w: number, b: Uint8Array): string {
  const psk = w === 0 || w === 3;
  const n = b.length;
  if (credentialMode(h) !== (psk ? 0 : 2)) return "set security " + MODES[psk ? 0 : 2] + " first";
  if (w === 3 ? n > 64 : w === 5 ? b[0] > 3 : w === 0 ? n > 128 : derInner(b) !== (w === 4 ? 2 : 48) || n > 2048) return "bad " + WORDS[w];
  return stored(storeCommit([0x8000 | (h << 4) | PART[w]], [b]));
}

function setSecurity(a: Configurable, h: number, mode: string): string {
  const m = MODES.indexOf(mode);
  const iid = h === Cred.BS_CREDENTIAL ? bootstrapAccount(a.reg) : h - 2;
  const used = coaps(a.reg, iid);
  const t: Txn = [[], []];
  if (m < 0 || m === 1) return "unknown mode";
  if (m > 2 && used) return "in use by a coaps:// URI";
  removeCredential(t, h);
  if (m < 3) writeCredential(t, h, 0, new Uint8Array([m]));
  if (!used) return stored(storeCommit(t[0], t[1]));
  const staged = stage(a);
  (staged.inst(0, iid) as { v: Values }).v[2] = m;
  return commit(a, staged, t);
}

function setServer(a: Configurable, w: string[]): string {
  const ssid = +w[2];
  const life = w[4] ? +w[4] : 86400;
  const u = parseUri(w[3]);
  if (!(ssid > 0 && ssid < 65535 && life > 0 && life % 1 === 0 && ssid % 1 === 0 && u)) return "bad SSID, URI or lifetime";
  const staged = stage(a);
  const t: Txn = [[], []];
  let iid = securityForSsid(staged, ssid);
  let m = u.secure ? 0 : 3;
  if (iid < 0 || !u.secure) {
    if (iid < 0) iid = staged.freeInstanceId(0);
    if (iid > 253) return "too many accounts";
    removeCredential(t, iid + 2);
  } else m = Math.max(credentialMode(iid + 2), 0);
  const s = staged.createInst(0, iid) as { v: Values };
  s.v = { 0: w[3], 1: false, 10: ssid };
  keysOf(s.v, iid + 2, m);
  const srv = (staged.obj(1) as Insts).insts;
  let r = srv.length;
  while (r-- > 0 && srv[r].v[0] !== ssid);
  const v = (staged.createInst(1, r < 0 ? staged.freeInstanceId(1) : srv[r].id) as { v: Values }).v;
  v[0] = ssid;
  v[1] = life;
  return commit(a, staged, t);
}

/** Creates or updates the bootstrap account: coaps:// once its credential (handle 1) is complete. */
function setBootstrapUri(a: Configurable, uri: string): string {
  const u = parseUri(uri);
  const m = credentialMode(Cred.BS_CREDENTIAL);
  if (!u) return "bad URI '" + uri + "' (want coap://host:port)";
  // complete: the mode's parts are all there (PSK: identity and key; x509: also the server's certificate)
  if (u.secure && !((m === 0 || m === 2) && readPublicPart(Cred.BS_CREDENTIAL, 1) && readPublicPart(Cred.BS_CREDENTIAL, 3) && (m === 0 || readPublicPart(Cred.BS_CREDENTIAL, 2))))
    return "set the bootstrap credentials first";
  const staged = stage(a);
  const iid = bootstrapAccount(staged);
  const inst = iid >= 0 ? staged.inst(0, iid) : staged.createInst(0, staged.freeInstanceId(0));
  if (!inst) return "no room for the bootstrap account";
  const v = inst.v;
  v[0] = uri;
  v[1] = true;
  keysOf(v, Cred.BS_CREDENTIAL, u.secure ? m : 3);
  return commit(a, staged, [[], []]);
}

/** Endpoint client names: 1..64 printable ASCII characters, no space, '&', '?', '/' or '='. */
function setEndpoint(a: Configurable, name: string): string {
  if (name.length > 64) return "endpoint name must be 1..64 characters";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 32 || c > 126 || "&?/=".indexOf(name.charAt(i)) >= 0) return "bad character in endpoint name";
  }
  const rc = saveEndpoint(name);
  if (rc >= 0) a.endpoint = name;
  return stored(rc);
}

/** Forgets every server account (with its credential) and setting; keeps the bootstrap account. */
export function factoryReset(a: Configurable): string {
  const staged = stage(a);
  const t: Txn = [[], []];
  for (const inst of (staged.obj(0) as Insts).insts) if (inst.v[1] !== true && inst.id < 254) removeCredential(t, inst.id + 2);
  for (const o of staged.objs) purge(staged, o.def.id);
  return commit(a, staged, t);
}

function showConfig(a: Configurable): void {
  const reg = a.reg;
  consoleWrite("endpoint: " + (a.endpoint || "(unset)"));
  for (let oid = 0; oid < 2; oid++) {
    for (const inst of (reg.obj(oid) as Insts).insts) {
      const id = inst.id;
      const p = "/" + oid + "/" + id + " ";
      consoleWrite(oid
        ? p + "ssid=" + reg.num(1, id, 0, -1) + " lifetime=" + reg.num(1, id, 1, -1) + " binding=" + reg.str(1, id, 7)
        : p + (inst.v[1] === true ? "bootstrap" : "ssid=" + reg.num(0, id, 10, -1)) + " uri=" + reg.str(0, id, 0) + " mode=" + reg.num(0, id, 2, -1));
    }
  }
}

function showCredentials(a: Configurable): void {
  const h = [Cred.BS_CREDENTIAL];
  const who = ["bootstrap"];
  for (const inst of (a.reg.obj(0) as Insts).insts)
    if (inst.v[1] !== true && coaps(a.reg, inst.id)) {
      h.push(inst.id + 2);
      who.push("ssid=" + inst.v[10]);
    }
  for (let i = 0; i < h.length; i++) {
    const m = credentialMode(h[i]);
    let s = "cred " + h[i] + " " + who[i] + " mode=" + (MODES[m] || "none");
    const names = ["", m ? "cert" : "identity", "server-cert", "key", "cert-usage"];
    for (let p = 1; p < 5; p++) {
      const b = readPublicPart(h[i], p);
      if (b) s += " " + names[p] + "=" + (p > 3 ? b[0] : p > 1 || m ? hex(b) : utf8Decode(b));
    }
    consoleWrite(s);
  }
}

/** `set <word> <value> [ssid]` for a credential part or the security mode; null when w is none of them. */
function credentialCommand(a: Configurable, w: string[], n: number): string | null {
  const k = WORDS.indexOf(w[1]);
  if (w[0] !== "set" || (k < 0 && w[1] !== "security") || n < 3 || n > 4) return null;
  let h = Cred.BS_CREDENTIAL;
  if (n > 3) {
    const iid = securityForSsid(a.reg, +w[3]);
    if (!coaps(a.reg, iid)) return "no coaps:// account with SSID " + w[3];
    h = iid + 2;
  }
  const v = w[2];
  if (k < 0) return setSecurity(a, h, v);
  if (v === "pem" && (k === 1 || k === 2 || k === 4)) {
    pem = [k, h, ""];
    return SILENT;
  }
  let b: Uint8Array;
  try {
    b = k === 0 ? utf8Encode(v) : k === 5 ? new Uint8Array([v.length === 1 ? "0123".indexOf(v) : 9]) : unhex(v);
  } catch (e) {
    return "bad hex";
  }
  return setPart(h, k, b);
}

/** Runs one command; returns "" for OK, SILENT, or the error reason. */
function exec(a: Configurable, w: string[]): string {
  const n = w.length;
  const cmd = w[0];
  const arg = w[1];
  const c = n + cmd + " " + arg;
  if (c === "2show credentials") showCredentials(a);
  else if (c === "2clear credentials") return setSecurity(a, Cred.BS_CREDENTIAL, "nosec");
  else if (cmd + arg === "setserver" && n > 3 && n < 6) return setServer(a, w);
  else if (c === "3set endpoint") return setEndpoint(a, w[2]);
  else if (c === "3set bs-uri") return setBootstrapUri(a, w[2]);
  else if (c === "2show config") showConfig(a);
  else if (cmd === "log" && n === 2 && LEVELS.indexOf(arg) >= 0) setLogSink(null, LEVELS.indexOf(arg) + 1);
  else {
    const cred = credentialCommand(a, w, n);
    if (cred !== null) return cred;
    const k = " help version status bootstrap reboot factory-reset show set log ".indexOf(" " + cmd + " ");
    if (k < 0) return "unknown command '" + cmd + "' (try help)";
    if (n > 1 || k > 50) return "bad arguments for '" + cmd + "' (try help)";
    if (cmd === "help") for (const l of HELP) consoleWrite(l);
    else if (cmd === "version") consoleWrite("meter-fw " + VERSION + " board=" + BOARD_NAME + " engine=duktape");
    else if (cmd === "status") {
      consoleWrite("bootstrap: " + BS_STATES[state]);
      for (const s of sessions) consoleWrite("server " + s.ssid + ": " + REG_STATES[s.state] + " " + s.uri + (s.loc.length ? " /" + s.loc.join("/") : ""));
      if (!sessions.length) consoleWrite("servers: none");
      consoleWrite("endpoint: " + (a.endpoint || "(unset)"));
      consoleWrite("heap: used=" + __hal.sys_heap(0) + " peak=" + __hal.sys_heap(1) + " pool=" + __hal.sys_heap(2));
    } else if (cmd === "bootstrap") {
      if (bootstrapAccount(a.reg) < 0) return "no bootstrap account (set bs-uri first)";
      if (!a.endpoint) return "no endpoint name (set endpoint first)";
      stopAll();
      startBootstrap(true);
    } else {
      const why = cmd === "reboot" ? "" : factoryReset(a);
      if (why) return why;
      consoleWrite("OK");
      reset(cmd === "reboot" ? "console" : cmd);
      return SILENT;
    }
  }
  return "";
}

/**
 * Feeds a console line to a PEM block being typed; true when the line was taken. A line that
 * cannot be part of the block drops it (ERROR) and returns false: it then runs as a command.
 */
function pemLine(p: [number, number, string], l: string): boolean {
  pem = null;
  if (l.substring(0, 9) === "-----END ") {
    let why = "bad PEM";
    try {
      const b = base64urlDecode(p[2].split("+").join("-").split("/").join("_"));
      if (b.length) why = setPart(p[1], p[0], b);
    } catch (e) {}
    consoleWrite(why ? "ERROR: " + why : "OK");
    return true;
  }
  let ok = l.substring(0, 11) === "-----BEGIN " || p[2].length < 2800;
  for (let i = 0; i < l.length && ok && l.charAt(0) !== "-"; i++) ok = B64.indexOf(l.charAt(i)) >= 0;
  if (!ok) consoleWrite("ERROR: PEM input abandoned");
  else {
    pem = p;
    p[2] += l.charAt(0) === "-" ? "" : l;
  }
  return ok;
}

export function runCommand(line: string, a: Configurable): void {
  if (pem && pemLine(pem, line.trim())) return;
  const w: string[] = [];
  for (const part of line.split(" ")) {
    const p = part.trim();
    if (p) w.push(p);
  }
  if (!w.length) return;
  let why: string;
  try {
    why = exec(a, w);
  } catch (e) {
    why = "internal: " + (e as Error).message;
  }
  if (why !== SILENT) consoleWrite(why ? "ERROR: " + why : "OK");
}
