import { describe, it, expect } from "vitest";
import { provisionedMeter, bootstrapSession, Meter, POST, GET, PUT, DELETE, types } from "./helpers";
import { CF_TLV, CF_SENML_CBOR, CF_SENML_JSON, CF_LINK, decodeContent } from "../../../firmware/formats/content-format";

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
