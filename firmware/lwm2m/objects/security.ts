// LwM2M Security (/0). Never reachable by a management server; secrets never leave.
import { ObjectDef, Registry, Instance } from "../registry";

export const enum Sec {
  SEC_URI = 0,
  SEC_BOOTSTRAP = 1,
  SEC_MODE = 2,
  SEC_IDENTITY = 3,
  SEC_SERVER_KEY = 4,
  SEC_SECRET = 5,
  SEC_SSID = 10,
  SEC_HOLD_OFF = 11,
  SEC_BS_TIMEOUT = 12,
  MODE_PSK = 0,
  MODE_NOSEC = 3,
}

export const securityDef: ObjectDef = {
  id: 0,
  multi: true,
  // resourceId << 9 | T_* type << 5 | R 1, W 2, E 4, MULTI 8, MAND 16
  // 0 uri, 1 bootstrap, 2 mode, 3 identity, 4 server key, 5 secret (RW, mandatory); 10 ssid, 11 hold-off, 12 bs timeout, 15 certificate usage
  res: [51, 691, 1107, 1747, 2259, 2771, 5187, 5699, 6211, 7747],
};

function isBootstrap(inst: Instance): boolean {
  return inst.v[Sec.SEC_BOOTSTRAP] === true;
}

/** Instance id of the bootstrap account, -1 when there is none. */
export function bootstrapAccount(reg: Registry): number {
  return securityForSsid(reg, null);
}

/** Deletes every instance of an object except the bootstrap account. */
export function purge(reg: Registry, oid: number): void {
  const o = reg.obj(oid);
  if (o) o.insts = oid ? [] : o.insts.filter(isBootstrap);
}

/** Security instance of the management account with this SSID (null: of the bootstrap
 * account), -1 when none. */
export function securityForSsid(reg: Registry, ssid: number | null): number {
  const o = reg.obj(0);
  for (const inst of o ? o.insts : []) if (ssid === null ? isBootstrap(inst) : !isBootstrap(inst) && inst.v[Sec.SEC_SSID] === ssid) return inst.id;
  return -1;
}
