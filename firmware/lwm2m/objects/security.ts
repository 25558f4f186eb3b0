// LwM2M Security (/0). Never reachable by a management server; secrets never leave.
import { T_STRING, T_BOOLEAN, T_INTEGER, T_OPAQUE } from "../../formats/model";
import { ObjectDef, Registry, RW, MAND } from "../registry";

export const SEC_URI = 0;
export const SEC_BOOTSTRAP = 1;
export const SEC_MODE = 2;
export const SEC_IDENTITY = 3;
export const SEC_SERVER_KEY = 4;
export const SEC_SECRET = 5;
export const SEC_SSID = 10;
export const SEC_HOLD_OFF = 11;
export const SEC_BS_TIMEOUT = 12;

export const MODE_PSK = 0;
export const MODE_NOSEC = 3;

export const securityDef: ObjectDef = {
  id: 0,
  multi: true,
  res: [
    [0, T_STRING, RW | MAND],
    [1, T_BOOLEAN, RW | MAND],
    [2, T_INTEGER, RW | MAND],
    [3, T_OPAQUE, RW | MAND],
    [4, T_OPAQUE, RW | MAND],
    [5, T_OPAQUE, RW | MAND],
    [10, T_INTEGER, RW],
    [11, T_INTEGER, RW],
    [12, T_INTEGER, RW],
  ],
};

export function isBootstrapAccount(reg: Registry, iid: number): boolean {
  return reg.get(0, iid, SEC_BOOTSTRAP) === true;
}

/** Instance id of the bootstrap account, -1 when there is none. */
export function bootstrapAccount(reg: Registry): number {
  const o = reg.obj(0);
  if (o) for (let i = 0; i < o.insts.length; i++) if (o.insts[i].v[SEC_BOOTSTRAP] === true) return o.insts[i].id;
  return -1;
}

/** Deletes every instance of an object except the bootstrap account. */
export function purge(reg: Registry, oid: number): void {
  const o = reg.obj(oid);
  if (!o) return;
  const kept = [];
  for (let i = 0; i < o.insts.length; i++) if (oid === 0 && o.insts[i].v[SEC_BOOTSTRAP] === true) kept.push(o.insts[i]);
  o.insts = kept;
}

/** Security instance of the management account with this SSID, -1 when none. */
export function securityForSsid(reg: Registry, ssid: number): number {
  const o = reg.obj(0);
  if (o) {
    for (let i = 0; i < o.insts.length; i++) {
      const v = o.insts[i].v;
      if (v[SEC_BOOTSTRAP] !== true && v[SEC_SSID] === ssid) return o.insts[i].id;
    }
  }
  return -1;
}
