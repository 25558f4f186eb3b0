import { describe, it, expect } from "vitest";
import { provisionedMeter, bootstrapSession, securityInstance, serverInstance, tlv, boot, Meter, POST, GET, PUT, DELETE, types } from "./helpers";
import { CF_TLV, CF_SENML_CBOR, CF_SENML_JSON, CF_LINK, decodeContent } from "../../../firmware/formats/content-format";
import { FakeServer } from "../../sim/hal";
import { ObjectDef } from "../../../firmware/lwm2m/registry";
import { Value } from "../../../firmware/formats/model";

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : "");

function registered(): Meter {
  const m = provisionedMeter();
  bootstrapSession(m);
  m.sim.waitLog("registration: registered with");
  return m;
}

function values(format: number, base: number[], payload: Uint8Array | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of decodeContent(format, base, payload!, types)) out["/" + e.path.join("/")] = e.value;
  return out;
}

describe("device management", () => {
  it("reads /3/0 in TLV (default) and SenML CBOR", () => {
    const m = registered();
    const r = m.dm.call(GET, "/3/0");
    expect(r.code).toBe(0x45);
    const v = values(CF_TLV, [3, 0], r.payload);
    expect(v["/3/0/0"]).toBe("GEISA");
    expect(v["/3/0/2"]).toBe("meter-1");
    expect(v["/3/0/3"]).toBe("0.1.0");
    expect(v["/3/0/11/0"]).toBe(0);
    expect(v["/3/0/16"]).toBe("U");
    expect(v["/3/0/13"]).toBe(Math.floor((m.sim.wall + m.sim.clock.now()) / 1000));
    expect(v["/3/0/10"]).toBe(Math.floor((180224 - 60000) / 1024));
    const c = m.dm.call(GET, "/3/0", { accept: CF_SENML_CBOR });
    expect(c.code).toBe(0x45);
    expect(values(CF_SENML_CBOR, [3, 0], c.payload)["/3/0/1"]).toBe("meter-host");
  });

  it("reads a single resource as text", () => {
    const m = registered();
    const r = m.dm.call(GET, "/3/0/0");
    expect(r.code).toBe(0x45);
    expect(text(r.payload)).toBe("GEISA");
    expect(m.dm.call(GET, "/3/0", { accept: 0 }).code).toBe(0x86);
    expect(m.dm.call(GET, "/3/0", { accept: 9999 }).code).toBe(0x86);
  });

  it("refuses any access to /0 with 4.01", () => {
    const m = registered();
    expect(m.dm.call(GET, "/0").code).toBe(0x81);
    expect(m.dm.call(GET, "/0/1/5").code).toBe(0x81);
    expect(m.dm.call(PUT, "/0/1/0", { format: 0, payload: "coap://evil:1" }).code).toBe(0x81);
    expect(m.dm.call(DELETE, "/0/1").code).toBe(0x81);
  });

  it("answers 4.04, 4.05, 4.15 and 4.00 where due", () => {
    const m = registered();
    expect(m.dm.call(GET, "/42").code).toBe(0x84);
    expect(m.dm.call(GET, "/3/1").code).toBe(0x84);
    expect(m.dm.call(GET, "/3/0/99").code).toBe(0x84);
    expect(m.dm.call(GET, "/rd").code).toBe(0x84);
    expect(m.dm.call(PUT, "/3/0/0", { format: 0, payload: "x" }).code).toBe(0x85);
    expect(m.dm.call(POST, "/3/0/0").code).toBe(0x85);
    expect(m.dm.call(DELETE, "/3/0").code).toBe(0x85);
    expect(m.dm.call(PUT, "/1/0/1", { format: 1234, payload: "x" }).code).toBe(0x8f);
    expect(m.dm.call(PUT, "/1/0", { format: CF_TLV, payload: new Uint8Array([0xc8, 0x01]) }).code).toBe(0x80);
    expect(m.dm.call(PUT, "/1/0/1", { format: 0, payload: "abc" }).code).toBe(0x80);
  });

  it("Create takes read-only resources but wants every mandatory one (4.00 otherwise)", () => {
    const m = registered();
    // no Short Server ID: a mandatory resource missing
    const partial = tlv([1, 2], [[[1], 300], [[6], false], [[7], "U"]]);
    expect(m.dm.call(POST, "/1", { format: CF_TLV, payload: partial }).code).toBe(0x80);
    expect(m.dm.call(GET, "/1/2").code).toBe(0x84);
    // an executable resource has no value to create
    const exec = tlv([1, 3], [[[0], 103], [[1], 300], [[6], false], [[7], "U"], [[8], ""]]);
    expect(m.dm.call(POST, "/1", { format: CF_TLV, payload: exec }).code).toBe(0x80);
    // an instance id the store cannot keep
    const big = tlv([1], [[[300, 0], 103], [[300, 1], 600], [[300, 6], false], [[300, 7], "U"]]);
    expect(m.dm.call(POST, "/1", { format: CF_TLV, payload: big }).code).toBe(0x80);
    // /1/x/0 (Short Server ID) is read-only for a Write, not for a Create
    const created = m.dm.call(POST, "/1", { format: CF_TLV, payload: serverInstance(1, 102, 600) });
    expect(created.code).toBe(0x41);
    expect(text(m.dm.call(GET, "/1/1/0").payload)).toBe("102");
    // two servers now: a further Create needs the C right from an ACL instance (none here)
    expect(m.dm.call(POST, "/1", { format: CF_TLV, payload: serverInstance(4, 104, 600) }).code).toBe(0x81);
  });

  it("what a server writes, creates or deletes in /1 is stored and there after a reboot", () => {
    const m = registered();
    expect(m.dm.call(PUT, "/1/0/3", { format: 0, payload: "120" }).code).toBe(0x44);
    expect(m.dm.call(POST, "/1", { format: CF_TLV, payload: serverInstance(1, 102, 600) }).code).toBe(0x41);
    m.sim.reboot();
    const app = boot(m.sim);
    expect(app.reg.num(1, 0, 3, -1)).toBe(120);
    expect(app.reg.num(1, 1, 0, -1)).toBe(102);
    expect(app.reg.num(1, 1, 1, -1)).toBe(600);
  });

  it("writes and reads back a server resource", () => {
    const m = registered();
    expect(m.dm.call(PUT, "/1/0/3", { format: CF_SENML_JSON, payload: '[{"bn":"/1/0/3","v":120}]' }).code).toBe(0x44);
    expect(text(m.dm.call(GET, "/1/0/3").payload)).toBe("120");
  });

  it("discovers /3/0 and writes attributes", () => {
    const m = registered();
    expect(m.dm.call(PUT, "/3/0/13", { query: ["pmin=5", "pmax=30"] }).code).toBe(0x44);
    expect(m.dm.call(PUT, "/3/0/13", { query: ["bogus=1"] }).code).toBe(0x80);
    const d = m.dm.call(GET, "/3/0", { accept: CF_LINK });
    expect(text(d.payload)).toBe(
      "</3/0>,</3/0/0>,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/5>,</3/0/10>,</3/0/11>;dim=1,</3/0/13>;pmin=5;pmax=30,</3/0/16>",
    );
  });

  it("observes /3/0/13 with pmax and cancels", () => {
    const m = registered();
    m.dm.call(PUT, "/3/0/13", { query: ["pmax=20"] });
    const r = m.dm.call(GET, "/3/0/13", { observe: 0 });
    expect(r.code).toBe(0x45);
    expect(r.options.some((o) => o.num === 6)).toBe(true);
    const before = m.sim.clock.now();
    m.sim.run(65_000);
    const notes = m.dm.notificationTimes.map((t) => t - before);
    expect(notes).toEqual([20_000, 40_000, 60_000]);
    expect(text(m.dm.notifications[2].payload)).toBe("" + Math.floor((m.sim.wall + before + 60_000) / 1000));
    m.dm.rejectNotifications = true;
    m.sim.run(60_000);
    expect(m.dm.notifications.length).toBe(4);
  });

  it("executes reboot", () => {
    const m = registered();
    expect(m.dm.call(POST, "/3/0/4").code).toBe(0x44);
    m.sim.run(1000);
    expect(m.sim.resets).toEqual(["reboot"]);
  });
});

// ---- Access Control (/2) ----

const R = 1, W = 2, E = 4, D = 8, C = 16;

/** An ACL instance /2/iid for /oid/oiid: rights by SSID (0 = default) and owner. */
function acl(iid: number, oid: number, oiid: number, rights: Record<number, number>, owner: number): Uint8Array {
  const fields: [number[], Value][] = [[[0], oid], [[1], oiid], [[3], owner]];
  for (const k of Object.keys(rights)) fields.push([[2, +k], rights[+k]]);
  return tlv([2, iid], fields);
}

/** A multiple-instance object with one RW string resource (5750), for Create and Delete. */
const testDef: ObjectDef = { id: 3303, multi: true, res: [(5750 << 9) | (1 << 5) | 3] };

/** Servers 101 (m.dm) and 102 (dm2) bootstrapped with the given ACL instances, both registered. */
function twoServers(acls: Uint8Array[]): { m: Meter; dm2: FakeServer } {
  const m = provisionedMeter();
  const dm2 = m.sim.addServer("127.0.0.1", 5693);
  m.app.reg.add(testDef);
  m.app.reg.createInst(3303, 0);
  m.sim.waitLog("Bootstrap-Request sent");
  m.sim.run(100);
  const codes = [
    m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) }).code,
    m.bs.call(PUT, "/0/2", { format: CF_TLV, payload: securityInstance(2, dm2.uri, 102) }).code,
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) }).code,
    m.bs.call(PUT, "/1/1", { format: CF_TLV, payload: serverInstance(1, 102) }).code,
    ...acls.map((a, i) => m.bs.call(PUT, "/2/" + i, { format: CF_TLV, payload: a }).code),
    m.bs.call(POST, "/bs").code,
  ];
  expect(codes.every((c) => c === 0x44)).toBe(true);
  m.sim.waitLog("registered with");
  m.sim.waitLog("registered with");
  return { m, dm2 };
}

/** /2/0 /3/0: 101 R|W, others R. /2/1 /1/0: owned by 101, nobody named. /2/2 /1/1: 102 R|E,
 * owned by 101. /2/3 Create on /3303: 102 only. /2/4 /3303/0: 101 R, 102 R|D. */
function standard() {
  return twoServers([
    acl(0, 3, 0, { 101: R | W, 0: R }, 101),
    acl(1, 1, 0, {}, 101),
    acl(2, 1, 1, { 102: R | E }, 101),
    acl(3, 3303, 65535, { 102: C }, 65535),
    acl(4, 3303, 0, { 101: R, 102: R | D }, 101),
  ]);
}

const aclTargets = (m: Meter) => m.app.reg.obj(2)!.insts.map((i) => [i.id, i.v[0], i.v[1], i.v[3]]);

describe("device management with access control", () => {
  it("registers /2 instances written by the bootstrap server", () => {
    const { dm2 } = standard();
    expect(text(dm2.received.find((r) => r.path === "/rd")!.payload)).toBe(
      '</>;rt="oma.lwm2m";ct=11542,</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</3303/0>',
    );
  });

  it("Read and Observe need R: named rights, the default (ACL instance 0) for the others, the owner's", () => {
    const { m, dm2 } = standard();
    expect(m.dm.call(GET, "/3/0/0").code).toBe(0x45); // named R
    expect(dm2.call(GET, "/3/0/0").code).toBe(0x45); // default R
    expect(m.dm.call(GET, "/1/0").code).toBe(0x45); // owner, not named: full rights
    expect(dm2.call(GET, "/1/0").code).toBe(0x81); // not named, no default
    expect(dm2.call(GET, "/1/0/1", { observe: 0 }).code).toBe(0x81);
    expect(dm2.call(GET, "/1/1/1", { observe: 0 }).code).toBe(0x45);
    expect(dm2.call(GET, "/3303/0").code).toBe(0x45);
  });

  it("a Read or Observe of an object returns only the instances the server may read", () => {
    const { m, dm2 } = standard();
    const ids = (p: Uint8Array | null) => [...new Set(decodeContent(CF_TLV, [1], p!, types).map((e) => e.path[1]))];
    const r102 = dm2.call(GET, "/1");
    expect(r102.code).toBe(0x45);
    expect(ids(r102.payload)).toEqual([1]);
    expect(ids(m.dm.call(GET, "/1").payload)).toEqual([0, 1]);
    m.dm.call(PUT, "/1", { query: ["pmax=10"] }); // object-level attributes: no instance to check
    dm2.call(PUT, "/1", { query: ["pmax=10"] });
    expect(dm2.call(GET, "/1", { observe: 0 }).code).toBe(0x45);
    m.sim.run(25_000);
    expect(dm2.notifications.length).toBeGreaterThanOrEqual(2);
    for (const n of dm2.notifications) expect(ids(n.payload)).toEqual([1]);
  });

  it("Write and Write-Attributes: W to write, R to set attributes; refusals are 4.01", () => {
    const { m, dm2 } = standard();
    expect(m.dm.call(PUT, "/3/0/13", { format: 0, payload: "1700000000" }).code).toBe(0x44);
    expect(dm2.call(PUT, "/3/0/13", { format: 0, payload: "1700000000" }).code).toBe(0x81);
    expect(dm2.call(POST, "/1/1", { format: CF_TLV, payload: tlv([1, 1], [[[1], 120]]) }).code).toBe(0x81);
    expect(dm2.call(PUT, "/1/1/1", { format: 0, payload: "120" }).code).toBe(0x81);
    expect(m.dm.call(PUT, "/1/1/1", { format: 0, payload: "120" }).code).toBe(0x44);
    expect(dm2.call(PUT, "/1/1", { query: ["pmin=5"] }).code).toBe(0x44);
    expect(dm2.call(PUT, "/1/0", { query: ["pmin=5"] }).code).toBe(0x81);
  });

  it("Execute needs E", () => {
    const { m, dm2 } = standard();
    expect(m.dm.call(POST, "/3/0/4").code).toBe(0x81); // 101 has R|W on /3/0
    expect(dm2.call(POST, "/1/0/8").code).toBe(0x81);
    expect(dm2.call(POST, "/1/1/8").code).toBe(0x44);
    m.sim.run(2000);
    expect(m.sim.resets).toEqual([]);
  });

  it("Discover is not subject to access control (LwM2M 1.1: R covers Read, Observe, Write-Attributes)", () => {
    const { dm2 } = standard();
    const d = dm2.call(GET, "/1/0", { accept: CF_LINK });
    expect(d.code).toBe(0x45);
    expect(text(d.payload).startsWith("</1/0>,</1/0/0>")).toBe(true);
  });

  it("Create needs C on /oid/65535; the creator owns the new instance's ACL instance", () => {
    const { m, dm2 } = standard();
    const body = tlv([3303, 1], [[[5750], "x"]]);
    expect(m.dm.call(POST, "/3303", { format: CF_TLV, payload: body }).code).toBe(0x81);
    expect(m.app.reg.inst(3303, 1)).toBeNull();
    const r = dm2.call(POST, "/3303", { format: CF_TLV, payload: body });
    expect(r.code).toBe(0x41);
    expect(aclTargets(m)).toContainEqual([5, 3303, 1, 102]);
    expect(m.app.reg.get(2, 5, 2)).toEqual({ 102: 31 });
    expect(m.dm.call(GET, "/3303/1").code).toBe(0x81);
    expect(text(dm2.call(GET, "/3303/1/5750").payload)).toBe("x");
    // the new ACL instance is announced
    m.sim.run(2000);
    expect(text(m.dm.last()!.payload)).toContain("</2/5>");
    // Delete by its owner (full rights) takes the ACL instance along
    expect(dm2.call(DELETE, "/3303/1").code).toBe(0x42);
    expect(aclTargets(m).some((t) => t[1] === 3303 && t[2] === 1)).toBe(false);
  });

  it("Delete needs D; a deleted instance's ACL instance goes too", () => {
    const { m, dm2 } = standard();
    expect(m.dm.call(DELETE, "/3303/0").code).toBe(0x81);
    expect(m.app.reg.inst(3303, 0)).not.toBeNull();
    expect(dm2.call(DELETE, "/3303/0").code).toBe(0x42);
    expect(m.app.reg.inst(3303, 0)).toBeNull();
    expect(m.app.reg.inst(2, 4)).toBeNull();
  });

  it("ACL instances: every server reads them, only the owner writes or deletes them, none creates them", () => {
    const { m, dm2 } = standard();
    expect(dm2.call(GET, "/2/0").code).toBe(0x45);
    expect(dm2.call(PUT, "/2/0/2/102", { format: 0, payload: "3" }).code).toBe(0x81);
    expect(dm2.call(DELETE, "/2/0").code).toBe(0x81);
    expect(dm2.call(PUT, "/3/0/13", { format: 0, payload: "1700000000" }).code).toBe(0x81);
    // the owner gives 102 W on /3/0
    expect(m.dm.call(PUT, "/2/0/2/102", { format: 0, payload: "3" }).code).toBe(0x44);
    expect(dm2.call(PUT, "/3/0/13", { format: 0, payload: "1700000000" }).code).toBe(0x44);
    const body = tlv([2, 9], [[[2, 101], 1], [[3], 101]]);
    expect(m.dm.call(POST, "/2", { format: CF_TLV, payload: body }).code).toBe(0x81);
    expect(m.dm.call(DELETE, "/2/0").code).toBe(0x42);
    expect(m.dm.call(GET, "/3/0").code).toBe(0x81); // no ACL instance: out of reach
  });

  it("a single management server is never checked, whatever the ACL instances say", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) });
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) });
    expect(m.bs.call(PUT, "/2/0", { format: CF_TLV, payload: acl(0, 3, 0, { 101: 0, 0: 0 }, 65535) }).code).toBe(0x44);
    expect(m.bs.call(POST, "/bs").code).toBe(0x44);
    m.sim.waitLog("registered with");
    expect(m.dm.call(GET, "/3/0").code).toBe(0x45);
    expect(m.dm.call(PUT, "/3/0/13", { format: 0, payload: "1700000000" }).code).toBe(0x44);
    expect(m.dm.call(PUT, "/1/0/1", { format: 0, payload: "120" }).code).toBe(0x44);
  });
});
