// Client-initiated bootstrap and registration against Eclipse Leshan, verified through
// Leshan's own interfaces. Named after the OMA LwM2M 1.1 interoperability test cases
// (OMA-ETS-LightweightM2M_INT) they mirror. Runs on the rig named by RIG (default host).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDut, loadRig, type Dut } from "../rig/dut.ts";
import { nosecConfig, resourceValue, startLeshanBootstrap, startLeshanServer, type LeshanBootstrap, type LeshanServer, type Registration } from "../rig/leshan.ts";
import { stopAll } from "../rig/processes.ts";
import { BUDGETS } from "../../build/budgets.ts";

const RIG = process.env.RIG ?? "host";
const EP = "meter-0001";
const SSID = 101;
const REGISTERED = new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${EP}\\)`);
const BOOTSTRAPPED = "bootstrap: finished, configuration committed";

describe(`client-initiated bootstrap and registration (rig ${RIG})`, () => {
  let bs: LeshanBootstrap;
  let srv: LeshanServer;
  let dut: Dut;
  let registration: Registration;

  beforeAll(async () => {
    const rig = loadRig(RIG);
    [bs, srv] = await Promise.all([startLeshanBootstrap({ name: `${RIG}-bootstrap` }), startLeshanServer({ name: `${RIG}-server` })]);
    await bs.setConfig(EP, nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: SSID, lifetime: 60 }));
    dut = createDut(rig, { logName: `${RIG}-meter` });
    await dut.start();
    // Out-of-band provisioning (GEISA ADM): endpoint name and bootstrap-server URI only.
    await dut.command(`set endpoint ${EP}`);
    await dut.command(`set bs-uri ${bs.coapUri}`);
    await dut.reboot();
  });

  afterAll(async () => {
    await dut?.stop();
    await bs?.stop();
    await srv?.stop();
    await stopAll();
  });

  it("LightweightM2M-1.1-int-0 - Client Initiated Bootstrap", async () => {
    await dut.waitForLog(BOOTSTRAPPED);
    const [session] = await bs.waitForSessions(EP, (s) => s.length > 0 && s[0].state !== "started");
    expect(session).toMatchObject({ endpoint: EP, authorized: true, state: "finished" });
    const steps = session.requests.map((r) => `${r.kind} ${r.path} ${r.code}`);
    expect(steps).toEqual([
      "delete /0 2.02",
      "delete /1 2.02",
      "write /0/0 2.04",
      "write /0/1 2.04",
      "write /1/0 2.04",
      "finish /bs 2.04",
    ]);
    // The format the meter asked for with pct (if any) is the one Leshan wrote in.
    const writes = session.requests.filter((r) => r.kind === "write");
    for (const w of writes) expect(w.contentFormat).toBe(session.preferredContentFormat ?? "TLV");
  });

  it("LightweightM2M-1.1-int-101 - Initial Registration", async () => {
    const line = await dut.waitForLog(REGISTERED);
    const [, uri, location] = line.match(REGISTERED)!;
    expect(uri).toBe(srv.coapUri);
    registration = await srv.waitForClient(EP);
    expect(location).toBe(`/rd/${registration.registrationId}`);
    expect(registration.lwM2mVersion).toBe("1.1");
    expect(registration.lifetime).toBe(60);
    expect(registration.bindingMode).toBe("U");
    const links = registration.objectLinks.map((l) => l.url);
    expect(links).toContain("/3/0");
    expect(links).toContain("/2"); // Access Control: the object, no instance written
    expect(links.some((l) => l.startsWith("/1"))).toBe(true);
    expect(links.some((l) => l.startsWith("/0"))).toBe(false); // Security is never exposed
    expect((await srv.clients()).map((c) => c.endpoint)).toContain(EP);
  });

  it("LightweightM2M-1.1-int-203 - Querying basic information in TLV format", async () => {
    const read = await srv.read(EP, "/3/0", "TLV");
    expect(read).toMatchObject({ success: true });
    expect(read.status).toMatch(/^CONTENT/);
    expect(String(resourceValue(read, 0) ?? "")).not.toBe(""); // Manufacturer
    expect(String(resourceValue(read, 1) ?? "")).not.toBe(""); // Model Number
  });

  it("LightweightM2M-1.1-int-203 (negative) - a management server reading /0 is refused", async () => {
    const read = await srv.read(EP, "/0/0", "TLV");
    expect(read.success).toBe(false);
    expect(read.status).toMatch(/^UNAUTHORIZED/);
  });

  it(`the JS heap peak through boot, bootstrap and registration stays within ${BUDGETS.heapPeakBytes} bytes`, async () => {
    const status = (await dut.command("status")).join("\n");
    const heap = status.match(/heap: used=(\d+) peak=(\d+) pool=(\d+)/);
    expect(heap, status).not.toBeNull();
    console.log(`heap after registration: used ${heap![1]}, peak ${heap![2]}, pool ${heap![3]}`);
    expect(Number(heap![2])).toBeLessThanOrEqual(BUDGETS.heapPeakBytes);
  });

  it("restart from storage: after a power cycle the meter registers directly, without a new bootstrap", async () => {
    const before = (await bs.sessions(EP)).length;
    const from = dut.mark();
    await dut.powerCycle();
    await dut.waitForLog(REGISTERED);
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(again.endpoint).toBe(EP);
    expect(await bs.sessions(EP)).toHaveLength(before);
    expect(dut.logs().slice(from).filter((l) => l.includes(BOOTSTRAPPED))).toEqual([]);
  });
});
