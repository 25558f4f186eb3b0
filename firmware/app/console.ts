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
import { saveConfig, loadFlags, Flag, Persist } from "../lwm2m/persist";
import { utf8Encode, utf8Decode, unhex, base64urlDecode, hex, B64 } from "../lib/bytes";
import { bootstrapAccount, securityForSsid, purge } from "../lwm2m/objects/security";
import { Txn, writeCredential, removeCredential, readPublicPart, credentialMode, Cred, secureKeys, keyMarkers } from "../lwm2m/credentials";
import { bootstrapState, startBootstrap } from "../lwm2m/bootstrap";
import { sessions, REG_STATES, stopAll } from "../lwm2m/registration";
import { VERSION, BOARD_NAME } from "./info";

export interface Configurable {
  reg: Registry;
  endpoint: string;
}

type Values = { [k: number]: unknown };
type Insts = { insts: { id: number; v: Values }[] };

const MODES = "psk rpk x509 nosec".split(" ");
/** `set <word>`; the credential part each one writes is "112334"[word index] */
const WORDS = "psk-identity cert server-cert psk-key key cert-usage".split(" ");
/** The command words; those from " log " (at ARGS) on take arguments. */
const COMMANDS = " help version status reboot bootstrap factory-reset log show set ";
const enum C {
  ARGS = 51,
}
const HELP =
  COMMANDS.substring(1, C.ARGS + 5) + "<err|wrn|inf|dbg>\n" +
  "set endpoint <name> | set bs-uri <uri> | set server <ssid> <uri> [lifetime] | set rebootstrap keep|wipe | show config|credentials\n" +
  "set security|" + WORDS.join("|") + " <v|pem> [ssid] | clear credentials";
/** The standard base64 alphabet and padding (PEM) */
/** A command that printed its own "OK" (it is about to reset), or is waiting for PEM lines. */
const enum S {
  SILENT = "-",
}

/** PEM being typed: [word index, handle, base64 so far] */
let pem: [number, number, string] | null = null;

/** The command's last line: OK, or ERROR with the reason. */
function reply(why: string): void {
  consoleWrite(why ? "ERROR: " + why : "OK");
}

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

/** Checks value b for `set WORDS[w]` on credential h and stores it. */
function setPart(h: number, w: number, b: Uint8Array): string {
  const mode = w === 0 || w === 3 ? 0 : 2; // psk-identity and psk-key: PSK; the others: x509
  const n = b.length;
  // DER: exactly one SEQUENCE; tag is that of the first element inside it, or -1
  let len = b[1];
  let hdr = 2;
  if (len > 127) {
    hdr += len & 127;
    for (let i = (len = 0) + 2; i < hdr && hdr < 6; i++) len = len * 256 + b[i];
  }
  const tag = b[0] === 48 && hdr < 6 && hdr + len === n ? b[hdr] : -1;
  if (credentialMode(h) !== mode) return "set security " + MODES[mode] + " first";
  if (w === 3 ? n > 64 : w === 5 ? b[0] > 3 : w === 0 ? n > 128 : tag !== (w === 4 ? 2 : 48) || n > 2048) return "bad " + WORDS[w];
  return stored(storeCommit([0x8000 | (h << 4) | +"112334".charAt(w)], [b]));
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

/** Forgets every server account (with its credential) and setting; keeps the bootstrap account. */
export function factoryReset(a: Configurable): string {
  const staged = stage(a);
  const t: Txn = [[], []];
  for (const o of staged.objs) purge(staged, o.def.id);
  secureKeys(staged, a.reg, t);
  const why = commit(a, staged, t);
  // The removed keys leave no copy behind in flash.
  if (!why) __hal.store_scrub();
  return why;
}

function endpointLine(a: Configurable): void {
  consoleWrite("endpoint: " + (a.endpoint || "(unset)"));
}

/** Runs one command; returns "" for OK, S.SILENT, or the error reason. */
function exec(a: Configurable, w: string[]): string {
  const n = w.length;
  const cmd = w[0];
  const arg = w[1];
  const v = w[2];
  const c = n + cmd + " " + arg;
  const reg = a.reg;
  const t: Txn = [[], []];

  if (c === "2show credentials") {
    // the bootstrap account's credential (i = -1), then those of the coaps:// server accounts
    const insts = (reg.obj(0) as Insts).insts;
    for (let i = -1; i < insts.length; i++) {
      const inst = insts[i];
      if (inst && (inst.v[1] === true || !coaps(reg, inst.id))) continue;
      const h = inst ? inst.id + 2 : Cred.BS_CREDENTIAL;
      const m = credentialMode(h);
      let s = "cred " + h + " " + (inst ? "ssid=" + inst.v[10] : "bootstrap") + " mode=" + (MODES[m] || "none");
      for (let p = 1; p < 5; p++) {
        const b = readPublicPart(h, p);
        // part 1 is the PSK identity or the certificate, then server-cert, key, cert-usage
        if (b) s += " " + (p > 1 ? WORDS[p > 2 ? p + 1 : p] : m ? "cert" : "identity") + "=" + (p > 3 ? b[0] : p > 1 || m ? hex(b) : utf8Decode(b));
      }
      consoleWrite(s);
    }
    return "";
  }

  if (c === "2clear credentials") return setSecurity(a, Cred.BS_CREDENTIAL, "nosec");

  if (cmd + arg === "setserver" && n > 3 && n < 6) {
    // set server <ssid> <uri> [lifetime]
    const ssid = +v;
    const life = w[4] ? +w[4] : 86400;
    const u = parseUri(w[3]);
    if (!(ssid > 0 && ssid < 65535 && life > 0 && !(life % 1 || ssid % 1) && u)) return "bad SSID, URI or lifetime";
    const staged = stage(a);
    let iid = securityForSsid(staged, ssid);
    let m = u.secure ? 0 : 3;
    if (iid < 0 || !u.secure) {
      if (iid < 0) iid = staged.freeInstanceId(0);
      if (iid > 253) return "too many accounts";
      removeCredential(t, iid + 2);
    } else m = Math.max(credentialMode(iid + 2), 0);
    const s = staged.createInst(0, iid) as { v: Values };
    s.v = { 0: w[3], 1: false, 10: ssid };
    s.v[2] = m;
    keyMarkers(s.v, iid + 2, m);
    const srv = (staged.obj(1) as Insts).insts;
    let r = srv.length;
    while (r-- > 0 && srv[r].v[0] !== ssid);
    const sv = (staged.createInst(1, r < 0 ? staged.freeInstanceId(1) : srv[r].id) as { v: Values }).v;
    sv[0] = ssid;
    sv[1] = life;
    return commit(a, staged, t);
  }

  if (c === "3set endpoint") {
    // Endpoint client names: 1..64 printable ASCII characters, no space, '&', '?', '/' or '='.
    if (v.length > 64) return "endpoint name too long";
    for (let i = 0; i < v.length; i++) {
      const ch = v.charCodeAt(i);
      if (ch <= 32 || ch > 126 || "&?/=".indexOf(v.charAt(i)) >= 0) return "bad character in endpoint name";
    }
    const rc = storeCommit([Persist.REC_ENDPOINT], [utf8Encode(v)]);
    if (rc >= 0) a.endpoint = v;
    return stored(rc);
  }

  if (c === "3set rebootstrap") {
    // keep (default): a re-bootstrap starts from the server accounts as they are; wipe: from none
    const f = ["keep", "wipe"].indexOf(v);
    const flags = loadFlags() & ~Flag.WIPE_ON_REBOOTSTRAP;
    return f < 0 ? "want keep or wipe" : stored(storeCommit([Persist.REC_FLAGS], [new Uint8Array([f ? flags | Flag.WIPE_ON_REBOOTSTRAP : flags])]));
  }

  if (c === "3set bs-uri") {
    // Creates or updates the bootstrap account: coaps:// once its credential (handle 1) is complete.
    const u = parseUri(v);
    const m = credentialMode(Cred.BS_CREDENTIAL);
    if (!u) return "bad URI '" + v + "' (want coap://host:port)";
    // complete: the mode's parts are all there (PSK: identity and key; x509: also the server's certificate)
    if (u.secure && !((m === 0 || m === 2) && readPublicPart(Cred.BS_CREDENTIAL, 1) && readPublicPart(Cred.BS_CREDENTIAL, 3) && (m === 0 || readPublicPart(Cred.BS_CREDENTIAL, 2))))
      return "set the bootstrap credentials first";
    const staged = stage(a);
    const iid = bootstrapAccount(staged);
    const inst = iid >= 0 ? staged.inst(0, iid) : staged.createInst(0, staged.freeInstanceId(0));
    if (!inst) return "too many accounts";
    inst.v[0] = v;
    inst.v[1] = true;
    inst.v[2] = u.secure ? m : 3;
    keyMarkers(inst.v, Cred.BS_CREDENTIAL, u.secure ? m : 3);
    return commit(a, staged, t);
  }

  if (c === "2show config") {
    endpointLine(a);
    for (let oid = 0; oid < 2; oid++) {
      for (const inst of (reg.obj(oid) as Insts).insts) {
        const id = inst.id;
        const p = "/" + oid + "/" + id + " ";
        consoleWrite(oid
          ? p + "ssid=" + reg.num(1, id, 0, -1) + " lifetime=" + reg.num(1, id, 1, -1) + " binding=" + reg.str(1, id, 7)
          : p + (inst.v[1] === true ? "bootstrap" : "ssid=" + reg.num(0, id, 10, -1)) + " uri=" + reg.str(0, id, 0) + " mode=" + reg.num(0, id, 2, -1));
      }
    }
    return "";
  }

  // LOG_* is 1 + the level's index
  const level = " err wrn inf dbg ".indexOf(" " + arg + " ");
  if (cmd === "log" && n === 2 && level >= 0) return setLogSink(null, level / 4 + 1), "";

  // set <security|credential part> <value> [ssid]
  const k = WORDS.indexOf(arg);
  if (cmd === "set" && (k >= 0 || arg === "security") && n > 2 && n < 5) {
    let h = Cred.BS_CREDENTIAL;
    if (n > 3) {
      const iid = securityForSsid(reg, +w[3]);
      if (!coaps(reg, iid)) return "no coaps:// account with SSID " + w[3];
      h = iid + 2;
    }
    if (k < 0) return setSecurity(a, h, v);
    if (v === "pem" && (22 >> k) & 1) {
      // cert, server-cert, key: the PEM lines follow
      pem = [k, h, ""];
      return S.SILENT;
    }
    let b: Uint8Array;
    try {
      b = k === 0 ? utf8Encode(v) : k === 5 ? new Uint8Array([v.length === 1 ? "0123".indexOf(v) : 9]) : unhex(v);
    } catch (e) {
      return "bad hex";
    }
    return setPart(h, k, b);
  }

  const known = COMMANDS.indexOf(" " + cmd + " ");
  if (known < 0 || n > 1 || known >= C.ARGS) return (known < 0 ? "unknown command" : "bad arguments for") + " '" + cmd + "' (try help)";
  if (cmd === "help") consoleWrite(HELP);
  else if (cmd === "version") consoleWrite("meter-fw " + VERSION + " board=" + BOARD_NAME + " engine=duktape");
  else if (cmd === "status") {
    consoleWrite("bootstrap: " + bootstrapState());
    for (const s of sessions) consoleWrite("server " + s.ssid + ": " + REG_STATES[s.state] + " " + s.uri + (s.loc.length ? " /" + s.loc.join("/") : ""));
    if (!sessions.length) consoleWrite("servers: none");
    endpointLine(a);
    consoleWrite("heap: used=" + __hal.sys_heap(0) + " peak=" + __hal.sys_heap(1) + " pool=" + __hal.sys_heap(2));
  } else if (cmd === "bootstrap") {
    if (bootstrapAccount(reg) < 0) return "no bootstrap account (set bs-uri first)";
    if (!a.endpoint) return "set endpoint first";
    stopAll();
    startBootstrap(true);
  } else {
    const why = cmd === "reboot" ? "" : factoryReset(a);
    if (why) return why;
    reply("");
    reset(cmd === "reboot" ? "console" : cmd);
    return S.SILENT;
  }
  return "";
}

/** The console runs as an overlay (build/overlays.ts): it stays loaded while PEM lines are
 * still to come. */
export function keep(): boolean {
  return pem !== null;
}

export function runCommand(line: string, a: Configurable): void {
  const p = pem;
  const l = line.trim();
  if (p) {
    // A PEM block being typed takes the line; a line that cannot be part of it drops the block
    // (ERROR), then runs as a command.
    pem = null;
    if (l.substring(0, 9) === "-----END ") {
      let why = "bad PEM";
      try {
        const b = base64urlDecode(p[2].split("+").join("-").split("/").join("_"));
        if (b.length) why = setPart(p[1], p[0], b);
      } catch (e) {}
      return reply(why);
    }
    // the standard base64 alphabet and padding
    const alphabet = B64.substring(0, 62) + "+/=";
    let ok = l.substring(0, 11) === "-----BEGIN " || p[2].length < 2800;
    for (let i = 0; i < l.length && ok && l.charAt(0) !== "-"; i++) ok = alphabet.indexOf(l.charAt(i)) >= 0;
    if (!ok) reply("PEM input abandoned");
    else {
      pem = p;
      p[2] += l.charAt(0) === "-" ? "" : l;
      return;
    }
  }
  const w: string[] = [];
  for (const part of line.split(" ")) {
    const q = part.trim();
    if (q) w.push(q);
  }
  if (!w.length) return;
  let why: string;
  try {
    why = exec(a, w);
  } catch (e) {
    why = "internal: " + (e as Error).message;
  }
  if (why !== S.SILENT) reply(why);
}
