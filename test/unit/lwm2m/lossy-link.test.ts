// Bootstrap and registration over a link that drops, duplicates, delays and reorders
// datagrams (test/sim/network.ts, seeded), on the virtual clock.
import { describe, it, expect } from "vitest";
import { SimHal } from "../../sim/hal";
import { boot, expectOk, securityInstance, serverInstance, BS_PORT, DM_PORT, PUT, POST, DELETE, GET } from "./helpers";
import { CF_TLV, CF_LINK } from "../../../firmware/formats/content-format";

const LOSSY = { drop: 0.25, duplicate: 0.2, minDelay: 20, maxDelay: 400, reorder: 0.25, reorderDelay: 1500 };

function lossyMeter(seed: number) {
  const sim = new SimHal(seed);
  const bs = sim.addServer("127.0.0.1", BS_PORT);
  const dm = sim.addServer("127.0.0.1", DM_PORT);
  boot(sim);
  expectOk(sim.command("set endpoint meter-" + seed));
  expectOk(sim.command("set bs-uri " + bs.uri));
  sim.reboot();
  sim.conditions = LOSSY;
  const app = boot(sim);
  return { sim, bs, dm, app };
}

/** A server request that is retried (as Leshan does on a timeout) until an answer arrives. */
function callUntilAnswered(m: ReturnType<typeof lossyMeter>, code: number, path: string, opts: Parameters<typeof m.bs.send>[2] = {}) {
  for (let i = 0; i < 5; i++) {
    const r = m.bs.send(code, path, opts);
    m.sim.runWhile(() => !r.done, 300_000);
    if (r.res) return r.res;
  }
  throw new Error("no answer to " + path);
}

describe("bootstrap and registration over a lossy link", () => {
  for (const seed of [3, 11, 29, 47, 71]) {
    it(`seed ${seed}: the whole bootstrap commits once and the meter registers`, () => {
      const m = lossyMeter(seed);
      m.sim.runWhile(() => m.bs.received.length === 0, 600_000);
      expect(m.bs.received[0].path).toBe("/bs");
      // Give the Bootstrap-Request time to be answered (the meter retransmits it if needed).
      m.sim.run(100_000);
      expect(callUntilAnswered(m, DELETE, "/").code).toBe(0x42);
      expect(callUntilAnswered(m, PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) }).code).toBe(0x44);
      expect(callUntilAnswered(m, PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101, 300) }).code).toBe(0x44);
      const disc = callUntilAnswered(m, GET, "/", { accept: CF_LINK });
      expect(new TextDecoder().decode(disc.payload!)).toContain("</1/0>;ssid=101");
      expect(callUntilAnswered(m, POST, "/bs").code).toBe(0x44);
      m.sim.waitLog("registration: registered with " + m.dm.uri);
      // Duplicated or retransmitted requests were answered from the dedup cache: one commit,
      // one Register (duplicates of the client's own requests are the server's to drop).
      expect(m.sim.logs.filter((l) => l.includes("bootstrap: finished, configuration committed")).length).toBe(1);
      expect(m.app.reg.obj(1)!.insts.map((i) => i.id)).toEqual([0]);
      const registers = m.dm.received.filter((r) => r.path === "/rd" && r.code === POST);
      expect(registers.length).toBeGreaterThanOrEqual(1);
      // Updates keep flowing over the same lossy link.
      m.sim.run(600_000);
      expect(m.sim.logs.some((l) => l.includes("registration: update ok"))).toBe(true);
      // The link really was lossy: datagrams were dropped and duplicated on the way.
      const records = m.sim.links.flatMap((l) => l.link.records);
      if (process.env.SIM_DEBUG_LOSS) console.log(seed, records.length, records.filter((r) => r.copies === 0).length, records.filter((r) => r.copies === 2).length);
      expect(records.some((r) => r.copies === 0)).toBe(true);
      expect(records.some((r) => r.copies === 2)).toBe(true);
    });
  }

  it("the meter's Bootstrap-Request is retransmitted with RFC 7252 timing: 2..3 s, doubling, 4 retransmissions", () => {
    const m = lossyMeter(5);
    m.sim.conditions = { up: false };
    m.sim.runWhile(() => m.sim.links.length === 0, 600_000);
    const link = m.sim.links[0].link;
    link.setConditions({ up: false });
    m.sim.run(200_000);
    const times = link.records.filter((r) => r.from === "a").map((r) => r.time);
    expect(times.length).toBe(5);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(2000);
    expect(gaps[0]).toBeLessThanOrEqual(3000);
    for (let i = 1; i < 4; i++) expect(Math.abs(gaps[i] - 2 * gaps[i - 1])).toBeLessThanOrEqual(2);
    expect(m.sim.logs.some((l) => l.includes("bootstrap: Bootstrap-Request"))).toBe(true);
  });
});
