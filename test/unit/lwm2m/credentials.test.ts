import { describe, it, expect } from "vitest";
import { provisionedMeter, serverInstance, tlv, Meter, PUT, POST, DELETE, DM_PORT } from "./helpers";
import { CF_TLV } from "../../../firmware/formats/content-format";

const IDENTITY = new TextEncoder().encode("meter-1-psk");
const KEY = Uint8Array.from([0x3a, 0x51, 0x9c, 0x07, 0xe2, 0x44, 0xb8, 0x19, 0x6d, 0xf0, 0x2b, 0x93, 0x58, 0xc1, 0x7e, 0xaa]);
const cred = (h: number, part: number) => 0x8000 | (h << 4) | part;
const dmsUri = `coaps://127.0.0.1:${DM_PORT}`;

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function pskSecurity(iid: number, key = KEY): Uint8Array {
  return tlv([0, iid], [[[0], dmsUri], [[1], false], [[2], 0], [[3], IDENTITY], [[4], new Uint8Array(0)], [[5], key], [[10], 101]]);
}

/** A session that configures one coaps:// management server with a PSK, then Finish. */
function pskBootstrap(m: Meter, iid = 1, extra: () => void = () => {}): number {
  m.sim.waitLog("Bootstrap-Request sent");
  m.sim.run(100);
  m.bs.call(DELETE, "/");
  expect(m.bs.call(PUT, `/0/${iid}`, { format: CF_TLV, payload: pskSecurity(iid) }).code).toBe(0x44);
  expect(m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) }).code).toBe(0x44);
  extra();
  return m.bs.call(POST, "/bs").code;
}

describe("bootstrap-written keys go to the secure store", () => {
  it("PSK identity and key land in the credential of /0/iid; /0 and its plain record keep only markers", () => {
    const m = provisionedMeter();
    expect(pskBootstrap(m)).toBe(0x44);
    const store = m.sim.store;
    expect(store.get(cred(3, 0))).toEqual(Uint8Array.from([0]));
    expect(store.get(cred(3, 1))).toEqual(IDENTITY);
    expect(store.get(cred(3, 3))).toEqual(KEY);
    expect(store.has(cred(3, 2))).toBe(false);
    expect(contains(store.get(0x0001)!, KEY)).toBe(false);
    const v = m.app.reg.inst(0, 1)!.v;
    expect([v[3], v[5]]).toEqual([Uint8Array.from([3]), Uint8Array.from([3])]);
    m.sim.waitLog("registration: registered with " + dmsUri);
    expect(m.sim.dtlsOpens.map((o) => o[1])).toContain(3);
    expect(m.sim.scrubs).toBe(1);
  });

  it("a later bootstrap that leaves the account alone keeps its credential; one that deletes it removes it", () => {
    const m = provisionedMeter();
    expect(pskBootstrap(m)).toBe(0x44);
    m.sim.waitLog("registration: registered with");
    // Server-initiated re-bootstrap that only rewrites /1/0: the stored key stays.
    m.sim.command("bootstrap");
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    expect(m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101, 900) }).code).toBe(0x44);
    expect(m.bs.call(POST, "/bs").code).toBe(0x44);
    expect(m.sim.store.get(cred(3, 3))).toEqual(KEY);
    // A bootstrap that deletes everything and configures a NoSec server at /0/2.
    m.sim.command("bootstrap");
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(DELETE, "/");
    const nosec = tlv([0, 2], [[[0], m.dm.uri], [[1], false], [[2], 3], [[3], new Uint8Array(0)], [[4], new Uint8Array(0)], [[5], new Uint8Array(0)], [[10], 101]]);
    expect(m.bs.call(PUT, "/0/2", { format: CF_TLV, payload: nosec }).code).toBe(0x44);
    expect(m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) }).code).toBe(0x44);
    expect(m.bs.call(POST, "/bs").code).toBe(0x44);
    expect([...m.sim.store.keys()].filter((id) => id >= 0x8000)).toEqual([]);
  });

  it("a rejected Finish stores no key", () => {
    const m = provisionedMeter();
    const before = new Map(m.sim.store);
    // /1/0 names SSID 102, which has no Security instance: 4.06.
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: pskSecurity(1) });
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 102) });
    expect(m.bs.call(POST, "/bs").code).toBe(0x86);
    expect(m.sim.store).toEqual(before);
  });

  it("a DTLS alert from the management server lands in /1/x/11 and leads to re-bootstrap, paced by /1/x/17-20", () => {
    const m = provisionedMeter();
    m.sim.dtlsAlerts[3] = 20; // bad_record_mac: the server has another key
    const fin = pskBootstrap(m, 1, () => {
      expect(m.bs.call(PUT, "/1/0/17", { format: 0, payload: "2" }).code).toBe(0x44);
      expect(m.bs.call(PUT, "/1/0/18", { format: 0, payload: "30" }).code).toBe(0x44);
    });
    expect(fin).toBe(0x44);
    const requestsBefore = m.bs.received.filter((r) => r.path === "/bs" && r.code === POST).length;
    m.sim.waitLog("registration: secure session failed (alert 20)");
    expect(m.app.reg.get(1, 0, 11)).toBe(20);
    m.sim.waitLog("registration: registration with " + dmsUri + " failed");
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    expect(m.bs.received.filter((r) => r.path === "/bs" && r.code === POST).length).toBeGreaterThan(requestsBefore);
    expect(m.sim.dtlsOpens.filter((o) => o[1] === 3).length).toBe(2);
  });
});
