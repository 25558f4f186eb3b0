// Out-of-band provisioning at the console (GEISA ADM): the accounts and their credentials.
// An overlay of its own (build/overlays.ts): the console (app/console.ts) calls it for these
// commands only, so `status` or `show config` never load it. Every command is checked
// completely, then applied as one store transaction, or refused with nothing changed.
// Secrets are write-only: never echoed, logged or read back; fingerprints instead.
import { consoleWrite } from "../hal/console";
import { storeCommit } from "../hal/store";
import { Registry } from "../lwm2m/registry";
import { parseUri } from "../lwm2m/uri";
import { saveConfig, loadFlags, Flag, Persist } from "../lwm2m/persist";
import { utf8Encode, utf8Decode, unhex, hex } from "../lib/bytes";
import { bootstrapAccount, securityForSsid, purge } from "../lwm2m/objects/security";
import { Txn, writeCredential, removeCredential, readPublicPart, credentialMode, Cred, commitConfig, keyMarkers } from "../lwm2m/credentials";
import { Configurable, Pem } from "./console";

type Values = { [k: number]: unknown };
type Insts = { insts: { id: number; v: Values }[] };

const MODES = "psk rpk x509 nosec".split(" ");
/** `set <word>`; the credential part each one writes is "112334"[word index] */
const WORDS = "psk-identity cert server-cert psk-key key cert-usage".split(" ");

/** The last line of `help`. */
export function provisionHelp(): string {
  return "set security|" + WORDS.join("|") + " <v|pem> [ssid] | clear credentials";
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
export function setPart(h: number, w: number, b: Uint8Array): string {
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
  for (const o of staged.objs) purge(staged, o.def.id);
  return stored(commitConfig(staged, a.reg));
}

/**
 * Runs a provisioning command (words w): "" for OK, the error reason, Pem.START + "<word
 * index> <handle>" when PEM lines follow, or null when w is none of these commands.
 */
export function provision(a: Configurable, w: string[]): string | null {
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
      return Pem.START + k + " " + h;
    }
    let b: Uint8Array;
    try {
      b = k === 0 ? utf8Encode(v) : k === 5 ? new Uint8Array([v.length === 1 ? "0123".indexOf(v) : 9]) : unhex(v);
    } catch (e) {
      return "bad hex";
    }
    return setPart(h, k, b);
  }

  return null;
}
