// Device Management and Information Reporting against the Eclipse Leshan server demo, driven
// through its REST API: Read in every format the meter offers, Write (replace, partial
// update, refused), Execute, Discover, Write-Attributes, Observe/Notify and cancel, Delete and
// Create. Each case checks what Leshan saw (its answers, and every CoAP message to and from the
// meter from the demo's event stream, COAPLOG) and what the meter holds (a second Read, the
// console's `show config` / `status`, its log). Named after the OMA LwM2M 1.1 interoperability
// test cases (OMA-ETS-LightweightM2M_INT, V1_1-20190912) they mirror, where there is one.
// Runs on the rig named by RIG (default host).
//
// Timing: never an upper limit on the rig's clock. Notification periods are checked on the
// meter's own clock (the /3/0/13 values it notifies) and as lower bounds on Leshan's
// timestamps; the waits below are hang guards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceValue, type CoapLogEntry, type LeshanEvents, type ResponseResult } from "../rig/leshan.ts";
import { RegisteredMeter } from "../rig/registered-meter.ts";
import { logDir, stopAll } from "../rig/processes.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const RIG = process.env.RIG ?? "host";
const EP = "meter-dm-0001";
const SSID = 101;
/** Jitter allowed on Leshan's timestamps for a lower bound (JVM and loopback delays). */
const SLACK_MS = 300;

const CF = {
  TLV: "application/vnd.oma.lwm2m+tlv",
  SENML_CBOR: "application/senml+cbor",
  SENML_JSON: "application/senml+json",
  TEXT: "text/plain",
  LINK: "application/link-format",
} as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`device management against Leshan (rig ${RIG})`, () => {
  const meter = new RegisteredMeter({ rig: RIG, ep: EP, name: `${RIG}-dm`, ssid: SSID, lifetime: 60 });
  let ev: LeshanEvents;

  beforeAll(async () => {
    await meter.start();
    ev = await meter.srv.events(EP);
    // The demo starts logging the endpoint's CoAP a moment after the stream opened: read
    // until Leshan's own request shows up in it.
    for (let i = 0; i < 50; i++) {
      const mark = ev.mark();
      await meter.srv.read(EP, "/3/0/0", "TEXT");
      await sleep(100);
      if (coapSince(mark).some((m) => !m.incoming && m.code === "GET")) break;
    }
  });

  afterAll(async () => {
    await ev?.close();
    if (ev) {
      // Leshan's view of the run, for diagnosis: out/rig-logs/<rig>-dm-leshan-events.jsonl
      mkdirSync(logDir, { recursive: true });
      writeFileSync(join(logDir, `${RIG}-dm-leshan-events.jsonl`), ev.all.map((e) => JSON.stringify(e)).join("\n") + "\n");
    }
    await meter.stop();
    await stopAll();
  });

  // ---- helpers over the demo's COAPLOG events ----

  /** CoAP messages Leshan logged from index `since` of the event stream on. */
  function coapSince(since: number): CoapLogEntry[] {
    return ev.all.slice(since).filter((e) => e.type === "COAPLOG").map((e) => e.data as CoapLogEntry);
  }

  /** The last request Leshan sent since `since` and the meter's answer to it (waits for both to be logged). */
  async function exchange(since: number): Promise<{ req: CoapLogEntry; res: CoapLogEntry }> {
    let found: { req: CoapLogEntry; res: CoapLogEntry } | undefined;
    await ev.waitFor("a request and its answer", () => {
      const list = coapSince(since);
      const reqs = list.filter((m) => !m.incoming && m.type === "CON" && /^[A-Z]+$/.test(m.code));
      const req = reqs[reqs.length - 1];
      const res = req && list.find((m) => m.incoming && m.type === "ACK" && m.mId === req.mId);
      if (req && res) found = { req, res };
      return !!found;
    }, { timeoutMs: 30_000 });
    return found!;
  }

  /** Updates (POST to the registration's location) the meter sent since `since`. */
  function updatesSince(since: number): CoapLogEntry[] {
    const loc = `Uri-Path: "rd", "${meter.registration.registrationId}"`;
    return coapSince(since).filter((m) => m.incoming && m.type === "CON" && m.code === "POST" && m.options.startsWith(loc));
  }

  /** The first Update since `since` that satisfies `pred` (default: any). The meter's periodic
   * Update (bare, every ~50 s here) may come in between. */
  async function waitForUpdate(since: number, pred: (u: CoapLogEntry) => boolean = () => true): Promise<CoapLogEntry> {
    await ev.waitFor("an Update from the meter", () => updatesSince(since).some(pred));
    return updatesSince(since).find(pred)!;
  }

  /** Updates that carry something (new lifetime or binding, new object links): not the periodic ones. */
  function changingUpdatesSince(since: number): CoapLogEntry[] {
    return updatesSince(since).filter((u) => u.options.includes("Uri-Query") || !!u.payload);
  }

  /** Notifications (2.05 with the observation's token) from the meter since `since`. */
  function notificationsSince(since: number, token: string): CoapLogEntry[] {
    return coapSince(since).filter((m) => m.incoming && (m.type === "CON" || m.type === "NON") && m.code === "2.05" && m.token === token);
  }

  function expectStatus(r: ResponseResult, status: string): void {
    expect(r.status, JSON.stringify(r)).toBe(status);
  }

  async function showServer(): Promise<string> {
    const lines = await meter.dut.command("show config");
    return lines.find((l) => l.startsWith("/1/0 ")) ?? lines.join("\n");
  }

  // ---- Read ----

  it("LightweightM2M-1.1-int-201 - Querying basic information in Plain Text format", async () => {
    const version = (await meter.dut.command("version")).join(" ");
    const [, fw, board] = version.match(/^meter-fw (\S+) board=(\S+)/) ?? [];
    expect(fw, version).toBeTruthy();
    const expected: Record<number, string> = { 0: "GEISA", 1: `meter-${board}`, 2: EP, 3: fw };
    for (const [rid, value] of Object.entries(expected)) {
      const mark = ev.mark();
      const r = await meter.srv.read(EP, `/3/0/${rid}`, "TEXT");
      expectStatus(r, "CONTENT(205)");
      expect(r.content?.value).toBe(value);
      const { req, res } = await exchange(mark);
      expect(req.options).toContain(`Accept: "${CF.TEXT}"`);
      expect(res.options).toContain(`Content-Format: "${CF.TEXT}"`);
      expect(res.payload).toBe(value);
    }
    // Current Time in text: decimal seconds, the meter's clock.
    const mark = ev.mark();
    const t = await meter.srv.read(EP, "/3/0/13", "TEXT");
    expectStatus(t, "CONTENT(205)");
    const { res } = await exchange(mark);
    expect(res.payload).toMatch(/^\d+$/);
    expect(Date.parse(String(t.content?.value)) / 1000).toBe(Number(res.payload));
    // A whole instance has no plain-text form: 4.06.
    expectStatus(await meter.srv.read(EP, "/3/0", "TEXT"), "NOT_ACCEPTABLE(406)");
  });

  /** Reads /3/0 and /3/0/0 in `format`, checks the wire format and the identity values. */
  async function readDeviceIn(format: "TLV" | "SENML_JSON" | "SENML_CBOR"): Promise<void> {
    let mark = ev.mark();
    const inst = await meter.srv.read(EP, "/3/0", format);
    expectStatus(inst, "CONTENT(205)");
    let { req, res } = await exchange(mark);
    expect(req.options).toBe(`Uri-Path: "3", "0" - Accept: "${CF[format]}"`);
    expect(res.options).toContain(`Content-Format: "${CF[format]}"`);
    expect(resourceValue(inst, 0)).toBe("GEISA");
    expect(resourceValue(inst, 2)).toBe(EP);
    expect(resourceValue(inst, 16)).toBe("U");
    expect(resourceValue(inst, 11)).toEqual({ 0: 0 }); // Error Code: one instance, "no error"
    expect(resourceValue(inst, 10)).toEqual(expect.any(Number)); // Memory Free (KiB)
    expect(Number.isNaN(Date.parse(String(resourceValue(inst, 13))))).toBe(false);
    // Only readable resources: no Reboot (4) or Factory Reset (5).
    const ids = inst.content?.resources?.map((r) => r.id).sort((a, b) => a - b);
    expect(ids).toEqual([0, 1, 2, 3, 10, 11, 13, 16]);
    if (format === "SENML_JSON") {
      const senml = JSON.parse(res.payload) as { bn?: string; n: string }[];
      expect(senml[0].bn).toBe("/3/0/");
      expect(senml.map((r) => r.n)).toEqual(["0", "1", "2", "3", "10", "11/0", "13", "16"]);
    }

    mark = ev.mark();
    const one = await meter.srv.read(EP, "/3/0/0", format);
    expectStatus(one, "CONTENT(205)");
    ({ req, res } = await exchange(mark));
    expect(req.options).toBe(`Uri-Path: "3", "0", "0" - Accept: "${CF[format]}"`);
    expect(res.options).toContain(`Content-Format: "${CF[format]}"`);
    expect(one.content).toMatchObject({ id: 0, value: "GEISA" });

    // The meter's serial number as the console knows it (endpoint line of `status`).
    const status = (await meter.dut.command("status")).join("\n");
    expect(status).toContain(EP);
  }

  it("LightweightM2M-1.1-int-203 - Querying basic information in TLV format (/3/0 and /3/0/0)", async () => {
    await readDeviceIn("TLV");
  });

  it("LightweightM2M-1.1-int-231 - Querying basic information in SenML JSON format (/3/0 and /3/0/0)", async () => {
    await readDeviceIn("SENML_JSON");
  });

  it("LightweightM2M-1.1-int-232 - Querying basic information in SenML CBOR format (/3/0 and /3/0/0)", async () => {
    await readDeviceIn("SENML_CBOR");
  });

  // ---- Write ----

  it("LightweightM2M-1.1-int-227 - Write (replace) on Resource: /1/0/1 lifetime, the meter sends an Update with the new lifetime", async () => {
    const mark = ev.mark();
    const w = await meter.srv.write(EP, "/1/0/1", { id: 1, value: 90 }, { format: "TLV" });
    expectStatus(w, "CHANGED(204)");
    const { req } = await exchange(mark);
    expect(req.code).toBe("PUT");
    expect(req.options).toContain(`Content-Format: "${CF.TLV}"`);
    const update = await waitForUpdate(mark, (u) => u.options.includes("Uri-Query"));
    expect(update.options).toContain(`Uri-Query: "lt=90"`);
    await ev.waitFor("the UPDATED event", (l) => l.some((e) => e.type === "UPDATED" && e.data.registration?.lifetime === 90), { since: mark });
    const reg = await meter.srv.client(EP);
    expect(reg).toMatchObject({ registrationId: meter.registration.registrationId, lifetime: 90 });
    // The meter holds it.
    expect((await meter.srv.read(EP, "/1/0/1", "TEXT")).content?.value).toBe(90);
    expect(await showServer()).toBe(`/1/0 ssid=${SSID} lifetime=90 binding=U`);
  });

  it("LightweightM2M-1.1-int-226 - Write (Partial Update) on Object Instance /1/0: given resources change, the others stay", async () => {
    const before = await meter.srv.read(EP, "/1/0", "TLV");
    expect(resourceValue(before, 6)).toBe(true); // Notification Storing, as bootstrapped
    const mark = ev.mark();
    const w = await meter.srv.write(EP, "/1/0", { id: 0, resources: [{ id: 1, value: 75 }, { id: 6, value: false }] }, { format: "TLV", replace: false });
    expectStatus(w, "CHANGED(204)");
    const { req } = await exchange(mark);
    expect(req.code).toBe("POST"); // a partial update is a POST on the instance
    const update = await waitForUpdate(mark, (u) => u.options.includes("Uri-Query"));
    expect(update.options).toContain(`Uri-Query: "lt=75"`);
    await ev.waitFor("the UPDATED event", (l) => l.some((e) => e.type === "UPDATED" && e.data.registration?.lifetime === 75), { since: mark });
    expect((await meter.srv.client(EP))?.lifetime).toBe(75);

    const after = await meter.srv.read(EP, "/1/0", "TLV");
    expect(resourceValue(after, 1)).toBe(75);
    expect(resourceValue(after, 6)).toBe(false);
    // Everything not in the payload is as before (ssid, binding, /1/0/12 .. /1/0/20).
    const rest = (r: ResponseResult) => r.content?.resources?.filter((x) => x.id !== 1 && x.id !== 6);
    expect(rest(after)).toEqual(rest(before));
    expect(await showServer()).toBe(`/1/0 ssid=${SSID} lifetime=75 binding=U`);
  });

  it("LightweightM2M-1.1-int-215 - Setting basic information in TLV format: Write (replace) on Object Instance /1/0", async () => {
    const mark = ev.mark();
    const w = await meter.srv.write(
      EP,
      "/1/0",
      { id: 0, resources: [{ id: 1, value: 60 }, { id: 6, value: true }, { id: 7, value: "U" }] },
      { format: "TLV", replace: true },
    );
    expectStatus(w, "CHANGED(204)");
    const { req } = await exchange(mark);
    expect(req.code).toBe("PUT");
    const update = await waitForUpdate(mark, (u) => u.options.includes("Uri-Query"));
    expect(update.options).toContain(`Uri-Query: "lt=60"`);
    await ev.waitFor("the UPDATED event", (l) => l.some((e) => e.type === "UPDATED" && e.data.registration?.lifetime === 60), { since: mark });

    const after = await meter.srv.read(EP, "/1/0", "TLV");
    expect(resourceValue(after, 0)).toBe(SSID); // read-only: kept
    expect(resourceValue(after, 1)).toBe(60);
    expect(resourceValue(after, 6)).toBe(true);
    expect(resourceValue(after, 7)).toBe("U");
    // Replace: the writable resources not in the payload are gone (/1/0/16..20 fall back to
    // their defaults inside the meter); the read-only Last Bootstrapped (/1/0/12) stays.
    expect(after.content?.resources?.map((r) => r.id).sort((a, b) => a - b)).toEqual([0, 1, 6, 7, 12]);
    expect(await showServer()).toBe(`/1/0 ssid=${SSID} lifetime=60 binding=U`);
  });

  it("LightweightM2M-1.1-int-256 - Write Operation Failure: writing a read-only resource is refused with 4.05", async () => {
    const mark = ev.mark();
    expectStatus(await meter.srv.write(EP, "/1/0/0", { id: 0, value: 123 }, { format: "TLV" }), "METHOD_NOT_ALLOWED(405)");
    expectStatus(await meter.srv.write(EP, "/3/0/0", { id: 0, value: "ACME" }, { format: "TLV" }), "METHOD_NOT_ALLOWED(405)");
    expect(coapSince(mark).filter((m) => m.incoming && m.code === "4.05")).toHaveLength(2);
    expect((await meter.srv.read(EP, "/1/0/0", "TEXT")).content?.value).toBe(SSID);
    expect((await meter.srv.read(EP, "/3/0/0", "TEXT")).content?.value).toBe("GEISA");
    expect(await showServer()).toBe(`/1/0 ssid=${SSID} lifetime=60 binding=U`);
  });

  it("a Write whose payload the meter cannot decode (empty text/plain for /1/0/7) is refused with 4.00, the value unchanged", async () => {
    const mark = ev.mark();
    expectStatus(await meter.srv.writeText(EP, "/1/0/7", "", { format: "TEXT" }), "BAD_REQUEST(400)");
    const { req, res } = await exchange(mark);
    expect(req.code).toBe("PUT");
    expect(req.options).toBe(`Uri-Path: "1", "0", "7" - Content-Format: "${CF.TEXT}"`);
    expect(req.payload ?? "").toBe("");
    expect(res.code).toBe("4.00");
    expect((await meter.srv.read(EP, "/1/0/7", "TEXT")).content?.value).toBe("U");
    expect(changingUpdatesSince(mark)).toEqual([]); // nothing changed, nothing to tell Leshan
  });

  it("LightweightM2M-1.1-int-221 - Attempt to perform operations on Security: Write /0/0/0 and Write-Attributes /0 are refused with 4.01", async () => {
    // (Read /0 is covered in bootstrap-registration.test.ts.)
    const mark = ev.mark();
    expectStatus(await meter.srv.write(EP, "/0/0/0", { id: 0, value: "coap://127.0.0.1:9" }, { format: "TLV" }), "UNAUTHORIZED(401)");
    expectStatus(await meter.srv.writeAttributes(EP, "/0", { pmin: 10 }), "UNAUTHORIZED(401)");
    expectStatus(await meter.srv.discover(EP, "/0"), "UNAUTHORIZED(401)");
    expect(coapSince(mark).filter((m) => m.incoming && m.code === "4.01")).toHaveLength(3);
    // The meter's accounts are as bootstrapped.
    const config = await meter.dut.command("show config");
    expect(config).toContain(`/0/1 ssid=${SSID} uri=${meter.srv.coapUri} mode=3`);
  });

  // ---- Execute ----

  it("LightweightM2M-1.1-int-104 - Registration Update Trigger: Execute /1/0/8, Leshan gets an Update of the same registration", async () => {
    const mark = ev.mark();
    const from = meter.dut.mark();
    const x = await meter.srv.execute(EP, "/1/0/8");
    expectStatus(x, "CHANGED(204)");
    const { req } = await exchange(mark);
    expect(req).toMatchObject({ code: "POST", options: `Uri-Path: "1", "0", "8"` });
    const update = await waitForUpdate(mark);
    expect(update.options).not.toContain("Uri-Query"); // nothing changed: a bare Update
    await ev.waitFor("the UPDATED event", (l) => l.some((e) => e.type === "UPDATED"), { since: mark });
    expect((await meter.srv.client(EP))?.registrationId).toBe(meter.registration.registrationId);
    await meter.dut.waitForLog(`registration: update ok (${meter.srv.coapUri})`, { since: from });
    expect((await meter.dut.command("status")).join("\n")).toContain(`server ${SSID}: registered ${meter.srv.coapUri} /rd/${meter.registration.registrationId}`);
  });

  it("Execute on a resource that is not executable (/3/0/0) is refused with 4.05", async () => {
    expectStatus(await meter.srv.execute(EP, "/3/0/0"), "METHOD_NOT_ALLOWED(405)");
  });

  // ---- Discover and Write-Attributes ----

  it("LightweightM2M-1.1-int-260 - Discover Command on /3/0 and /1/0, with the attributes set by Write-Attributes", async () => {
    const urls = (r: { objectLinks?: { url: string }[] }) => (r.objectLinks ?? []).map((l) => l.url);
    const d3 = await meter.srv.discover(EP, "/3/0");
    expectStatus(d3, "CONTENT(205)");
    expect(urls(d3)).toEqual(["/3/0", ...[0, 1, 2, 3, 4, 5, 10, 11, 13, 16].map((r) => `/3/0/${r}`)]);
    expect(d3.objectLinks?.find((l) => l.url === "/3/0/11")?.attributes).toEqual({ dim: "1" });
    const d1 = await meter.srv.discover(EP, "/1/0");
    expectStatus(d1, "CONTENT(205)");
    // after the replace above: ssid, lifetime, notification storing, binding, the executables, last bootstrapped
    expect(urls(d1)).toEqual(["/1/0", ...[0, 1, 6, 7, 8, 9, 12].map((r) => `/1/0/${r}`)]);

    let mark = ev.mark();
    expectStatus(await meter.srv.writeAttributes(EP, "/3/0/13", { pmin: 5, pmax: 50 }), "CHANGED(204)");
    expect((await exchange(mark)).req.options).toBe(`Uri-Path: "3", "0", "13" - Uri-Query: "pmin=5", "pmax=50"`);
    expectStatus(await meter.srv.writeAttributes(EP, "/1/0", { pmax: 120 }), "CHANGED(204)");

    mark = ev.mark();
    const a3 = await meter.srv.discover(EP, "/3/0");
    expect((await exchange(mark)).req.options).toBe(`Uri-Path: "3", "0" - Accept: "${CF.LINK}"`);
    expect(a3.objectLinks?.find((l) => l.url === "/3/0/13")?.attributes).toEqual({ pmin: "5", pmax: "50" });
    expect(a3.objectLinks?.find((l) => l.url === "/3/0")?.attributes).toEqual({});
    const a1 = await meter.srv.discover(EP, "/1/0");
    expect(a1.objectLinks?.find((l) => l.url === "/1/0")?.attributes).toEqual({ pmax: "120" });
    expect(a1.objectLinks?.find((l) => l.url === "/1/0/1")?.attributes).toEqual({});

    // An attribute left out keeps its value; pmax below pmin is refused (4.00) and changes nothing.
    expectStatus(await meter.srv.writeAttributes(EP, "/3/0/13", { pmax: 40 }), "CHANGED(204)");
    expectStatus(await meter.srv.writeAttributes(EP, "/3/0/13", { pmax: 2 }), "BAD_REQUEST(400)");
    const b3 = await meter.srv.discover(EP, "/3/0/13");
    expect(b3.objectLinks).toEqual([{ url: "/3/0/13", attributes: { pmin: "5", pmax: "40" } }]);
  });

  // ---- Observe / Notify ----

  it("LightweightM2M-1.1-int-301 - Observation and Notification of parameter values: /3/0/13 with pmin=1 pmax=3 is notified every pmax", async () => {
    const PMIN = 1;
    const PMAX = 3;
    expectStatus(await meter.srv.writeAttributes(EP, "/3/0/13", { pmin: PMIN, pmax: PMAX }), "CHANGED(204)");
    const mark = ev.mark();
    const o = await meter.srv.observe(EP, "/3/0/13", { format: "TEXT" });
    expectStatus(o, "CONTENT(205)");
    const { req, res } = await exchange(mark);
    expect(req.options).toContain("Observe: 0");
    expect(res.options).toContain("Observe:");
    const token = req.token;

    const COUNT = 4;
    await ev.waitFor(`${COUNT} notifications of /3/0/13`, () => notificationsSince(mark, token).length >= COUNT);
    const notes = [res, ...notificationsSince(mark, token).slice(0, COUNT)];
    // Leshan handed each one to the application (NOTIFICATION events).
    await ev.waitFor("NOTIFICATION events", (l) => l.filter((e) => e.type === "NOTIFICATION" && e.data.res === "/3/0/13").length >= COUNT, { since: mark });

    // The meter's own clock: each value is its Current Time when it notified. Nothing changes
    // /3/0/13 on its own, so each notification waits for pmax: at least pmax apart, and at most
    // pmax + 1 (whole seconds) + 1 s of scheduling slack.
    const times = notes.map((n) => Number(n.payload));
    for (const t of times) expect(t).toBeGreaterThan(1_500_000_000);
    const meterGaps = times.slice(1).map((t, i) => t - times[i]);
    console.log(`/3/0/13 notifications: meter gaps ${meterGaps.join(", ")} s; Leshan gaps ${notes.slice(1).map((n, i) => n.timestamp - notes[i].timestamp).join(", ")} ms`);
    for (const g of meterGaps) {
      expect(g).toBeGreaterThanOrEqual(PMAX);
      expect(g).toBeLessThanOrEqual(PMAX + 2);
    }
    // Leshan's clock: never sooner than pmax after the previous one (minus delivery jitter).
    for (let i = 1; i < notes.length; i++) expect(notes[i].timestamp - notes[i - 1].timestamp).toBeGreaterThanOrEqual(PMAX * 1000 - SLACK_MS);
    // The Observe sequence numbers grow.
    const seq = notes.map((n) => Number(n.options.match(/Observe: (\d+)/)?.[1]));
    for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThan(seq[i - 1]);
  });

  it("LightweightM2M-1.1-int-302 - Cancel Observations using Reset Operation: after Leshan forgets /3/0/13 it resets the next notification, and no more come", async () => {
    const tokenOf = (): string => {
      const obs = coapSince(0).filter((m) => !m.incoming && m.code === "GET" && m.options.startsWith(`Uri-Path: "3", "0", "13"`) && m.options.includes("Observe: 0"));
      return obs[obs.length - 1].token;
    };
    const token = tokenOf();
    const mark = ev.mark();
    await meter.srv.cancelObserve(EP, "/3/0/13"); // passive cancel: Leshan forgets the observation
    // The next notification gets a Reset from Leshan ...
    await ev.waitFor("a notification after the cancel", () => notificationsSince(mark, token).length >= 1);
    const last = notificationsSince(mark, token)[0];
    await ev.waitFor("Leshan's Reset", () => coapSince(mark).some((m) => !m.incoming && m.type === "RST" && m.mId === last.mId));
    // ... and the meter stops: nothing more for several pmax periods (3 s each). A lower bound
    // on the wait only: a longer wait can only find more.
    const after = ev.mark();
    await sleep(3 * 3000 + 1000);
    expect(notificationsSince(after, token)).toEqual([]);
    expect(ev.all.slice(after).filter((e) => e.type === "NOTIFICATION")).toEqual([]);
  });

  it("Write-Attributes pmin on /1/0/6: changes within pmin give one notification, with the last value, no sooner than pmin", async () => {
    const PMIN = 3;
    expectStatus(await meter.srv.writeAttributes(EP, "/1/0/6", { pmin: PMIN }), "CHANGED(204)");
    const mark = ev.mark();
    const o = await meter.srv.observe(EP, "/1/0/6", { format: "TEXT" });
    expectStatus(o, "CONTENT(205)");
    expect(o.content?.value).toBe(true);
    const { req, res } = await exchange(mark);
    const token = req.token;
    // Three changes at once: the meter may notify once pmin has passed since the last report.
    for (const v of [false, true, false]) expectStatus(await meter.srv.write(EP, "/1/0/6", { id: 6, value: v }, { format: "TLV" }), "CHANGED(204)");
    await ev.waitFor("the notification of /1/0/6", () => notificationsSince(mark, token).length >= 1);
    const first = notificationsSince(mark, token)[0];
    expect(first.payload).toBe("0"); // the last value written (false)
    expect(first.timestamp - res.timestamp).toBeGreaterThanOrEqual(PMIN * 1000 - SLACK_MS);
    // No pmax: nothing more without a change (waited longer than pmin; a lower bound only).
    await sleep(PMIN * 1000 + 2000);
    expect(notificationsSince(mark, token)).toHaveLength(1);
    // A change long after pmin is notified again, with the new value.
    expectStatus(await meter.srv.write(EP, "/1/0/6", { id: 6, value: true }, { format: "TLV" }), "CHANGED(204)");
    await ev.waitFor("the second notification of /1/0/6", () => notificationsSince(mark, token).length >= 2);
    const second = notificationsSince(mark, token)[1];
    expect(second.payload).toBe("1");
    expect(second.timestamp - first.timestamp).toBeGreaterThanOrEqual(PMIN * 1000 - SLACK_MS);
    await meter.srv.cancelObserve(EP, "/1/0/6");
  });

  // ---- Delete and Create ----

  it("Delete /3/0 and /1/0 is refused with 4.05; the instances stay", async () => {
    const mark = ev.mark();
    expectStatus(await meter.srv.delete(EP, "/3/0"), "METHOD_NOT_ALLOWED(405)");
    expectStatus(await meter.srv.delete(EP, "/1/0"), "METHOD_NOT_ALLOWED(405)");
    expect(coapSince(mark).filter((m) => !m.incoming && m.code === "DELETE")).toHaveLength(2);
    expectStatus(await meter.srv.read(EP, "/3/0", "TLV"), "CONTENT(205)");
    expect((await meter.srv.read(EP, "/1/0/0", "TEXT")).content?.value).toBe(SSID);
    expect(changingUpdatesSince(mark)).toEqual([]);
    expect(await showServer()).toBe(`/1/0 ssid=${SSID} lifetime=60 binding=U`);
  });

  it("Create: a second Device instance (/3 is single-instance) and an instance id in use are refused with 4.00", async () => {
    expectStatus(await meter.srv.create(EP, "/3", { id: 1, resources: [{ id: 13, value: 0 }] }, { format: "TLV" }), "BAD_REQUEST(400)");
    expectStatus(await meter.srv.create(EP, "/1", { id: 0, resources: [{ id: 1, value: 300 }] }, { format: "TLV" }), "BAD_REQUEST(400)");
    const d = await meter.srv.discover(EP, "/3");
    expect((d.objectLinks ?? []).map((l) => l.url).filter((u) => /^\/3\/\d+$/.test(u))).toEqual(["/3/0"]);
  });

  // Create on /1 (the only multi-instance object here besides /2, which is not tested in this
  // file). LwM2M 1.1 Core, Create response codes: "4.00 Bad Request: Target (i.e., Object) already
  // exists / Mandatory Resources are not specified"; and Create works on the instance as a whole:
  // a mandatory Read-only resource (the Short Server ID /1/x/0) is set from the payload (the
  // resource's operations apply to Read, Write and Execute, not to Create).

  it("Create on /1 without the mandatory SSID is refused with 4.00 and creates nothing", async () => {
    const mark = ev.mark();
    const c = await meter.srv.create(EP, "/1", { id: 2, resources: [{ id: 1, value: 300 }, { id: 6, value: false }, { id: 7, value: "U" }] }, { format: "TLV" });
    const after = await meter.srv.read(EP, "/1/2", "TLV");
    const links = changingUpdatesSince(mark).map((u) => u.payload);
    expect({ create: c.status, readAfter: after.status }, `Updates since: ${JSON.stringify(links)}`).toEqual({ create: "BAD_REQUEST(400)", readAfter: "NOT_FOUND(404)" });
  });

  // ---- Reboot ----

  it("LightweightM2M-1.1-int-241 - Executable Resource: Rebooting the device (Execute /3/0/4), the meter registers again", async () => {
    const mark = ev.mark();
    const from = meter.dut.mark();
    const x = await meter.srv.execute(EP, "/3/0/4");
    expectStatus(x, "CHANGED(204)"); // answered before the meter resets
    await meter.dut.waitForLog(/meter-fw \S+ board=\S+ ready/, { since: from });
    const line = await meter.dut.waitForLog(meter.registered, { since: from });
    // No new bootstrap: the configuration is in storage.
    expect(meter.dut.logs().slice(from).filter((l) => l.includes("bootstrap: finished"))).toEqual([]);
    const again = await meter.srv.waitForClient(EP, { notRegistrationId: meter.registration.registrationId });
    expect(line).toContain(`as /rd/${again.registrationId}`);
    // Leshan's REGISTRATION event for the new registration (the Register itself comes from a
    // new source port, which the demo's per-endpoint COAPLOG does not follow before it knows it).
    await ev.waitFor("the REGISTRATION event", (l) => l.some((e) => e.type === "REGISTRATION" && e.data.registrationId === again.registrationId), { since: mark });
    const reg = ev.all.slice(mark).find((e) => e.type === "REGISTRATION")!.data;
    expect(reg).toMatchObject({ endpoint: EP, lwM2mVersion: "1.1", bindingMode: "U" });
    meter.registration = again;
    // A Read works on the new registration.
    expect((await meter.srv.read(EP, "/3/0/0", "TEXT")).content?.value).toBe("GEISA");
    expect((await meter.dut.command("status")).join("\n")).toContain(`server ${SSID}: registered ${meter.srv.coapUri} /rd/${again.registrationId}`);
    console.log(`after the reboot: lifetime ${again.lifetime}, objects ${again.objectLinks.map((l) => l.url).join(" ")}`);
  });

  // ---- Create last: a second server brings Access Control into play ----

  it("Create /1/1 (Server) with its mandatory resources (SSID, lifetime, notification storing, binding): 2.01, announced in an Update, values held", async () => {
    const mark = ev.mark();
    const resources = [{ id: 0, value: 102 }, { id: 1, value: 300 }, { id: 6, value: false }, { id: 7, value: "U" }];
    const c = await meter.srv.create(EP, "/1", { id: 1, resources }, { format: "TLV" });
    // a Create may carry read-only resources such as the SSID /1/x/0
    expect(c.status).toBe("CREATED(201)");
    // (after the reboot above Leshan's per-endpoint CoAP log no longer follows the meter's new
    // port, so the Update is checked through Leshan's UPDATED event)
    await ev.waitFor("the UPDATED event with /1/1", (l) => l.some((e) => e.type === "UPDATED" && e.data.registration?.objectLinks?.some((x: { url: string }) => x.url === "/1/1")), { since: mark });
    const r = await meter.srv.read(EP, "/1/1", "TLV");
    expectStatus(r, "CONTENT(205)");
    expect(resourceValue(r, 0)).toBe(102);
    expect(resourceValue(r, 1)).toBe(300);
    expect((await meter.dut.command("show config")).join("\n")).toContain("/1/1 ssid=102 lifetime=300 binding=U");
    expect((await meter.srv.client(EP))?.lifetime).toBe(60); // the registration is still the one of /1/0
  });

  it("after that Create the meter has two servers, so Access Control applies: /1/1 has an ACL instance owned by its creator; /3/0 has none, so Execute /3/0/4 is 4.01", async () => {
    const r = await meter.srv.read(EP, "/2", "TLV");
    expectStatus(r, "CONTENT(205)");
    expect(JSON.stringify(r.content)).toMatch(/"id":0,"value":1\b/); // object id 1
    expect(JSON.stringify(r.content)).toMatch(/"id":3,"value":101\b/); // owner: the creator
    const x = await meter.srv.execute(EP, "/3/0/4");
    expectStatus(x, "UNAUTHORIZED(401)");
    // the created instance and its ACL instance are stored: after a power cycle both are there
    const from = meter.dut.mark();
    await meter.dut.powerCycle();
    await meter.dut.waitForLog(meter.registered, { since: from });
    expect((await meter.dut.command("show config")).join("\n")).toContain("/1/1 ssid=102 lifetime=300 binding=U");
    expectStatus(await meter.srv.read(EP, "/2", "TLV"), "CONTENT(205)");
  });

});
