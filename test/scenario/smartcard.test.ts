// Bootstrap from Smartcard on the host board against Eclipse Leshan: a card image built with
// `npm run card-image` from a profile whose management server is the test's Leshan server
// (coaps://, PSK), given to the meter with --card. The meter has only its endpoint name: no
// bootstrap account, no bootstrap server anywhere. It reads the card at start-up, commits the
// card's accounts (keys into the secure store) and registers with Leshan; deleting the card
// image, or `card remove` at the host board's console, takes the card out: the meter deletes
// exactly the card's data, de-registers and restarts. The host board's emulated UICC looks at
// the file once a second (boards/host/host_card.h).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDut, loadRig, type Dut } from "../rig/dut.ts";
import { startLeshanServer, type LeshanServer, type Registration } from "../rig/leshan.ts";
import { repoRoot, stopAll } from "../rig/processes.ts";
import { BUDGETS } from "../../build/budgets.ts";

const EP = `meter-card-${randomBytes(3).toString("hex")}`;
const SSID = 101;
const IDENTITY = `card-${randomBytes(4).toString("hex")}`;
const KEY = randomBytes(16).toString("hex");
const APPLIED = "card: applied 2 instance(s)";
const REMOVED = "card: removed, its data deleted";

async function heap(dut: Dut, when: string): Promise<number> {
  const status = (await dut.command("status")).join("\n");
  const m = status.match(/heap: used=(\d+) peak=(\d+) pool=(\d+)/);
  expect(m, status).not.toBeNull();
  console.log(`heap ${when}: used ${m![1]}, peak ${m![2]}, pool ${m![3]}`);
  return Number(m![2]);
}

describe("Bootstrap from Smartcard (host board, emulated UICC) against Leshan", () => {
  const work = mkdtempSync(join(tmpdir(), "smartcard-"));
  const profilePath = join(work, "profile.json");
  const cardPath = join(work, "meter.card");
  let srv: LeshanServer;
  let dut: Dut;
  let registration: Registration;

  /** The card image, built by the project's own tool. */
  function buildCard(): string {
    const r = spawnSync("npm", ["run", "--silent", "card-image", "--", profilePath, cardPath], { cwd: repoRoot, encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(KEY);
    return r.stdout;
  }

  beforeAll(async () => {
    srv = await startLeshanServer({ name: "smartcard-server" });
    await srv.addSecurity({ endpoint: EP, psk: { identity: IDENTITY, key: KEY } });
    const profile = {
      security: [{ instanceId: 1, uri: srv.coapsUri, bootstrap: false, mode: "psk", ssid: SSID, identity: IDENTITY, secretKeyHex: KEY }],
      server: [{ instanceId: 0, ssid: SSID, lifetime: 30 }],
    };
    writeFileSync(profilePath, JSON.stringify(profile), { mode: 0o600 });
    dut = createDut(loadRig("host"), { workDir: work, logName: "smartcard-meter", extraArgs: ["--card", cardPath] });
    // Out of band: the endpoint name only. No card yet.
    await dut.start();
    await dut.command(`set endpoint ${EP}`);
    await dut.stop();
  });

  afterAll(async () => {
    await dut?.stop();
    await srv?.stop();
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  });

  it("reads the card at start-up and registers with the card's server; no bootstrap server involved", async () => {
    expect(buildCard()).toMatch(/EF LwM2M_Bootstrap \d+ bytes, 1 security and 1 server instance/);
    await dut.start();
    await dut.waitForLog(APPLIED);
    const line = await dut.waitForLog(/registration: registered with (\S+) as (\/rd\/\S+)/);
    expect(line).toContain(srv.coapsUri);
    registration = await srv.waitForClient(EP);
    expect(registration.endpoint).toBe(EP);
    const status = await dut.command("status");
    expect(status[0]).toBe("bootstrap: idle");
    expect(status).toContain(`server ${SSID}: registered ${srv.coapsUri} /rd/${registration.registrationId}`);
    expect(dut.logs().filter((l) => /Bootstrap-Request|bootstrapping/.test(l))).toEqual([]);
  });

  it("the meter's configuration holds the card's server, its key only in the secure store", async () => {
    expect(await dut.command("show config")).toEqual([`endpoint: ${EP}`, `/0/1 ssid=${SSID} uri=${srv.coapsUri} mode=0`, `/1/0 ssid=${SSID} lifetime=30 binding=U`]);
    const creds = (await dut.command("show credentials")).join("\n");
    expect(creds).toContain(IDENTITY);
    expect(dut.logs().join("\n")).not.toContain(KEY);
  });

  it(`the JS heap peak on the smartcard path stays within ${BUDGETS.heapPeakBytes} bytes, also through an Update (a card check)`, async () => {
    expect(await heap(dut, "after card bootstrap and registration")).toBeLessThanOrEqual(BUDGETS.heapPeakBytes);
    await dut.waitForLog("registration: update ok", { since: dut.mark() });
    expect(await heap(dut, "after an Update")).toBeLessThanOrEqual(BUDGETS.heapPeakBytes);
  });

  it("stored: after a power cycle the same card changes nothing and the meter registers from storage", async () => {
    const from = dut.mark();
    await dut.powerCycle();
    await dut.waitForLog(/registration: registered with/, { since: from });
    await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(dut.logs().slice(from).filter((l) => l.includes("card:"))).toEqual([]);
  });

  it("removing the card deletes the card's data and the meter de-registers", async () => {
    const from = dut.mark();
    rmSync(cardPath);
    await dut.waitForLog(REMOVED, { since: from });
    await dut.waitForLog(`registration: deregistered from ${srv.coapsUri}`, { since: from });
    await dut.waitForLog("host: reset (card)", { since: from });
    await srv.waitForNoClient(EP);
    // The meter starts again without the card's accounts: nothing left to register with.
    await dut.waitForLog("app: not provisioned", { since: from });
    expect(await dut.command("show config")).toEqual([`endpoint: ${EP}`]);
    expect(await dut.command("status")).toContain("servers: none");
    expect(await heap(dut, "after the card was removed")).toBeLessThanOrEqual(BUDGETS.heapPeakBytes);
    // ... and after a power cycle
    const again = dut.mark();
    await dut.powerCycle();
    await dut.waitForLog("app: not provisioned", { since: again });
    expect(await dut.command("show config")).toEqual([`endpoint: ${EP}`]);
    expect(existsSync(cardPath)).toBe(false);
  });

  it("a card inserted while the meter runs is applied at once (then the meter restarts and registers)", async () => {
    const from = dut.mark();
    buildCard();
    await dut.waitForLog(APPLIED, { since: from });
    await dut.waitForLog("host: reset (card)", { since: from });
    await dut.waitForLog(/registration: registered with/, { since: from });
    await srv.waitForClient(EP);
    expect(await heap(dut, "after a card inserted at run time")).toBeLessThanOrEqual(BUDGETS.heapPeakBytes);
  });

  it("the host board's console takes the card out and puts it back (card remove, card insert)", async () => {
    let from = dut.mark();
    expect(await dut.command("card status")).toEqual([`card: inserted (${cardPath})`]);
    expect(await dut.command("card remove")).toEqual([]);
    await dut.waitForLog(REMOVED, { since: from });
    await dut.waitForLog("host: reset (card)", { since: from });
    await dut.waitForLog("app: not provisioned", { since: from });
    await srv.waitForNoClient(EP);
    // the file is still there, the card stays out (also across the reset)
    expect(existsSync(cardPath)).toBe(true);
    expect(await dut.command("card status")).toEqual([`card: absent (${cardPath})`]);
    expect(await dut.command("show config")).toEqual([`endpoint: ${EP}`]);
    await expect(dut.command("card insert /nonexistent/meter.card")).rejects.toThrow(/no valid card image at \/nonexistent\/meter.card/);
    from = dut.mark();
    expect(await dut.command(`card insert ${cardPath}`)).toEqual([]);
    await dut.waitForLog(APPLIED, { since: from });
    await dut.waitForLog(/registration: registered with/, { since: from });
    await srv.waitForClient(EP);
    await expect(dut.command("card shuffle")).rejects.toThrow(/want card insert/);
  });
});
