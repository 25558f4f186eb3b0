// Console commands for out-of-band provisioning (GEISA ADM) of credentials and of factory
// management-server accounts. Secrets are write-only: never echoed, logged or read back; the
// console shows fingerprints (first 8 bytes of SHA-256). Each command is checked completely,
// then applied as one store transaction, or refused with nothing changed.
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
import { consoleWrite } from "../hal/console";
import { storeCommit } from "../hal/store";
import { Registry } from "../lwm2m/registry";
import { parseUri } from "../lwm2m/uri";
import { utf8Encode, utf8Decode, unhex, base64urlDecode, hex, B64 as B64URL } from "../lib/bytes";
import { bootstrapAccount, securityForSsid } from "../lwm2m/objects/security";
import { Txn, BS_CREDENTIAL, writeCredential, removeCredential, readPublicPart, credentialMode } from "../lwm2m/credentials";
import { Configurable, commit, storeFailed } from "./config";

type Values = { [k: number]: unknown };

const MODES = ["psk", "rpk", "x509", "nosec"];
/** `set <word>` and the credential part each one writes */
const WORDS = ["psk-identity", "cert", "server-cert", "psk-key", "key", "cert-usage"];
const PART = [1, 1, 2, 3, 3, 4];
/** The standard base64 alphabet and padding (PEM) */
const B64 = B64URL.substring(0, 62) + "+/=";

/** PEM being typed: [word index, handle, base64 so far] */
let pem: [number, number, string] | null = null;

function coaps(reg: Registry, iid: number): boolean {
  return iid >= 0 && reg.str(0, iid, 0).charAt(4) === "s";
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
  return storeFailed(storeCommit([0x8000 | (h << 4) | PART[w]], [b]));
}

function setSecurity(a: Configurable, h: number, mode: string): string {
  const m = MODES.indexOf(mode);
  const iid = h === BS_CREDENTIAL ? bootstrapAccount(a.reg) : h - 2;
  const used = coaps(a.reg, iid);
  const t: Txn = [[], []];
  if (m < 0 || m === 1) return "unknown mode";
  if (m > 2 && used) return "in use by a coaps:// URI";
  removeCredential(t, h);
  if (m < 3) writeCredential(t, h, 0, new Uint8Array([m]));
  if (!used) return storeFailed(storeCommit(t[0], t[1]));
  const staged = a.reg.stage([0, 1, 2]);
  (staged.inst(0, iid) as { v: Values }).v[2] = m;
  return commit(a, staged, t);
}

/** /0/x/2..5 of an account whose keys are in credential h: mode m, markers for the keys. */
export function keysOf(v: Values, h: number, m: number): void {
  v[2] = m;
  v[3] = v[4] = v[5] = new Uint8Array(m < 3 ? [h] : []);
}

/** True when credential h holds everything its mode needs. */
export function credentialComplete(h: number): boolean {
  const m = credentialMode(h);
  return (m === 0 || m === 2) && !!readPublicPart(h, 1) && !!readPublicPart(h, 3) && (m === 0 || !!readPublicPart(h, 2));
}

function setServer(a: Configurable, w: string[]): string {
  const ssid = +w[2];
  const life = w[4] ? +w[4] : 86400;
  const u = parseUri(w[3]);
  if (!(ssid > 0 && ssid < 65535 && life > 0 && life % 1 === 0 && ssid % 1 === 0 && u)) return "bad SSID, URI or lifetime";
  const staged = a.reg.stage([0, 1, 2]);
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
  const srv = (staged.obj(1) as { insts: { id: number; v: Values }[] }).insts;
  let r = srv.length;
  while (r-- > 0 && srv[r].v[0] !== ssid);
  const v = (staged.createInst(1, r < 0 ? staged.freeInstanceId(1) : srv[r].id) as { v: Values }).v;
  v[0] = ssid;
  v[1] = life;
  return commit(a, staged, t);
}

function showCredentials(a: Configurable): void {
  const h = [BS_CREDENTIAL];
  const who = ["bootstrap"];
  const o = (a.reg.obj(0) as { insts: { id: number; v: Values }[] }).insts;
  for (let i = 0; i < o.length; i++)
    if (o[i].v[1] !== true && coaps(a.reg, o[i].id)) {
      h.push(o[i].id + 2);
      who.push("ssid=" + o[i].v[10]);
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

/**
 * Feeds a console line to a PEM block being typed; true when the line was taken. A line that
 * cannot be part of the block drops it (ERROR) and returns false: it then runs as a command.
 */
export function pemLine(line: string): boolean {
  const p = pem;
  const l = line.trim();
  if (!p) return false;
  if (l.substring(0, 9) === "-----END ") {
    pem = null;
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
  if (ok) p[2] += l.charAt(0) === "-" ? "" : l;
  else {
    pem = null;
    consoleWrite("ERROR: PEM input abandoned");
  }
  return ok;
}

/** Runs a credential command: "" OK, "-" nothing to print yet, an error, or null when w is none of them. */
export function credentialCommand(a: Configurable, w: string[]): string | null {
  const n = w.length;
  const c = w[0] + " " + w[1];
  if (c === "show credentials" && n === 2) return showCredentials(a), "";
  if (c === "clear credentials" && n === 2) return setSecurity(a, BS_CREDENTIAL, "nosec");
  if (c === "set server" && n > 3 && n < 6) return setServer(a, w);
  const k = WORDS.indexOf(w[1]);
  if (w[0] !== "set" || (k < 0 && w[1] !== "security") || n < 3 || n > 4) return null;
  let h = BS_CREDENTIAL;
  if (n > 3) {
    const iid = securityForSsid(a.reg, +w[3]);
    if (!coaps(a.reg, iid)) return "no coaps:// account with SSID " + w[3];
    h = iid + 2;
  }
  const v = w[2];
  if (k < 0) return setSecurity(a, h, v);
  if (v === "pem" && (k === 1 || k === 2 || k === 4)) {
    pem = [k, h, ""];
    return "-";
  }
  let b: Uint8Array;
  try {
    b = k === 0 ? utf8Encode(v) : k === 5 ? new Uint8Array([v.length === 1 ? "0123".indexOf(v) : 9]) : unhex(v);
  } catch (e) {
    return "bad hex";
  }
  return b.length ? setPart(h, k, b) : "bad " + w[1];
}
