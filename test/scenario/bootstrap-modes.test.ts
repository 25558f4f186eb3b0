// Bootstrap modes and the timers around them, against Eclipse Leshan's bootstrap server (our
// launcher) and the Leshan server demo, checked through what Leshan recorded and what the meter
// stored and logged (`show config`, `status`, log lines with their `[HH:MM:SS.mmm]` uptime):
//
// 1. Factory bootstrap: the server account is written over the console at manufacturing; the
//    meter registers directly, never contacting the bootstrap server, also after a power cycle.
// 2. Bootstrap-Finish never sent (the launcher's "withholdFinish"): the staged writes are dropped
//    after EXCHANGE_LIFETIME (247 s), the previous configuration and the bootstrap account stay,
//    and without a server the meter retries with a doubling backoff.
// 3. Client Hold Off Time (/0/x/11) and Bootstrap-Server Account Timeout (/0/x/12) written by the
//    bootstrap server: the fallback Bootstrap-Request waits for the hold-off; once the account
//    timeout has purged the bootstrap account, a failing server never leads back to bootstrap.
//    A server "fails" by refusing the meter: a PSK entry for its endpoint in the Leshan server's
//    security store makes Leshan answer its plain-CoAP Update 4.00 and Register 4.03. (A stopped
//    server would do as well, but each Update/Register then runs into the full CoAP timeout,
//    about 90 s, before it counts as failed.)
//
// The OMA LwM2M 1.1 interoperability suite (OMA-ETS-LightweightM2M_INT) has no case for these
// three, so they are named after the LwM2M 1.1 feature they check.
//
// Time: scenarios 1 and 3 run in real time (hold-off 20 s, account timeout 60 s: about two
// minutes). Scenario 2 would need 247 s per abandoned session, so on the host board the meter
// runs with --virtual-clock: its time stands still while it works and jumps to its next deadline
// whenever no datagram or console line has arrived for 10 ms of real time. The 247 s then pass
// at once, but a Leshan request arriving more than 10 ms after the meter's previous answer comes
// "247 s late" for the meter, which then correctly drops the session early (Leshan's JVM does
// that often on a small machine). The scenario asserts on the meter in every case, and on
// Leshan's session once Leshan got every request of the configuration answered: an attempt cut
// short that way is repeated (the retry is the rig's; each attempt's outcome on the meter is
// asserted). On other rigs the scenario waits the real 247 s (hang guards scale).
// Nothing asserts on wall-clock durations; durations asserted are the meter's own timestamps.
// Runs on the rig named by RIG (default host).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDut, loadRig, type Dut, type RigDescription } from "../rig/dut.ts";
import {
  nosecConfig,
  startLeshanBootstrap,
  startLeshanServer,
  type BootstrapConfig,
  type BsSession,
  type LeshanBootstrap,
  type LeshanServer,
  type Registration,
} from "../rig/leshan.ts";
import { freePort, LOOPBACK } from "../rig/ports.ts";
import { stopAll } from "../rig/processes.ts";

const RIG = process.env.RIG ?? "host";
const BOOTSTRAPPED = "bootstrap: finished, configuration committed";
const BS_REQUEST = "bootstrap: Bootstrap-Request sent to ";
const registered = (ep: string) => new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${ep}\\)`);

/** A `status` line of a registered server (an Update may be on its way at that moment). */
const serverLine = (ssid: number, uri: string, id = "\\S+") => new RegExp(`^server ${ssid}: (registered|updating) ${uri} /rd/${id}$`);

/** "kind path code" of every request of a session, in order. */
const steps = (s: BsSession) => s.requests.map((r) => `${r.kind} ${r.path} ${r.code ?? r.error ?? "no answer"}`);

/** The meter's uptime in a log line `[HH:MM:SS.mmm] ...`, in ms (restarts at 0 on every boot). */
function uptimeMs(line: string): number {
  const m = line.match(/^\[(\d+):(\d{2}):(\d{2})\.(\d{3})\]/);
  if (!m) throw new Error(`not a log line: ${line}`);
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
}

/** Log lines since `from` that contain `text`. */
const linesWith = (dut: Dut, text: string | RegExp, from: number) =>
  dut.logs().slice(from).filter((l) => (typeof text === "string" ? l.includes(text) : text.test(l)));

/** Polls `fn` until it returns a value, or gives up with undefined after timeoutMs (no throw). */
async function within<T>(timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

let rig: RigDescription;
let bs: LeshanBootstrap;
let srv: LeshanServer;

beforeAll(async () => {
  rig = loadRig(RIG);
  [bs, srv] = await Promise.all([startLeshanBootstrap({ name: `${RIG}-modes-bootstrap` }), startLeshanServer({ name: `${RIG}-modes-server` })]);
});

afterAll(async () => {
  await bs?.stop();
  await srv?.stop();
  await stopAll();
});

// ---------------------------------------------------------------------------------------------

describe(`factory bootstrap: server account provisioned at manufacturing (rig ${RIG})`, () => {
  const EP = "meter-fbs-0001";
  const SSID = 101;
  const REGISTERED = registered(EP);
  let dut: Dut;
  let provisioned: string[];
  let registration: Registration;

  beforeAll(async () => {
    // A bootstrap configuration exists for the endpoint: a bootstrap, if the meter wrongly
    // started one, would succeed and show in the launcher's session log.
    await bs.setConfig(EP, nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: 202, lifetime: 90 }));
    dut = createDut(rig, { logName: `${RIG}-modes-factory-meter` });
    await dut.start();
    // The factory line: endpoint, management server account, and a bootstrap account for later.
    await dut.command(`set endpoint ${EP}`);
    await dut.command(`set bs-uri ${bs.coapUri}`);
    await dut.command(`set server ${SSID} ${srv.coapUri} 60`);
    provisioned = await dut.command("show config");
    await dut.reboot();
  });

  afterAll(async () => {
    await dut?.stop();
  });

  it("Factory Bootstrap: registers with the provisioned server directly, no bootstrap session", async () => {
    expect(provisioned).toEqual([
      `endpoint: ${EP}`,
      `/0/0 bootstrap uri=${bs.coapUri} mode=3`,
      `/0/1 ssid=${SSID} uri=${srv.coapUri} mode=3`,
      `/1/0 ssid=${SSID} lifetime=60 binding=U`,
    ]);
    const line = await dut.waitForLog(REGISTERED);
    const [, uri, location] = line.match(REGISTERED)!;
    expect(uri).toBe(srv.coapUri);
    registration = await srv.waitForClient(EP);
    expect(location).toBe(`/rd/${registration.registrationId}`);
    expect(registration).toMatchObject({ endpoint: EP, lifetime: 60, lwM2mVersion: "1.1", bindingMode: "U", secure: false });
    const links = registration.objectLinks.map((l) => l.url);
    expect(links).toContain("/1/0");
    expect(links).toContain("/3/0");
    expect(links.some((l) => l.startsWith("/0"))).toBe(false);

    // The meter: nothing but the factory data, the bootstrap state machine never left idle.
    expect(await dut.command("show config")).toEqual(provisioned);
    const status = await dut.command("status");
    expect(status).toContain("bootstrap: idle");
    expect(status).toContainEqual(expect.stringMatching(serverLine(SSID, srv.coapUri, registration.registrationId)));
    expect(linesWith(dut, BS_REQUEST, 0)).toEqual([]);
    expect(linesWith(dut, "bootstrapping", 0)).toEqual([]);
    // Leshan's bootstrap server never heard of it.
    expect(await bs.sessions(EP)).toEqual([]);
  });

  it("Factory Bootstrap: after a power cycle the meter registers again from storage", async () => {
    const from = dut.mark();
    await dut.powerCycle();
    expect(await dut.command("show config")).toEqual(provisioned);
    await dut.waitForLog(REGISTERED, { since: from });
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(again).toMatchObject({ endpoint: EP, lifetime: 60 });
    expect(linesWith(dut, BS_REQUEST, from)).toEqual([]);
    expect(await bs.sessions(EP)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe(`Bootstrap-Finish never sent: staged writes dropped after EXCHANGE_LIFETIME (rig ${RIG})`, () => {
  const EP = "meter-nofin-0001";
  const SSID = 101;
  const REGISTERED = registered(EP);
  const NO_FINISH = "bootstrap: no Finish within 247 s";
  /** Only the host board has a virtual clock. */
  const virtualClock = loadRig(RIG).board === "host";
  /** Hang guards: the meter's 247 s pass at once on the virtual clock, in real time elsewhere
   * (the second case then waits 3 x 247 s plus two backoffs: up to 17 minutes). */
  const guardMs = virtualClock ? 120_000 : 600_000;
  const caseTimeoutMs = virtualClock ? 600_000 : 2_400_000;
  let dut: Dut;
  let deadUri: string;
  let provisioned: string[];
  let registration: Registration;

  /** What every abandoned session writes: a new bootstrap account (pointing nowhere) and a
   * server account of SSID 202, after deleting /0 and /1. Committed, it would show. */
  const abandoned = (): BootstrapConfig => ({
    toDelete: ["/0", "/1"],
    security: {
      0: { uri: deadUri, bootstrapServer: true, securityMode: "NO_SEC" },
      1: { uri: srv.coapUri, bootstrapServer: false, securityMode: "NO_SEC", serverId: 202 },
    },
    servers: { 0: { shortId: 202, lifetime: 90, binding: "U", notifIfDisabled: true } },
    withholdFinish: true,
  });
  const ABANDONED_STEPS = ["delete /0 2.02", "delete /1 2.02", "write /0/0 2.04", "write /0/1 2.04", "write /1/0 2.04"];

  /** Session `index` of EP once Leshan has had every request of the configuration answered
   * (state "withheld"), or undefined when the meter dropped it before (see the header). Asked
   * once the meter has given up: by then Leshan has the answer to its last request, or never
   * will (a moment's grace for Leshan to take it in). */
  const withheldSession = (index: number) =>
    within(3_000, async () => {
      const s = (await bs.sessions(EP))[index];
      return s?.state === "withheld" ? s : undefined;
    });

  beforeAll(async () => {
    deadUri = `coap://${LOOPBACK}:${await freePort("udp")}`; // nobody listens there
    dut = createDut(rig, { logName: `${RIG}-modes-nofinish-meter`, extraArgs: virtualClock ? ["--virtual-clock"] : [] });
    await dut.start();
    await dut.command(`set endpoint ${EP}`);
    await dut.command(`set bs-uri ${bs.coapUri}`);
    // A short lifetime keeps the virtual clock's steps small while registered.
    await dut.command(`set server ${SSID} ${srv.coapUri} 20`);
    provisioned = await dut.command("show config");
    await dut.reboot();
    await dut.waitForLog(REGISTERED, { timeoutMs: guardMs });
    registration = await srv.waitForClient(EP);
  });

  afterAll(async () => {
    await dut?.stop();
  });

  it("Bootstrap-Finish never sent: no Finish within 247 s, the writes are dropped, the configured server and the bootstrap account are kept", async () => {
    await bs.setConfig(EP, abandoned());
    let session: BsSession | undefined;
    for (let attempt = 1; attempt <= 20 && !session; attempt++) {
      const index = (await bs.sessions(EP)).length;
      const from = dut.mark();
      await dut.command("bootstrap");
      const request = await dut.waitForLog(BS_REQUEST, { since: from, timeoutMs: guardMs });
      const gaveUp = await dut.waitForLog(NO_FINISH, { since: from, timeoutMs: guardMs });
      // Every attempt, however far Leshan got: the old servers come back, nothing was taken.
      expect(gaveUp).toContain(`${NO_FINISH}; back to the configured servers`);
      expect(uptimeMs(gaveUp) - uptimeMs(request)).toBeGreaterThanOrEqual(247_000);
      await dut.waitForLog(REGISTERED, { since: from, timeoutMs: guardMs });
      expect(await dut.command("show config")).toEqual(provisioned);
      session = await withheldSession(index);
      if (!session) console.log(`attempt ${attempt}: the meter dropped the session before Leshan's last request (${steps((await bs.sessions(EP))[index]).join(", ")}); again`);
    }
    expect(session, "Leshan never got a whole session answered").toBeDefined();

    // Leshan: everything of the configuration sent and answered, Finish never sent.
    expect(session).toMatchObject({ endpoint: EP, authorized: true, state: "withheld", finishWithheld: true });
    expect(steps(session!)).toEqual(ABANDONED_STEPS);

    // The meter: the factory account is what it registers with again (lifetime 20, not 90),
    // and the provisioned bootstrap account is still there (not the one written).
    registration = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(registration.lifetime).toBe(20);
    expect(registration.objectLinks.map((l) => l.url)).toContain("/1/0");
    const config = await dut.command("show config");
    expect(config).toEqual(provisioned);
    expect(config).toContain(`/0/0 bootstrap uri=${bs.coapUri} mode=3`);
    expect(config.join("\n")).not.toContain("ssid=202");
    const status = await dut.command("status");
    expect(status).toContain("bootstrap: idle");
    expect(status).toContainEqual(expect.stringMatching(serverLine(SSID, srv.coapUri)));
    expect(linesWith(dut, BOOTSTRAPPED, 0)).toEqual([]);
  }, caseTimeoutMs);

  it("Bootstrap-Finish never sent: without a server the meter retries with a doubling backoff; a later complete bootstrap is taken", async () => {
    // Two abandoned sessions, then a complete configuration (server account only: the meter's
    // own bootstrap account stays as provisioned). "then" moves on once Leshan's session is
    // over, so an attempt the meter cut short just gets the same configuration again.
    const complete = nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: 202, lifetime: 20, bootstrapAccount: false });
    await bs.setConfig(EP, { ...abandoned(), then: { ...abandoned(), then: complete } });
    const first = (await bs.sessions(EP)).length;

    // factory-reset drops the server accounts and keeps the bootstrap account: no server left.
    const from = dut.mark();
    await dut.command("factory-reset");
    await dut.waitForLog("app: no management server, bootstrapping", { since: from, timeoutMs: 60_000 });
    const boot = dut.logs().slice(from).findIndex((l) => l.includes("app: no management server")) + from;
    await dut.waitForLog(BOOTSTRAPPED, { since: boot, timeoutMs: virtualClock ? guardMs : 1_800_000 });
    await dut.waitForLog(REGISTERED, { since: boot, timeoutMs: guardMs });

    // The meter: every abandoned session ended in a retry, paced by a doubling backoff
    // (60 s * 2^(k-1), jittered over [50 %, 150 %)), each Bootstrap-Request no earlier than
    // the retry said; the first request came at once (hold-off 0).
    const log = dut.logs().slice(boot);
    const requests = log.filter((l) => l.includes(BS_REQUEST));
    const retries = log.filter((l) => l.includes(NO_FINISH));
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(requests).toHaveLength(retries.length + 1);
    retries.forEach((line, k) => {
      const m = line.match(/no Finish within 247 s; retry in (\d+) s$/);
      expect(m, line).not.toBeNull();
      const seconds = Number(m![1]);
      expect(seconds).toBeGreaterThanOrEqual(30 * 2 ** k);
      expect(seconds).toBeLessThanOrEqual(90 * 2 ** k);
      expect(uptimeMs(line) - uptimeMs(requests[k])).toBeGreaterThanOrEqual(247_000);
      expect(uptimeMs(requests[k + 1]) - uptimeMs(line)).toBeGreaterThanOrEqual(seconds * 1000 - 500); // printed rounded
    });
    expect(requests.every((l) => l.includes(`${BS_REQUEST}${bs.coapUri} `))).toBe(true);

    // Leshan: at least two sessions answered in full and left without Finish, then the
    // complete one; nothing else ever got a Finish.
    const sessions = (await bs.sessions(EP)).slice(first);
    expect(sessions).toHaveLength(requests.length);
    const last = sessions[sessions.length - 1];
    expect(last).toMatchObject({ state: "finished", authorized: true });
    expect(steps(last)).toEqual(["delete /0 2.02", "delete /1 2.02", "write /0/1 2.04", "write /1/0 2.04", "finish /bs 2.04"]);
    const withheld = sessions.filter((s) => s.state === "withheld");
    expect(withheld.length).toBeGreaterThanOrEqual(2);
    for (const s of withheld) expect(steps(s)).toEqual(ABANDONED_STEPS);
    for (const s of sessions.slice(0, -1)) expect(s.requests.some((r) => r.kind === "finish")).toBe(false);

    // What the meter stored: its own bootstrap account, never the one the abandoned sessions wrote.
    expect(await dut.command("show config")).toEqual([
      `endpoint: ${EP}`,
      `/0/0 bootstrap uri=${bs.coapUri} mode=3`,
      `/0/1 ssid=202 uri=${srv.coapUri} mode=3`,
      `/1/0 ssid=202 lifetime=20 binding=U`,
    ]);
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(again.objectLinks.map((l) => l.url)).toContain("/1/0");
  }, caseTimeoutMs);
});

// ---------------------------------------------------------------------------------------------

describe(`Client Hold Off Time and Bootstrap-Server Account Timeout (rig ${RIG})`, () => {
  const EP = "meter-hold-0001";
  const REGISTERED = registered(EP);
  const HOLD_OFF = 20; // /0/x/11, s
  const ACCOUNT_TIMEOUT = 60; // /0/x/12, s
  const SEQ_DELAY = 5; // /1/x/19, s
  /** Registration fails for good at the first failure (/1/x/17..20: one attempt, one sequence). */
  const quickFailure = [
    { op: "write-resource" as const, path: "/1/0/17", value: 1 },
    { op: "write-resource" as const, path: "/1/0/18", value: 1 },
    { op: "write-resource" as const, path: "/1/0/19", value: SEQ_DELAY },
    { op: "write-resource" as const, path: "/1/0/20", value: 1 },
  ];
  const CONFIG_STEPS = [
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
  ];
  let srvA: LeshanServer;
  let srvB: LeshanServer;
  let dut: Dut;
  /** The meter's log line of the second (fallback) bootstrap's commit. */
  let fallbackCommitted = "";

  /** The server refuses the meter from now on (its next Update 4.00, then Register 4.03). */
  const refuse = (server: LeshanServer) =>
    server.addSecurity({ endpoint: EP, psk: { identity: `${EP}-elsewhere`, key: randomBytes(16).toString("hex") } });

  /** Bootstrap account (with hold-off, and account timeout when given) + one server account. */
  const config = (server: LeshanServer, ssid: number, accountTimeout?: number): BootstrapConfig => ({
    toDelete: ["/0", "/1"],
    security: {
      0: { uri: bs.coapUri, bootstrapServer: true, securityMode: "NO_SEC", clientHoldOffTime: HOLD_OFF, bootstrapServerAccountTimeout: accountTimeout },
      1: { uri: server.coapUri, bootstrapServer: false, securityMode: "NO_SEC", serverId: ssid },
    },
    servers: { 0: { shortId: ssid, lifetime: 20, binding: "U", notifIfDisabled: true } },
    extraRequests: quickFailure,
  });

  beforeAll(async () => {
    [srvA, srvB] = await Promise.all([startLeshanServer({ name: `${RIG}-modes-hold-serverA` }), startLeshanServer({ name: `${RIG}-modes-hold-serverB` })]);
    await bs.setConfig(EP, config(srvA, 101));
    dut = createDut(rig, { logName: `${RIG}-modes-hold-meter` });
    await dut.start();
    await dut.command(`set endpoint ${EP}`);
    await dut.command(`set bs-uri ${bs.coapUri}`);
    await dut.reboot();
  });

  afterAll(async () => {
    await dut?.stop();
    await srvA?.stop();
    await srvB?.stop();
  });

  it("Client Hold Off Time /0/x/11: after the server refuses the meter, the fallback Bootstrap-Request waits for the Client Hold Off Time", async () => {
    // The first bootstrap writes the hold-off into the bootstrap account (Leshan's Security
    // config carries /0/x/11 and /0/x/12 in the write of /0/0).
    await dut.waitForLog(BOOTSTRAPPED);
    const first = await bs.waitForSessionEnd(EP, { index: 0 });
    expect(first).toMatchObject({ state: "finished", authorized: true });
    expect(steps(first)).toEqual(CONFIG_STEPS);
    expect(first.requests[2].node).toMatch(new RegExp(`id=11, value=${HOLD_OFF}\\b`));
    expect(first.requests[2].node).not.toMatch(/id=12, value=/);
    await dut.waitForLog(REGISTERED);
    await srvA.waitForClient(EP);
    expect(await dut.command("show config")).toEqual([
      `endpoint: ${EP}`,
      `/0/0 bootstrap uri=${bs.coapUri} mode=3`,
      `/0/1 ssid=101 uri=${srvA.coapUri} mode=3`,
      `/1/0 ssid=101 lifetime=20 binding=U`,
    ]);

    // The fallback bootstrap will get a server account on srvB and an account timeout.
    await bs.setConfig(EP, config(srvB, 102, ACCOUNT_TIMEOUT));
    const from = dut.mark();
    await refuse(srvA); // the next Update (lifetime 20: within 10 s) is refused, then Register
    const failed = await dut.waitForLog(`registration: registration with ${srvA.coapUri} failed (register 4.03)`, { since: from, timeoutMs: 180_000 });
    expect(linesWith(dut, "registration: update failed (4.00), registering again", from)).toHaveLength(1);
    await dut.waitForLog("app: no server reachable, bootstrapping", { since: from });
    const request = await dut.waitForLog(BS_REQUEST, { since: from, timeoutMs: 180_000 });
    expect(request).toContain(`${BS_REQUEST}${bs.coapUri} (ep=${EP})`);
    // The meter's own clock: no earlier than the hold-off after the failure.
    expect(uptimeMs(request) - uptimeMs(failed)).toBeGreaterThanOrEqual(HOLD_OFF * 1000);

    const fallback = await bs.waitForSessionEnd(EP, { index: 1 });
    expect(fallback).toMatchObject({ state: "finished", authorized: true });
    expect(steps(fallback)).toEqual(CONFIG_STEPS);
    expect(fallback.requests[2].node).toMatch(new RegExp(`id=12, value=${ACCOUNT_TIMEOUT}\\b`));
    fallbackCommitted = await dut.waitForLog(BOOTSTRAPPED, { since: from });
    await dut.waitForLog(REGISTERED, { since: from });
    await srvB.waitForClient(EP);
  });

  it("Bootstrap-Server Account Timeout /0/x/12: the bootstrap account is purged after the account timeout; a failing server then never leads back to bootstrap", async () => {
    expect(fallbackCommitted, "the fallback bootstrap of the previous case").not.toBe("");
    const commitIndex = dut.logs().lastIndexOf(fallbackCommitted);
    expect(await dut.command("show config")).toContain(`/0/0 bootstrap uri=${bs.coapUri} mode=3`);

    const purged = await dut.waitForLog("bootstrap: bootstrap account purged (account timeout /0/0/12)", { since: commitIndex, timeoutMs: 300_000 });
    expect(uptimeMs(purged) - uptimeMs(fallbackCommitted)).toBeGreaterThanOrEqual(ACCOUNT_TIMEOUT * 1000);
    const withoutAccount = [`endpoint: ${EP}`, `/0/1 ssid=102 uri=${srvB.coapUri} mode=3`, `/1/0 ssid=102 lifetime=20 binding=U`];
    expect(await dut.command("show config")).toEqual(withoutAccount);
    expect(await dut.command("status")).toContainEqual(expect.stringMatching(serverLine(102, srvB.coapUri)));
    // The console agrees there is nothing to bootstrap from.
    await expect(dut.command("bootstrap")).rejects.toThrow(/no bootstrap account/);

    // Its server refuses it: registration fails again and again (every /1/x/19), never a bootstrap.
    const sessions = (await bs.sessions(EP)).length;
    const from = dut.mark();
    await refuse(srvB);
    const failure = `registration: registration with ${srvB.coapUri} failed (register 4.03)`;
    await dut.waitForLog(failure, { since: from, timeoutMs: 180_000 });
    for (let n = 2; n <= 3; n++) {
      const seen = dut.mark();
      await dut.waitForLog(failure, { since: seen, timeoutMs: 180_000 }); // the next sequence, /1/x/19 later
    }
    expect(linesWith(dut, BS_REQUEST, from)).toEqual([]);
    expect(linesWith(dut, "bootstrapping", from)).toEqual([]);
    expect(await bs.sessions(EP)).toHaveLength(sessions);

    // The purge is in storage: after a power cycle still no bootstrap account, still no bootstrap.
    const boot = dut.mark();
    await dut.powerCycle();
    expect(await dut.command("show config")).toEqual(withoutAccount);
    await dut.waitForLog(failure, { since: boot, timeoutMs: 180_000 });
    const next = dut.mark();
    await dut.waitForLog(failure, { since: next, timeoutMs: 180_000 });
    expect(linesWith(dut, BS_REQUEST, boot)).toEqual([]);
    expect(linesWith(dut, "bootstrapping", boot)).toEqual([]);
    expect(await bs.sessions(EP)).toHaveLength(sessions);
  });
});
