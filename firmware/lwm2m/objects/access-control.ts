// LwM2M Access Control (/2): which management server may do what to which object instance.
// Written by the bootstrap server (or created with an instance a server creates); checked by
// the DM interface when more than one management server is configured.
import { ObjectDef, Registry, MultiValue } from "../registry";

export const enum Acl {
  R = 1,
  W = 2,
  E = 4,
  D = 8,
  C = 16,
  ALL = 31,
  /** Instance id in an ACL instance that stands for "Create on the object". */
  CREATE_IID = 65535,
}

export const aclDef: ObjectDef = {
  id: 2,
  multi: true,
  // resourceId << 9 | T_* type << 5 | R 1, W 2, E 4, MULTI 8, MAND 16
  // 0 object id R, 1 instance id R, 2 ACL RW multiple, 3 owner RW
  res: [81, 593, 1099, 1619],
};

/** The ACL instance governing /oid/iid, or null. */
function aclFor(reg: Registry, oid: number, iid: number) {
  const o = reg.obj(2);
  for (const inst of o ? o.insts : []) if (inst.v[0] === oid && inst.v[1] === iid) return inst;
  return null;
}

/**
 * Whether server ssid may perform an operation needing right (Acl bit) on /oid/iid (iid
 * CREATE_IID for a Create on /oid). With a single management server there is no checking;
 * with several, an instance without an ACL instance is out of reach. The owner of an ACL
 * instance manages it (and has full rights when the ACL gives it none); an ACL's resource
 * instance 0 holds the rights of every server it does not name.
 */
export function aclAllows(reg: Registry, ssid: number, oid: number, iid: number, right: number): boolean {
  const srv = reg.obj(1);
  if (!reg.obj(2) || !srv || srv.insts.length < 2) return true;
  if (oid === 2) {
    // ACL instances come from the bootstrap server or with a created instance, never by Create
    const own = reg.inst(2, iid);
    return own ? right === Acl.R || own.v[3] === ssid : right !== Acl.C;
  }
  const inst = aclFor(reg, oid, iid);
  if (!inst) return false;
  const acl = (inst.v[2] || {}) as MultiValue;
  const r = acl[ssid] !== undefined ? acl[ssid] : inst.v[3] === ssid ? Acl.ALL : acl[0];
  // an absent right (undefined) gives 0
  return ((r as number) & right) > 0;
}

/** After server ssid created /oid/iid: an ACL instance making it the owner, full rights. */
export function aclCreated(reg: Registry, ssid: number, oid: number, iid: number): void {
  if (oid === 2 || !reg.obj(2) || aclFor(reg, oid, iid)) return;
  const inst = reg.createInst(2, reg.freeInstanceId(2));
  if (inst) inst.v = { 0: oid, 1: iid, 2: { [ssid]: Acl.ALL } as MultiValue, 3: ssid };
}

/** After /oid/iid was deleted: its ACL instance goes too. */
export function aclDeleted(reg: Registry, oid: number, iid: number): void {
  const inst = aclFor(reg, oid, iid);
  if (inst) reg.remove(2, inst.id);
}
