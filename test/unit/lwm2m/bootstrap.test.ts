import { describe, it, expect } from "vitest";
import { SimHal } from "../../sim/hal";
import { boot, provisionedMeter, bootstrapSession, securityInstance, serverInstance, tlv, BS_PORT, PUT, POST, GET, DELETE } from "./helpers";
import { CF_TLV, CF_LINK, CF_SENML_CBOR, decodeContent } from "../../../firmware/formats/content-format";
import { types } from "./helpers";

function cutLinks(m: { sim: SimHal }) {
  m.sim.conditions = { up: false };
  for (const l of m.sim.links) l.link.setConditions({ up: false });
}

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : "");

describe("client-initiated bootstrap", () => {
  it("says it is not provisioned on an empty store", () => {
    const sim = new SimHal();
    boot(sim);
    expect(sim.logs.some((l) => l.endsWith("app: not provisioned (set bs-uri and endpoint, then reboot)"))).toBe(true);
    expect(sim.logs[sim.logs.length - 1]).toMatch(/app: meter-fw \S+ board=host ready$/);
  });

  it("sends POST /bs with ep and pct as URI queries", () => {
    const m = provisionedMeter();
    const line = m.sim.waitLog("Bootstrap-Request sent");
    expect(line).toContain(`bootstrap: Bootstrap-Request sent to coap://127.0.0.1:${BS_PORT} (ep=meter-1)`);
    m.sim.run(100);
    const req = m.bs.last()!;
    expect(req.path).toBe("/bs");
    expect(req.query).toEqual(["ep=meter-1", "pct=112"]);
  });

  it("commits a valid configuration at Finish and registers", () => {
    const m = provisionedMeter();
    expect(bootstrapSession(m)).toBe(0x44);
    m.sim.waitLog("bootstrap: finished, configuration committed (1 server(s))");
    const reg = m.sim.waitLog("registration: registered with");
    expect(reg).toContain(`registration: registered with ${m.dm.uri} as /rd/1 (ep=meter-1)`);
    const r = m.dm.received.find((x) => x.path === "/rd")!;
    expect(r.query).toEqual(["ep=meter-1", "lt=300", "lwm2m=1.1", "b=U"]);
    expect(text(r.payload)).toBe('</>;rt="oma.lwm2m";ct=11542,</1/0>,</2>,</3/0>');
    // persisted: index + /0/0 (bootstrap account) + /0/1 + /1/0 + endpoint
    expect([...m.sim.store.keys()].sort()).toEqual([0x0000, 0x0001, 0x0100, 0x7f00, 0x7f01]);
  });

  it("Delete / keeps the bootstrap account and /3/0", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) });
    expect(m.bs.call(DELETE, "/").code).toBe(0x42);
    const disc = m.bs.call(GET, "/", { accept: CF_LINK });
    expect(text(disc.payload)).toBe(`</>;lwm2m="1.1",</0/0>;uri="coap://127.0.0.1:${BS_PORT}",</1>,</2>,</3/0>`);
    expect(m.bs.call(DELETE, "/0/0").code).toBe(0x80);
    expect(m.bs.call(DELETE, "/3/0").code).toBe(0x80);
  });

  it("Discover lists ssid on /0 and /1 instances but not on the bootstrap account", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) });
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) });
    const disc = m.bs.call(GET, "/", { accept: CF_LINK });
    expect(disc.code).toBe(0x45);
    expect(text(disc.payload)).toBe(
      `</>;lwm2m="1.1",</0/0>;uri="coap://127.0.0.1:${BS_PORT}",</0/1>;ssid=101;uri="${m.dm.uri}",</1/0>;ssid=101,</2>,</3/0>`,
    );
    expect(text(m.bs.call(GET, "/1", { accept: CF_LINK }).payload)).toBe("</1/0>;ssid=101");
  });

  it("Bootstrap-Read works on /1 (and /2); /0 is 4.01, /3 4.05", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101, 600) });
    const r = m.bs.call(GET, "/1/0", { accept: CF_SENML_CBOR });
    expect(r.code).toBe(0x45);
    const entries = decodeContent(CF_SENML_CBOR, [1, 0], r.payload!, types);
    expect(entries.find((e) => e.path.join("/") === "1/0/1")!.value).toBe(600);
    expect(entries.find((e) => e.path.join("/") === "1/0/17")!.value).toBe(5);
    expect(m.bs.call(GET, "/0/0").code).toBe(0x81);
    expect(m.bs.call(GET, "/3/0").code).toBe(0x85);
  });

  it("Access Control (/2): Bootstrap-Write, -Read, -Discover and -Delete; persisted at Finish, there after a reboot", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    const acl = (iid: number, oid: number, oiid: number, rights: [number, number][], owner: number) =>
      tlv([2, iid], [[[0], oid], [[1], oiid], ...rights.map(([k, v]) => [[2, k], v] as [number[], number]), [[3], owner]]);
    expect(m.bs.call(PUT, "/2/0", { format: CF_TLV, payload: acl(0, 3, 0, [[101, 1], [0, 1]], 101) }).code).toBe(0x44);
    expect(m.bs.call(PUT, "/2/1", { format: CF_TLV, payload: acl(1, 1, 0, [], 101) }).code).toBe(0x44);
    expect(m.bs.call(PUT, "/2/2", { format: CF_TLV, payload: acl(2, 3303, 65535, [[101, 16]], 65535) }).code).toBe(0x44);
    // Bootstrap-Read: /2 (like /1) may be read back
    const r = m.bs.call(GET, "/2/0", { accept: CF_SENML_CBOR });
    expect(r.code).toBe(0x45);
    const v = Object.fromEntries(decodeContent(CF_SENML_CBOR, [2, 0], r.payload!, types).map((e) => [e.path.join("/"), e.value]));
    expect(v).toEqual({ "2/0/0": 3, "2/0/1": 0, "2/0/2/0": 1, "2/0/2/101": 1, "2/0/3": 101 });
    expect(m.bs.call(GET, "/2").code).toBe(0x45);
    expect(text(m.bs.call(GET, "/2", { accept: CF_LINK }).payload)).toBe("</2/0>,</2/1>,</2/2>");
    expect(m.bs.call(DELETE, "/2/2").code).toBe(0x42);
    m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) });
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) });
    expect(text(m.bs.call(GET, "/", { accept: CF_LINK }).payload)).toBe(
      `</>;lwm2m="1.1",</0/0>;uri="coap://127.0.0.1:${BS_PORT}",</0/1>;ssid=101;uri="${m.dm.uri}",</1/0>;ssid=101,</2/0>,</2/1>,</3/0>`,
    );
    expect(m.bs.call(POST, "/bs").code).toBe(0x44);
    expect([...m.sim.store.keys()].filter((k) => k >> 8 === 2).sort()).toEqual([0x0200, 0x0201]);
    m.sim.waitLog("registration: registered with");
    expect(text(m.dm.received.find((x) => x.path === "/rd")!.payload)).toBe('</>;rt="oma.lwm2m";ct=11542,</1/0>,</2/0>,</2/1>,</3/0>');
    const before = m.app.reg.obj(2)!.insts;
    m.sim.reboot();
    const app = boot(m.sim);
    expect(app.reg.obj(2)!.insts).toEqual(before);
    expect(app.reg.get(2, 0, 2)).toEqual({ 0: 1, 101: 1 });
    m.sim.waitLog("registration: registered with");
    // a later bootstrap deletes them: Bootstrap-Delete /2, persisted at Finish
    m.sim.command("bootstrap");
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    expect(m.bs.call(DELETE, "/2").code).toBe(0x42);
    expect(m.bs.call(POST, "/bs").code).toBe(0x44);
    expect([...m.sim.store.keys()].filter((k) => k >> 8 === 2)).toEqual([]);
    expect(app.reg.obj(2)!.insts).toEqual([]);
  });

  it("4.06 at Finish for an ACL instance without its owner or with an id the store cannot keep", () => {
    for (const [iid, fields] of [
      [0, [[[0], 3], [[1], 0]]],
      [300, [[[0], 3], [[1], 0], [[3], 101]]],
    ] as [number, [number[], number][]][]) {
      const m = provisionedMeter();
      m.sim.waitLog("Bootstrap-Request sent");
      m.sim.run(100);
      m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) });
      m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) });
      expect(m.bs.call(PUT, `/2/${iid}`, { format: CF_TLV, payload: tlv([2, iid], fields) }).code).toBe(0x44);
      const fin = m.bs.call(POST, "/bs");
      expect(fin.code).toBe(0x86);
      expect(text(fin.payload)).toBe(`bad ACL instance /2/${iid}`);
      expect([...m.sim.store.keys()].filter((k) => k >> 8 === 2)).toEqual([]);
    }
  });

  it("object-level write carries several instances; unknown resources are ignored", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    const entries = [
      ...[[1, 101], [2, 102]].flatMap(([i, ssid]) => [
        { path: [1, i, 0], value: ssid },
        { path: [1, i, 1], value: 120 },
        { path: [1, i, 6], value: false },
        { path: [1, i, 7], value: "U" },
        { path: [1, i, 99], value: 7 },
      ]),
    ];
    const payload = tlv([1], entries.map((e) => [e.path.slice(1), e.value] as any));
    expect(m.bs.call(PUT, "/1", { format: CF_TLV, payload }).code).toBe(0x44);
    expect(text(m.bs.call(GET, "/1", { accept: CF_LINK }).payload)).toBe("</1/1>;ssid=101,</1/2>;ssid=102");
    // resource-level write replaces a single value
    expect(m.bs.call(PUT, "/1/2/1", { format: 0, payload: "900" }).code).toBe(0x44);
    const r = m.bs.call(GET, "/1/2/1");
    expect(text(r.payload)).toBe("900");
  });

  it("4.06 with a reason at an inconsistent Finish keeps the old configuration", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    const before = new Map(m.sim.store);
    m.bs.call(DELETE, "/");
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) });
    const fin = m.bs.call(POST, "/bs");
    expect(fin.code).toBe(0x86);
    expect(text(fin.payload)).toBe("no security instance for SSID 101");
    expect(m.sim.logs.some((l) => l.endsWith("bootstrap: rejected at Finish: no security instance for SSID 101"))).toBe(true);
    expect(m.sim.store).toEqual(before);
    expect(m.app.reg.obj(1)!.insts.length).toBe(0);
    expect(m.app.reg.obj(0)!.insts.length).toBe(1);
  });

  it("rejects NoSec with coaps:// and PSK without keys", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, "coaps://10.0.0.1:5684", 101) });
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) });
    let fin = m.bs.call(POST, "/bs");
    expect(text(fin.payload)).toBe("coaps:// needs keys in /0/1");
    // the rejected session is over; the client retries later with backoff
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, "coaps://10.0.0.1:5684", 101, 0) });
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) });
    fin = m.bs.call(POST, "/bs");
    expect(text(fin.payload)).toBe("PSK needs identity and key in /0/1");
  });

  it("discards a session without Finish after 247 s", () => {
    const m = provisionedMeter();
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) });
    const t0 = m.sim.clock.now();
    m.sim.waitLog("no Finish within 247 s");
    const dt = m.sim.clock.now() - t0;
    expect(dt).toBeGreaterThan(246_000);
    expect(dt).toBeLessThan(248_000);
    expect(m.app.reg.obj(1)!.insts.length).toBe(0);
  });

  it("retries with exponential backoff and jitter while the server is silent", () => {
    const m = provisionedMeter();
    cutLinks(m); // the bootstrap server is unreachable
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      m.sim.waitLog("Bootstrap-Request sent", 3 * 86400_000);
      times.push(m.sim.clock.now());
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // each gap = CoAP exchange timeout (~93 s) + backoff in [base/2, 3 base/2), base 60, 120, 240, 480 s
    gaps.forEach((g, i) => {
      const base = 60_000 * 2 ** i;
      expect(g).toBeGreaterThanOrEqual(base / 2 + 60_000);
      expect(g).toBeLessThan(1.5 * base + 94_000);
    });
    // jitter: two seeds do not retry at the same times
    const m2 = provisionedMeter(7);
    cutLinks(m2);
    m2.sim.waitLog("Bootstrap-Request sent");
    m2.sim.waitLog("Bootstrap-Request sent", 86400_000);
    expect(m2.sim.clock.now() - 1_000_000).not.toBe(times[1] - 1_000_000);
  });
});
