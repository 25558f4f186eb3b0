// Credential records in the secure store. Handle h (1..255) names the records
// 0x8000 | h << 4 | part (hal/store/store.h); the DTLS offload reads them itself from the
// handle given to dtls_open. Secrets go in and never come out: reading the secret key, the
// server key or an own certificate yields the first 8 bytes of its SHA-256, computed in C;
// only the mode, a PSK identity and the certificate usage read back as they are.
//
// Handles: 1 = the bootstrap account, iid + 2 = the management account at /0/iid (iid <= 253).
// Writes are queued on a Txn and committed by the caller in one store transaction together
// with whatever else belongs to the same change (storeCommit, or saveConfig for /0../2).
import { storeRead } from "../hal/store";
import { hex, utf8Encode } from "../lib/bytes";
import { Registry, Instance } from "./registry";
import { saveConfig } from "./persist";

export const enum Cred {
  CRED_MODE = 0,
  CRED_IDENTITY = 1,
  CRED_SERVER_KEY = 2,
  CRED_SECRET = 3,
  CRED_USAGE = 4,
  BS_CREDENTIAL = 1,
}

/** Record ids and their new contents (null = remove), applied atomically by the caller. */
export type Txn = [number[], (Uint8Array | null)[]];

export function credentialId(h: number, part: number): number {
  return 0x8000 | (h << 4) | part;
}

/** Queues a write of one part (null removes it). */
export function writeCredential(t: Txn, h: number, part: number, bytes: Uint8Array | null): void {
  t[0].push(credentialId(h, part));
  t[1].push(bytes);
}

/** Queues the removal of every part of a credential that exists (no tombstones for the rest). */
export function removeCredential(t: Txn, h: number): void {
  for (let p = 0; p < 5; p++) if (readPublicPart(h, p)) writeCredential(t, h, p, null);
}

/** A part's bytes, null when absent; fingerprinted parts give only their fingerprint. */
export function readPublicPart(h: number, part: number): Uint8Array | null {
  return storeRead(credentialId(h, part));
}

/** Security mode of a credential (0 PSK, 1 RPK, 2 certificate, 3 NoSec), -1 when none. */
export function credentialMode(h: number): number {
  const b = readPublicPart(h, Cred.CRED_MODE);
  return b && b.length === 1 ? b[0] : -1;
}

/** A fingerprinted part (secret key, server key, own certificate: the store gives the first
 * 8 bytes of its SHA-256) as 16 hex characters; "" when absent. */
export function fingerprintHex(h: number, part: number): string {
  const b = readPublicPart(h, part);
  return b ? hex(b) : "";
}

/** Security resources (/0/x/2, 3, 4, 5, 15) held in credential parts 0..4. */
const KEY_RESOURCES = [2, 3, 4, 5, 15];

function handleOf(inst: Instance): number {
  return inst.v[1] === true ? Cred.BS_CREDENTIAL : inst.id + 2;
}

function partBytes(x: unknown): Uint8Array | null {
  return typeof x === "number" ? new Uint8Array([x]) : typeof x === "string" ? utf8Encode(x) : x instanceof Uint8Array && x.length ? x : null;
}

/** Markers for /0/x/3..5 of an account whose keys are in credential h (mode m): they say
 * "in the secure store" and satisfy the consistency check without holding a secret. */
export function keyMarkers(v: { [rid: number]: unknown }, h: number, m: number): void {
  v[3] = v[4] = v[5] = new Uint8Array(m < 3 ? [h] : []);
}

/**
 * Moves the key material a bootstrap server wrote into the staged /0 into credential
 * records (queued on t, committed with the configuration) and leaves markers in /0, so no
 * secret is kept in the JS heap or in a plain record. Parts the server did not touch stay;
 * credentials of accounts that are gone or NoSec are removed.
 */
export function secureKeys(staged: Registry, live: Registry, t: Txn): void {
  const kept: number[] = [];
  for (const inst of (staged.obj(0) as { insts: Instance[] }).insts) {
    const v = inst.v;
    const h = handleOf(inst);
    const old = live.inst(0, inst.id);
    const same = old && handleOf(old) === h ? old.v : null;
    const m = v[2] as number;
    let changed = false;
    kept.push(h);
    for (let p = 0; p < 5; p++) {
      const x = v[KEY_RESOURCES[p]];
      if (m < 3 && same && same[KEY_RESOURCES[p]] === x) continue;
      writeCredential(t, h, p, m < 3 ? partBytes(x) : null);
      changed = true;
    }
    if (changed) keyMarkers(v, h, m);
  }
  for (const inst of (live.obj(0) as { insts: Instance[] }).insts) {
    const h = handleOf(inst);
    if (kept.indexOf(h) < 0) for (let p = 0; p < 5; p++) writeCredential(t, h, p, null);
  }
}

/**
 * Commits a staged /0../2 in one store transaction with its keys moved into credential
 * records (secureKeys) and the caller's own records already queued on t; then zeroizes every
 * replaced key left in flash and makes the staged copy live. 0 or the HAL error.
 */
export function commitConfig(staged: Registry, live: Registry, t: Txn = [[], []]): number {
  const n = t[0].length;
  secureKeys(staged, live, t);
  const keys = t[0].length > n;
  const rc = saveConfig(staged, t[0], t[1]);
  if (rc < 0) return rc;
  if (keys) __hal.store_scrub();
  live.adopt(staged);
  return 0;
}
