// The Bootstrap interface operations beyond a plain client-initiated bootstrap, against
// Eclipse Leshan's bootstrap server (through our launcher) and the Leshan server demo, checked
// through what Leshan recorded and what the meter stored (`show config` on its console).
// Named after the OMA LwM2M 1.1 interoperability test cases (OMA-ETS-LightweightM2M_INT)
// they mirror. Runs on the rig named by RIG (default host).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDut, loadRig, type Dut } from "../rig/dut.ts";
import { startLeshanBootstrap, startLeshanServer, type BootstrapConfig, type BsSession, type LeshanBootstrap, type LeshanServer, type Registration } from "../rig/leshan.ts";
import { stopAll } from "../rig/processes.ts";

const RIG = process.env.RIG ?? "host";
const EP = "meter-bsi-0001";
const SSID = 101;
const REGISTERED = new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${EP}\\)`);
const BOOTSTRAPPED = "bootstrap: finished, configuration committed";

/** "kind path code" of every request of a session, in order. */
const steps = (s: BsSession) => s.requests.map((r) => `${r.kind} ${r.path} ${r.code ?? r.error}`);

describe(`Bootstrap interface: Delete, Discover, Read, consistency at Finish (rig ${RIG})`, () => {
  let bs: LeshanBootstrap;
  let srv: LeshanServer;
  let dut: Dut;
  /** `show config` right after out-of-band provisioning: only the bootstrap account. */
  let provisioned: string[];
  let registration: Registration;

  /** One management server account (Security /0/1 + Server /1/0) on Leshan, no bootstrap account. */
  const serverAccount = (lifetime: number): Pick<BootstrapConfig, "security" | "servers"> => ({
    security: { 1: { uri: srv.coapUri, bootstrapServer: false, securityMode: "NO_SEC", serverId: SSID } },
    servers: { 0: { shortId: SSID, lifetime, binding: "U", notifIfDisabled: true } },
  });

  /** Console `bootstrap`, then waits until that session (the next one) has ended. */
  async function bootstrapAgain(): Promise<BsSession> {
    const index = (await bs.sessions(EP)).length;
    await dut.command("bootstrap");
    return bs.waitForSessionEnd(EP, { index });
  }

  beforeAll(async () => {
    const rig = loadRig(RIG);
    [bs, srv] = await Promise.all([startLeshanBootstrap({ name: `${RIG}-bsi-bootstrap` }), startLeshanServer({ name: `${RIG}-bsi-server` })]);
    // Bootstrap-Delete "/" first, and no bootstrap account in the configuration: the meter's
    // own (provisioned out of band) must survive the delete.
    await bs.setConfig(EP, { toDelete: ["/"], ...serverAccount(60), extraRequests: [{ op: "discover", path: "/" }] });
    dut = createDut(rig, { logName: `${RIG}-bsi-meter` });
    await dut.start();
    await dut.command(`set endpoint ${EP}`);
    await dut.command(`set bs-uri ${bs.coapUri}`);
    provisioned = await dut.command("show config");
    await dut.reboot();
  });

  afterAll(async () => {
    await dut?.stop();
    await bs?.stop();
    await srv?.stop();
    await stopAll();
  });

  it("LightweightM2M-1.1-int-4 - Bootstrap Delete: Delete / keeps the bootstrap account and the Device object", async () => {
    const bsAccount = provisioned.find((l) => / bootstrap uri=/.test(l));
    expect(bsAccount, provisioned.join("\n")).toBe(`/0/0 bootstrap uri=${bs.coapUri} mode=3`);

    await dut.waitForLog(BOOTSTRAPPED);
    const session = await bs.waitForSessionEnd(EP, { index: 0 });
    expect(session).toMatchObject({ endpoint: EP, authorized: true, state: "finished" });
    expect(steps(session)).toEqual(["delete / 2.02", "write /0/1 2.04", "write /1/0 2.04", "discover / 2.05", "finish /bs 2.04"]);

    // Bootstrap-Discover after the delete: the bootstrap account (no ssid), the new account
    // and the Device instance are there.
    const links = session.requests.find((r) => r.kind === "discover")!.links ?? "";
    expect(links).toMatch(/^<\/>;lwm2m="?1\.1"?/);
    expect(links).toContain(`</0/0>;uri="${bs.coapUri}"`);
    expect(links).not.toMatch(/<\/0\/0>;ssid=/);
    expect(links).toContain(`</0/1>;ssid=${SSID};uri="${srv.coapUri}"`);
    expect(links).toContain(`</1/0>;ssid=${SSID}`);
    expect(links).toContain("</3/0>");

    // What the meter stored: its bootstrap account untouched, plus the new server account.
    expect(await dut.command("show config")).toEqual([
      `endpoint: ${EP}`,
      `/0/0 bootstrap uri=${bs.coapUri} mode=3`,
      `/0/1 ssid=${SSID} uri=${srv.coapUri} mode=3`,
      `/1/0 ssid=${SSID} lifetime=60 binding=U`,
    ]);

    // /3/0 survived: it is registered and Leshan can read it.
    await dut.waitForLog(REGISTERED);
    registration = await srv.waitForClient(EP);
    expect(registration.objectLinks.map((l) => l.url)).toContain("/3/0");
    const read = await srv.read(EP, "/3/0", "TLV");
    expect(read.status).toMatch(/^CONTENT/);
  });

  it("LightweightM2M-1.1-int-8 - Bootstrap Read: the Server object as staged in the session", async () => {
    await bs.setConfig(EP, {
      ...serverAccount(90),
      extraRequests: [
        { op: "read", path: "/1" },
        { op: "read", path: "/1/0", contentFormat: "SENML_CBOR" },
      ],
    });
    const from = dut.mark();
    const session = await bootstrapAgain();
    expect(session).toMatchObject({ endpoint: EP, authorized: true, state: "finished" });
    expect(steps(session)).toEqual(["write /0/1 2.04", "write /1/0 2.04", "read /1 2.05", "read /1/0 2.05", "finish /bs 2.04"]);
    const [object, instance] = session.requests.filter((r) => r.kind === "read").map((r) => r.content ?? "");
    // The lifetime written in this very session (90, was 60) is what the read returns.
    for (const content of [object, instance]) {
      expect(content).toMatch(/id=0, value=101\b/);
      expect(content).toMatch(/id=1, value=90\b/);
    }
    expect(object).toMatch(/LwM2mObject \[id=1/);

    await dut.waitForLog(REGISTERED, { since: from });
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(again.lifetime).toBe(90);
    registration = again;
  });

  it("LightweightM2M-1.1-int-9 - Bootstrap and Configuration Consistency: 4.06 at Finish, old configuration kept, corrected one accepted", async () => {
    const before = await dut.command("show config");
    // A Server instance whose SSID has no Security instance (Leshan itself would refuse it).
    await bs.setConfig(EP, { unchecked: true, servers: { 1: { shortId: 202, lifetime: 60, binding: "U" } } });
    const from = dut.mark();
    const failed = await bootstrapAgain();
    expect(failed).toMatchObject({ endpoint: EP, authorized: true, state: "failed", failure: "FINISH_FAILED" });
    expect(steps(failed)).toEqual(["write /1/1 2.04", "finish /bs 4.06"]);
    expect(failed.requests[1].errorMessage).toMatch(/no security instance for SSID 202/);
    await dut.waitForLog("bootstrap: rejected at Finish: no security instance for SSID 202", { since: from });

    // Nothing of the rejected session was applied: the meter goes back to the servers of its
    // old configuration at once and registers again.
    await dut.waitForLog("bootstrap: bootstrap failed; back to the configured servers", { since: from });
    await dut.waitForLog(REGISTERED, { since: from });
    registration = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(registration.lifetime).toBe(90);

    // Nor in storage: after a power cycle the meter registers with the old configuration,
    // without bootstrapping.
    expect(await dut.command("show config")).toEqual(before);
    const sessions = (await bs.sessions(EP)).length;
    const boot = dut.mark();
    await dut.powerCycle();
    expect(await dut.command("show config")).toEqual(before);
    await dut.waitForLog(REGISTERED, { since: boot });
    registration = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(registration.lifetime).toBe(90);
    expect(await bs.sessions(EP)).toHaveLength(sessions);

    // The corrected configuration on the next attempt: the server account of SSID 202.
    await bs.setConfig(EP, {
      toDelete: ["/0", "/1"],
      security: { 2: { uri: srv.coapUri, bootstrapServer: false, securityMode: "NO_SEC", serverId: 202 } },
      servers: { 1: { shortId: 202, lifetime: 60, binding: "U", notifIfDisabled: true } },
    });
    const fixed = dut.mark();
    const ok = await bootstrapAgain();
    expect(ok).toMatchObject({ state: "finished" });
    expect(steps(ok)).toEqual(["delete /0 2.02", "delete /1 2.02", "write /0/2 2.04", "write /1/1 2.04", "finish /bs 2.04"]);
    await dut.waitForLog(BOOTSTRAPPED, { since: fixed });
    expect(await dut.command("show config")).toEqual([
      `endpoint: ${EP}`,
      `/0/0 bootstrap uri=${bs.coapUri} mode=3`,
      `/0/2 ssid=202 uri=${srv.coapUri} mode=3`,
      `/1/1 ssid=202 lifetime=60 binding=U`,
    ]);
    await dut.waitForLog(REGISTERED, { since: fixed });
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(again.lifetime).toBe(60);
    expect(again.objectLinks.map((l) => l.url)).toContain("/1/1");
    registration = again;
  });

  it("Access Control (/2): Bootstrap-Write, -Read and -Discover of ACL instances; registered, read by the server, kept across a power cycle", async () => {
    await bs.setConfig(EP, {
      toDelete: ["/0", "/1", "/2"],
      ...serverAccount(60),
      acls: {
        0: { objectId: 3, objectInstanceId: 0, acls: { [SSID]: 1, 0: 1 }, accessControlOwner: SSID },
        1: { objectId: 1, objectInstanceId: 0, accessControlOwner: SSID },
      },
      extraRequests: [
        { op: "read", path: "/2/0" },
        { op: "discover", path: "/2" },
      ],
    });
    const from = dut.mark();
    const session = await bootstrapAgain();
    expect(session).toMatchObject({ endpoint: EP, authorized: true, state: "finished" });
    const done = steps(session);
    for (const step of ["delete /2 2.02", "write /2/0 2.04", "write /2/1 2.04", "read /2/0 2.05", "discover /2 2.05", "finish /bs 2.04"]) expect(done).toContain(step);
    const read = session.requests.find((r) => r.kind === "read")!.content ?? "";
    expect(read).toMatch(/id=0, value=3\b/); // Object ID
    expect(read).toMatch(/id=3, value=101\b/); // owner
    expect(session.requests.find((r) => r.kind === "discover")!.links).toBe("</2/0>,</2/1>");
    await dut.waitForLog(BOOTSTRAPPED, { since: from });
    await dut.waitForLog(REGISTERED, { since: from });
    registration = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    const links = registration.objectLinks.map((l) => l.url);
    expect(links).toContain("/2/0");
    expect(links).toContain("/2/1");
    // A management server may read the ACL instances (with one server, nothing is checked).
    const acl = await srv.read(EP, "/2/0", "TLV");
    expect(acl.status).toMatch(/^CONTENT/);

    // Stored at Finish: after a power cycle they are there again, without a bootstrap.
    const sessions = (await bs.sessions(EP)).length;
    const boot = dut.mark();
    await dut.powerCycle();
    await dut.waitForLog(REGISTERED, { since: boot });
    registration = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(registration.objectLinks.map((l) => l.url)).toEqual(expect.arrayContaining(["/1/0", "/2/0", "/2/1", "/3/0"]));
    expect(await bs.sessions(EP)).toHaveLength(sessions);
  });
});
