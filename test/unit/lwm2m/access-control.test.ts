import { describe, it, expect } from "vitest";
import { Registry, Reg } from "../../../firmware/lwm2m/registry";
import { securityDef } from "../../../firmware/lwm2m/objects/security";
import { serverDef } from "../../../firmware/lwm2m/objects/server";
import { deviceDef } from "../../../firmware/lwm2m/objects/device";
import { aclDef, aclAllows, aclCreated, aclDeleted, Acl } from "../../../firmware/lwm2m/objects/access-control";

function registry(servers: number[]): Registry {
  const reg = new Registry();
  for (const d of [securityDef, serverDef, aclDef, deviceDef]) reg.add(d);
  servers.forEach((ssid, i) => reg.write([1, i], [{ path: [1, i, 0], value: ssid }, { path: [1, i, 1], value: 300 }], Reg.W_BOOT));
  reg.write([3, 0], [], Reg.W_BOOT);
  return reg;
}

function acl(reg: Registry, iid: number, oid: number, oiid: number, rights: { [ssid: number]: number }, owner: number): void {
  const entries = [{ path: [2, iid, 0], value: oid }, { path: [2, iid, 1], value: oiid }, { path: [2, iid, 3], value: owner }];
  for (const k of Object.keys(rights)) entries.push({ path: [2, iid, 2, +k], value: rights[+k] });
  expect(reg.write([2, iid], entries, Reg.W_BOOT)).toBe(0x44);
}

describe("Access Control (/2)", () => {
  it("a single management server has full access without any ACL instance", () => {
    const reg = registry([101]);
    for (const r of [Acl.R, Acl.W, Acl.E, Acl.D]) expect(aclAllows(reg, 101, 3, 0, r)).toBe(true);
    expect(aclAllows(reg, 101, 3, Acl.CREATE_IID, Acl.C)).toBe(true);
  });

  it("with several servers: no ACL instance, no access; named rights, the default (riid 0) for the others", () => {
    const reg = registry([101, 102, 103]);
    expect(aclAllows(reg, 101, 3, 0, Acl.R)).toBe(false);
    acl(reg, 0, 3, 0, { 101: Acl.R | Acl.E, 0: Acl.R }, 101);
    expect(aclAllows(reg, 101, 3, 0, Acl.R)).toBe(true);
    expect(aclAllows(reg, 101, 3, 0, Acl.E)).toBe(true);
    expect(aclAllows(reg, 101, 3, 0, Acl.W)).toBe(false);
    expect(aclAllows(reg, 102, 3, 0, Acl.R)).toBe(true);
    expect(aclAllows(reg, 102, 3, 0, Acl.E)).toBe(false);
  });

  it("the owner has full rights when the ACL names none for it, and alone manages the ACL instance", () => {
    const reg = registry([101, 102]);
    acl(reg, 4, 1, 1, { 102: Acl.R }, 101);
    expect(aclAllows(reg, 101, 1, 1, Acl.W)).toBe(true);
    expect(aclAllows(reg, 102, 1, 1, Acl.W)).toBe(false);
    expect(aclAllows(reg, 102, 2, 4, Acl.R)).toBe(true);
    expect(aclAllows(reg, 102, 2, 4, Acl.W)).toBe(false);
    expect(aclAllows(reg, 101, 2, 4, Acl.W)).toBe(true);
    // ACL instances are written by the bootstrap server or made by aclCreated, never created over DM
    expect(aclAllows(reg, 101, 2, Acl.CREATE_IID, Acl.C)).toBe(false);
    aclCreated(reg, 101, 2, 4);
    expect(reg.obj(2)!.insts.length).toBe(1);
  });

  it("Create needs the C right on the object's 65535 instance; the creator then owns the new instance", () => {
    const reg = registry([101, 102]);
    acl(reg, 0, 3, Acl.CREATE_IID, { 102: Acl.C }, 65535);
    expect(aclAllows(reg, 101, 3, Acl.CREATE_IID, Acl.C)).toBe(false);
    expect(aclAllows(reg, 102, 3, Acl.CREATE_IID, Acl.C)).toBe(true);
    aclCreated(reg, 102, 3, 1);
    expect(aclAllows(reg, 102, 3, 1, Acl.D)).toBe(true);
    expect(aclAllows(reg, 101, 3, 1, Acl.R)).toBe(false);
    aclDeleted(reg, 3, 1);
    expect(reg.obj(2)!.insts.map((i) => i.v[1])).toEqual([Acl.CREATE_IID]);
  });
});
