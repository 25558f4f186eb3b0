// The configuration in the store: one TLV record per /0../2 instance (id = oid << 8 | iid),
// an index of those records, and small records for the endpoint name and the settings. Only
// the console (an overlay) writes the small records: it does so itself, with storeCommit.
import { encodeContent, decodeContent, Cf } from "../formats/content-format";
import { Entry } from "../formats/model";
import { fail, utf8Decode } from "../lib/bytes";
import { logWrn } from "../lib/log";
import { storeRead, storeCommit } from "../hal/store";
import { Registry, Reg } from "./registry";

export const enum Persist {
  REC_INDEX = 0x7f00,
  REC_ENDPOINT = 0x7f01,
  REC_FLAGS = 0x7f02,
}

/** Bits of the meter's settings record. */
export const enum Flag {
  WIPE_ON_REBOOTSTRAP = 1,
}

const CONFIG_OBJECTS = [0, 1, 2];

function readIndex(): number[] {
  const ids: number[] = [];
  let b: Uint8Array | null = null;
  try {
    b = storeRead(Persist.REC_INDEX);
  } catch (e) {
    logWrn("persist", (e as Error).message);
  }
  if (!b) return ids;
  if (b.length % 2 !== 0) {
    logWrn("persist", "index record corrupt, ignored");
    return ids;
  }
  for (let i = 0; i < b.length; i += 2) ids.push((b[i] << 8) | b[i + 1]);
  return ids;
}

/** Loads every stored instance into reg; returns how many were loaded. */
export function loadConfig(reg: Registry): number {
  const ids = readIndex();
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const oid = ids[i] >> 8;
    const iid = ids[i] & 255;
    try {
      if (CONFIG_OBJECTS.indexOf(oid) < 0) fail("unknown object");
      const b = storeRead(ids[i]);
      if (!b) fail("missing");
      const entries = decodeContent(Cf.CF_TLV, [oid, iid], b, reg.types);
      if (reg.write([oid, iid], entries, Reg.W_BOOT) >= 0x80) fail("rejected");
      n++;
    } catch (e) {
      reg.remove(oid, iid);
      logWrn("persist", "record 0x" + ids[i].toString(16) + " skipped: " + (e as Error).message);
    }
  }
  return n;
}

/**
 * Stores the /0../2 instances of src (a live or staged registry) atomically, in the same
 * transaction as the caller's own records ids/data (null = remove); 0 or a HAL error.
 */
export function saveConfig(src: Registry, ids?: number[], data?: (Uint8Array | null)[]): number {
  ids = ids || [];
  data = data || [];
  const old = readIndex();
  const index: number[] = [];
  for (let k = 0; k < CONFIG_OBJECTS.length; k++) {
    const o = src.obj(CONFIG_OBJECTS[k]);
    if (!o) continue;
    for (let i = 0; i < o.insts.length; i++) {
      const path = [o.def.id, o.insts[i].id];
      if (path[1] > 255) continue;
      const out: Entry[] = [];
      src.read(path, out, false);
      ids.push((path[0] << 8) | path[1]);
      data.push(encodeContent(Cf.CF_TLV, path, out, src.types));
      index.push(path[0], path[1]);
    }
  }
  for (let i = 0; i < old.length; i++) {
    if (ids.indexOf(old[i]) < 0) {
      ids.push(old[i]);
      data.push(null);
    }
  }
  ids.push(Persist.REC_INDEX);
  data.push(new Uint8Array(index));
  return storeCommit(ids, data);
}

export function loadEndpoint(): string {
  try {
    const b = storeRead(Persist.REC_ENDPOINT);
    return b ? utf8Decode(b) : "";
  } catch (e) {
    logWrn("persist", "endpoint record corrupt");
    return "";
  }
}

/** The settings bits (Flag), 0 when never set. */
export function loadFlags(): number {
  const b = storeRead(Persist.REC_FLAGS);
  return b && b.length === 1 ? b[0] : 0;
}
