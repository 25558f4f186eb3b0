// Bootstrapping again once registered: triggered by the management server (Execute /1/x/9)
// and as the fallback when every registration fails (/1/x/16..20). Against Eclipse Leshan's
// bootstrap server (through our launcher) and the Leshan server demo, checked through what
// Leshan recorded and what the meter stored. Named after the OMA LwM2M 1.1 interoperability
// test cases (OMA-ETS-LightweightM2M_INT) they mirror. Runs on the rig named by RIG (default host).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDut, loadRig, type Dut } from "../rig/dut.ts";
import { nosecConfig, startLeshanBootstrap, startLeshanServer, type LeshanBootstrap, type LeshanServer, type Registration } from "../rig/leshan.ts";
import { freePort, LOOPBACK } from "../rig/ports.ts";
import { stopAll } from "../rig/processes.ts";

const RIG = process.env.RIG ?? "host";
const EP = "meter-rebs-0001";
const SSID = 101;
const REGISTERED = new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${EP}\\)`);
const BOOTSTRAPPED = "bootstrap: finished, configuration committed";

describe(`re-bootstrap: server-initiated and fallback after registration failure (rig ${RIG})`, () => {
  let bs: LeshanBootstrap;
  let srv: LeshanServer;
  let dut: Dut;
  let registration: Registration;

  beforeAll(async () => {
    const rig = loadRig(RIG);
    [bs, srv] = await Promise.all([startLeshanBootstrap({ name: `${RIG}-rebs-bootstrap` }), startLeshanServer({ name: `${RIG}-rebs-server` })]);
    await bs.setConfig(EP, nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: SSID, lifetime: 60 }));
    dut = createDut(rig, { logName: `${RIG}-rebs-meter` });
    await dut.start();
    await dut.command(`set endpoint ${EP}`);
    await dut.command(`set bs-uri ${bs.coapUri}`);
    await dut.reboot();
    await dut.waitForLog(REGISTERED);
    registration = await srv.waitForClient(EP);
  });

  afterAll(async () => {
    await dut?.stop();
    await bs?.stop();
    await srv?.stop();
    await stopAll();
  });

  it("LightweightM2M-1.1-int-5 - Server Initiated Bootstrap: Execute /1/0/9 from Leshan, new bootstrap session, registered again", async () => {
    const index = (await bs.sessions(EP)).length;
    expect(index).toBe(1);
    // A different lifetime this time, to see the new configuration in the new registration.
    await bs.setConfig(EP, nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: SSID, lifetime: 120 }));
    const from = dut.mark();
    const exec = await srv.execute(EP, "/1/0/9");
    expect(exec).toMatchObject({ success: true, status: "CHANGED(204)" });

    const session = await bs.waitForSessionEnd(EP, { index });
    expect(session).toMatchObject({ endpoint: EP, authorized: true, state: "finished" });
    expect(session.requests.map((r) => `${r.kind} ${r.path} ${r.code}`)).toEqual([
      "delete /0 2.02",
      "delete /1 2.02",
      "write /0/0 2.04",
      "write /0/1 2.04",
      "write /1/0 2.04",
      "finish /bs 2.04",
    ]);
    await dut.waitForLog(BOOTSTRAPPED, { since: from });
    await dut.waitForLog(REGISTERED, { since: from });
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(again.lifetime).toBe(120);
    expect(await dut.command("show config")).toContain(`/1/0 ssid=${SSID} lifetime=120 binding=U`);
    registration = again;
  });

  it("LightweightM2M-1.1-int-7 - Fallback to bootstrap: every registration fails, the meter bootstraps again", async () => {
    const index = (await bs.sessions(EP)).length;
    // First configuration: the server account points at the bootstrap server's own port, with
    // the smallest retry settings (/1/0/17..20: one attempt, one sequence), so registration
    // fails for good at once; Bootstrap on Registration Failure (/1/0/16) stays at its default
    // (true). Once that session has finished, the launcher serves the working configuration
    // ("then"), so the fallback bootstrap gets it without a race. The fallback starts while the
    // finished bootstrap's link still lingers (this used to run the meter out of heap).
    const dead = bs.coapUri;
    const broken = nosecConfig({ bootstrapUri: bs.coapUri, serverUri: dead, ssid: SSID, lifetime: 60 });
    broken.extraRequests = [17, 18, 19, 20].map((r) => ({ op: "write-resource" as const, path: `/1/0/${r}`, value: 1 }));
    broken.then = nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: SSID, lifetime: 60 });
    await bs.setConfig(EP, broken);

    const from = dut.mark();
    await dut.command("bootstrap");
    const first = await bs.waitForSessionEnd(EP, { index });
    expect(first).toMatchObject({ state: "finished" });
    expect(first.requests.map((r) => `${r.kind} ${r.path} ${r.code}`)).toEqual([
      "delete /0 2.02",
      "delete /1 2.02",
      "write /0/0 2.04",
      "write /0/1 2.04",
      "write /1/0 2.04",
      "write /1/0/17 2.04",
      "write /1/0/18 2.04",
      "write /1/0/19 2.04",
      "write /1/0/20 2.04",
      "finish /bs 2.04",
    ]);
    await dut.waitForLog(`registration: registration with ${dead} failed (register 4.04)`, { since: from });
    await dut.waitForLog("app: no server reachable, bootstrapping", { since: from });

    const second = await bs.waitForSessionEnd(EP, { index: index + 1 });
    expect(second).toMatchObject({ endpoint: EP, authorized: true, state: "finished" });
    // The only registration since the console command is the one after the fallback: the
    // first configuration's Register was refused.
    await dut.waitForLog(REGISTERED, { since: from });
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(again.endpoint).toBe(EP);
    expect(await dut.command("show config")).toEqual([
      `endpoint: ${EP}`,
      `/0/0 bootstrap uri=${bs.coapUri} mode=3`,
      `/0/1 ssid=${SSID} uri=${srv.coapUri} mode=3`,
      `/1/0 ssid=${SSID} lifetime=60 binding=U`,
    ]);
  });
});
