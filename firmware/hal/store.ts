// Records keyed by 16-bit id; writes between begin and commit land atomically.
import { Hal } from "./codes";
import { fail } from "../lib/bytes";

let buf = new Uint8Array(512);

/** A copy of the record, null when absent, corrupted or tampered with (the store has
 * reported those and dropped them); throws on any other store error. */
export function storeRead(id: number): Uint8Array | null {
  let n = __hal.store_read(id, buf);
  if (n === Hal.ETOOBIG || n > buf.length) {
    buf = new Uint8Array(4096);
    n = __hal.store_read(id, buf);
  }
  if (n === Hal.ENOENT || n === Hal.ECORRUPT || n === Hal.EAUTH) return null;
  if (n < 0) fail("store read " + id + ": " + n);
  return new Uint8Array(buf.subarray(0, n));
}

/** Applies the writes (data) and removes (null) atomically; returns 0 or a HAL error. */
export function storeCommit(ids: number[], data: (Uint8Array | null)[]): number {
  let rc = __hal.store_begin();
  if (rc < 0) return rc;
  for (let i = 0; i < ids.length && rc >= 0; i++) {
    const d = data[i];
    rc = d ? __hal.store_write(ids[i], d) : __hal.store_remove(ids[i]);
    if (rc === Hal.ENOENT && !d) rc = 0;
  }
  if (rc < 0) {
    __hal.store_abort();
    return rc;
  }
  return __hal.store_commit();
}
