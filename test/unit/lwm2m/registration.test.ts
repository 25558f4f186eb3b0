import { describe, it, expect } from "vitest";
import { provisionedMeter, bootstrapSession, boot, Meter, POST, PUT, securityInstance, serverInstance } from "./helpers";
import { Hal } from "../../../firmware/hal/codes";

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : "");

function registered(lifetime = 300): Meter {
  const m = provisionedMeter();
  bootstrapSession(m, lifetime);
  m.sim.waitLog("registration: registered with");
  return m;
}

describe("registration", () => {
  it("updates before the lifetime runs out (min of 0.9 lt and lt - 10 s)", () => {
    const m = registered(300);
    const t0 = m.sim.clock.now();
    m.sim.waitLog("registration: update ok (coap://127.0.0.1:5683)");
    const upd = m.dm.received.filter((r) => r.path === "/rd/1");
    expect(upd.length).toBe(1);
    expect(upd[0].time - t0).toBe(270_000);
    expect(upd[0].query).toEqual([]);
    expect(upd[0].payload).toBeNull();
    m.sim.waitLog("registration: update ok");
    expect(m.dm.received.filter((r) => r.path === "/rd/1")[1].time - upd[0].time).toBe(270_000);
  });

  it("short lifetime: lt - 10 s", () => {
    const m = registered(60);
    const t0 = m.sim.clock.now();
    m.sim.waitLog("registration: update ok");
    expect(m.dm.received.find((r) => r.path === "/rd/1")!.time - t0).toBe(50_000);
  });

  it("Execute /1/0/8 triggers an Update; a lifetime write sends lt", () => {
    const m = registered();
    expect(m.dm.call(POST, "/1/0/8").code).toBe(0x44);
    m.sim.waitLog("registration: update ok");
    expect(m.dm.call(PUT, "/1/0/1", { format: 0, payload: "600" }).code).toBe(0x44);
    m.sim.waitLog("registration: update ok");
    const upd = m.dm.received.filter((r) => r.path === "/rd/1");
    expect(upd.map((u) => u.query)).toEqual([[], ["lt=600"]]);
  });

  it("an Update answered 4.04 registers again (not bootstrap)", () => {
    const m = registered();
    m.dm.handler = (req, ex, srv) => {
      const p = req.options.filter((o) => o.num === 11).map((o) => text(o.value)).join("/");
      if (p === "rd/1") return ex.respond(0x84);
      if (p === "rd") return ex.respond(0x41, [{ num: 8, value: new TextEncoder().encode("rd") }, { num: 8, value: new TextEncoder().encode("2") }]);
      ex.respond(0x44);
    };
    m.dm.call(POST, "/1/0/8");
    m.sim.waitLog("registration: registered with coap://127.0.0.1:5683 as /rd/2 (ep=meter-1)");
    expect(m.sim.logs.filter((l) => l.includes("Bootstrap-Request sent")).length).toBe(1);
  });

  it("de-registers on shutdown, then resets", () => {
    const m = registered();
    m.sim.post(Hal.EV_SHUTDOWN);
    m.sim.waitLog("registration: deregistered from coap://127.0.0.1:5683");
    expect(m.dm.last()!.code).toBe(4);
    expect(m.dm.last()!.path).toBe("/rd/1");
    expect(m.sim.resets).toEqual(["shutdown"]);
  });

  it("restart from storage registers without bootstrap", () => {
    const m = registered();
    m.sim.reboot();
    const bsBefore = m.bs.received.length;
    boot(m.sim);
    m.sim.waitLog("registration: registered with coap://127.0.0.1:5683 as /rd/2 (ep=meter-1)");
    expect(m.bs.received.length).toBe(bsBefore);
  });

  it("falls back to bootstrap after the retry sequence fails (/1/x/17..20)", () => {
    const m = registered();
    m.sim.reboot();
    m.dm.handler = (req, ex) => ex.respond(0x83); // 4.03 to everything
    const n0 = m.dm.received.length;
    boot(m.sim);
    const t0 = m.sim.clock.now();
    m.sim.waitLog("Bootstrap-Request sent", 3600_000);
    // 5 attempts, waits of 60, 120, 240, 480 s in between
    const regs = m.dm.received.slice(n0).filter((r) => r.path === "/rd").map((r) => (r.time - t0) / 1000);
    expect(regs).toEqual([0, 60, 180, 420, 900]);
  });

  it("registers with every configured server", () => {
    const m = provisionedMeter();
    const dm2 = m.sim.addServer("127.0.0.1", 5693);
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    m.bs.call(PUT, "/0/1", { format: 11542, payload: securityInstance(1, m.dm.uri, 101) });
    m.bs.call(PUT, "/0/2", { format: 11542, payload: securityInstance(2, dm2.uri, 102) });
    m.bs.call(PUT, "/1/0", { format: 11542, payload: serverInstance(0, 101) });
    m.bs.call(PUT, "/1/1", { format: 11542, payload: serverInstance(1, 102) });
    m.bs.call(POST, "/bs");
    m.sim.waitLog("committed (2 server(s))");
    m.sim.waitLog("registered with");
    m.sim.waitLog("registered with");
    expect(text(dm2.received[0].payload)).toBe('</>;rt="oma.lwm2m";ct=11542,</1/0>,</1/1>,</2>,</3/0>');
    expect(m.sim.command("status")).toEqual([
      "bootstrap: done",
      "server 101: registered coap://127.0.0.1:5683 /rd/1",
      "server 102: registered coap://127.0.0.1:5693 /rd/1",
      "endpoint: meter-1",
      "heap: used=60000 peak=90000 pool=180224",
      "OK",
    ]);
  });
});
