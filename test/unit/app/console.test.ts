import { describe, it, expect } from "vitest";
import { SimHal } from "../../sim/hal";
import { boot, provisionedMeter, bootstrapSession } from "../lwm2m/helpers";

function fresh(): SimHal {
  const sim = new SimHal();
  boot(sim);
  return sim;
}

describe("console", () => {
  it("help and version end with OK", () => {
    const sim = fresh();
    const help = sim.command("help");
    expect(help[help.length - 1]).toBe("OK");
    expect(help.join(" ")).toContain("set bs-uri");
    expect(sim.command("version")).toEqual(["meter-fw 0.1.0 board=host engine=duktape", "OK"]);
  });

  it("unknown command and bad arguments", () => {
    const sim = fresh();
    expect(sim.command("xyz")).toEqual(["ERROR: unknown command 'xyz' (try help)"]);
    expect(sim.command("set colour red")).toEqual(["ERROR: bad arguments for 'set' (try help)"]);
    expect(sim.command("log loud")).toEqual(["ERROR: bad arguments for 'log' (try help)"]);
    expect(sim.command("")).toEqual([]);
  });

  it("set endpoint and bs-uri validate and store atomically", () => {
    const sim = fresh();
    expect(sim.command("set endpoint bad&name")).toEqual(["ERROR: bad character in endpoint name"]);
    expect(sim.command("set bs-uri http://x:1")).toEqual(["ERROR: bad URI 'http://x:1' (want coap://host:port)"]);
    expect(sim.command("set bs-uri coap://host:99999")[0]).toMatch(/^ERROR: bad URI/);
    expect(sim.command("set bs-uri coaps://host:5684")).toEqual(["ERROR: set the bootstrap credentials first"]);
    expect(sim.store.size).toBe(0);
    sim.failCommit = true;
    expect(sim.command("set bs-uri coap://10.1.2.3:5783")).toEqual(["ERROR: store failed (-7)"]);
    expect(sim.store.size).toBe(0);
    sim.failCommit = false;
    expect(sim.command("set endpoint meter-9")).toEqual(["OK"]);
    expect(sim.command("set bs-uri coap://10.1.2.3:5783")).toEqual(["OK"]);
    expect(sim.command("set bs-uri coap://[fd00::1]:5783")).toEqual(["OK"]);
    expect(sim.command("show config")).toEqual(["endpoint: meter-9", "/0/0 bootstrap uri=coap://[fd00::1]:5783 mode=3", "OK"]);
  });

  it("status, show config without secrets, bootstrap, log", () => {
    const m = provisionedMeter();
    bootstrapSession(m);
    m.sim.waitLog("registered with");
    const cfg = m.sim.command("show config");
    expect(cfg).toEqual([
      "endpoint: meter-1",
      "/0/0 bootstrap uri=coap://127.0.0.1:5783 mode=3",
      "/0/1 ssid=101 uri=coap://127.0.0.1:5683 mode=3",
      "/1/0 ssid=101 lifetime=300 binding=U",
      "OK",
    ]);
    const st = m.sim.command("status");
    expect(st[0]).toBe("bootstrap: done");
    expect(st[1]).toBe("server 101: registered coap://127.0.0.1:5683 /rd/1");
    expect(st[st.length - 1]).toBe("OK");
    expect(m.sim.command("log dbg")).toEqual(["OK"]);
    expect(m.sim.command("bootstrap")).toEqual(["OK"]);
    m.sim.waitLog("Bootstrap-Request sent");
  });

  it("bootstrap without an account is an error", () => {
    const sim = fresh();
    expect(sim.command("bootstrap")).toEqual(["ERROR: no bootstrap account (set bs-uri first)"]);
  });

  it("factory-reset keeps the bootstrap account and reboots", () => {
    const m = provisionedMeter();
    bootstrapSession(m);
    m.sim.waitLog("registered with");
    expect(m.sim.command("factory-reset")).toEqual(["OK"]);
    expect(m.sim.resets).toEqual(["factory-reset"]);
    expect([...m.sim.store.keys()].sort()).toEqual([0x0000, 0x7f00, 0x7f01]);
    boot(m.sim);
    m.sim.waitLog("Bootstrap-Request sent");
  });

  it("skips a corrupted record with a warning and falls back to bootstrap", () => {
    const m = provisionedMeter();
    bootstrapSession(m);
    m.sim.waitLog("registered with");
    m.sim.reboot();
    m.sim.store.set(0x0100, new Uint8Array([0xff, 0x01]));
    boot(m.sim);
    m.sim.waitLog("persist: record 0x100 skipped");
    m.sim.waitLog("Bootstrap-Request sent");
  });
});
