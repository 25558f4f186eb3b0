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
import { hex } from "../lib/bytes";

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
