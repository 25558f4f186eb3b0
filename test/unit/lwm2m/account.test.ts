// The bootstrap account's own settings: Client Hold Off Time (/0/x/11), Bootstrap-Server
// Account Timeout (/0/x/12), and the keep/wipe reading of a re-bootstrap.
import { describe, it, expect } from "vitest";
import { boot, provisionedMeter, securityInstance, serverInstance, expectOk, Meter, PUT, POST, DELETE, GET } from "./helpers";
import { CF_TLV, CF_LINK } from "../../../firmware/formats/content-format";

const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : "");

/** Bootstrap with one server (SSID 101) plus resource writes to the bootstrap account /0/0. */
function bootstrapWith(m: Meter, account: [number, string][], serverExtra: [string, string][] = []): void {
  m.sim.waitLog("Bootstrap-Request sent");
  m.sim.run(100);
  m.bs.call(DELETE, "/");
  expect(m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) }).code).toBe(0x44);
  expect(m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101) }).code).toBe(0x44);
  for (const [rid, v] of account) expect(m.bs.call(PUT, "/0/0/" + rid, { format: 0, payload: v }).code).toBe(0x44);
  for (const [path, v] of serverExtra) expect(m.bs.call(PUT, path, { format: 0, payload: v }).code).toBe(0x44);
  expect(m.bs.call(POST, "/bs").code).toBe(0x44);
  m.sim.waitLog("registration: registered with");
}

function refuseRegistration(m: Meter): void {
  m.dm.handler = (req, ex) => ex.respond(0x83); // 4.03 Forbidden
}

describe("bootstrap account settings", () => {
  it("Client Hold Off Time: the fallback bootstrap waits /0/x/11 seconds", () => {
    const m = provisionedMeter();
    bootstrapWith(m, [[11, "45"]], [["/1/0/17", "1"], ["/1/0/20", "1"]]);
    refuseRegistration(m);
    m.sim.reboot();
    m.app = boot(m.sim);
    const before = m.bs.received.length;
    m.sim.waitLog("registration: registration with");
    const failedAt = m.sim.clock.now();
    m.sim.waitLog("Bootstrap-Request sent");
    const waited = m.sim.clock.now() - failedAt;
    expect(waited).toBeGreaterThanOrEqual(45_000);
    expect(waited).toBeLessThan(50_000);
    expect(m.bs.received.length).toBeGreaterThan(before);
  });

  it("Bootstrap-Server Account Timeout: the account is purged /0/x/12 seconds after the bootstrap, and kept until then", () => {
    const m = provisionedMeter();
    bootstrapWith(m, [[12, "600"]]);
    const done = m.sim.clock.now();
    m.sim.run(590_000);
    expect(m.app.reg.obj(0)!.insts.map((i) => i.id)).toEqual([0, 1]);
    const line = m.sim.waitLog("bootstrap account purged");
    expect(line).toContain("(account timeout /0/0/12)");
    expect(m.sim.clock.now() - done).toBeGreaterThanOrEqual(600_000);
    expect(m.app.reg.obj(0)!.insts.map((i) => i.id)).toEqual([1]);
    expect(m.sim.store.has(0x0000)).toBe(false);
    // After a power cycle the meter still has only its management account and registers.
    m.sim.reboot();
    const app = boot(m.sim);
    expect(app.reg.obj(0)!.insts.map((i) => i.id)).toEqual([1]);
    m.sim.waitLog("registration: registered with");
  });

  it("without a bootstrap account a failing server is retried, never bootstrapped", () => {
    const m = provisionedMeter();
    bootstrapWith(m, [[12, "60"]], [["/1/0/17", "1"], ["/1/0/19", "600"]]);
    m.sim.waitLog("bootstrap account purged");
    refuseRegistration(m);
    m.sim.reboot();
    m.app = boot(m.sim);
    const bsBefore = m.bs.received.length;
    m.sim.run(3 * 3600_000);
    expect(m.bs.received.length).toBe(bsBefore);
    expect(m.dm.received.filter((r) => r.path === "/rd").length).toBeGreaterThan(3);
  });

  it("re-bootstrap keeps the server accounts by default; `set rebootstrap wipe` starts the session from nothing", () => {
    const m = provisionedMeter();
    bootstrapWith(m, []);
    m.sim.command("bootstrap");
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    expect(text(m.bs.call(GET, "/", { accept: CF_LINK }).payload)).toContain("</1/0>;ssid=101");
    m.bs.call(POST, "/bs");
    m.sim.waitLog("registration: registered with");
    expectOk(m.sim.command("set rebootstrap wipe"));
    m.sim.command("bootstrap");
    m.sim.waitLog("Bootstrap-Request sent");
    m.sim.run(100);
    const disc = text(m.bs.call(GET, "/", { accept: CF_LINK }).payload);
    expect(disc).not.toContain("</1/0>");
    expect(disc).toContain("</0/0>");
    // A Finish on the empty configuration is refused and the old one stays.
    expect(m.bs.call(POST, "/bs").code).toBe(0x86);
    expect(m.app.reg.obj(1)!.insts.map((i) => i.id)).toEqual([0]);
    expectOk(m.sim.command("set rebootstrap keep"));
  });
});
