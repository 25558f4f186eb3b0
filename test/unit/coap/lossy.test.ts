// Property-style test over a bad link: every request completes exactly once (with the matching
// response) or fails with "timeout", and no request reaches the server handler twice.
// Replay a failure with SIM_SEED=<seed> npx vitest run test/unit/coap/lossy.test.ts
import { describe, expect, it } from "vitest";
import { Scheduler } from "../../../firmware/lib/scheduler";
import { CoapEndpoint } from "../../../firmware/coap/endpoint";
import { CHANGED, CON, NON, POST } from "../../../firmware/coap/message";
import { VirtualClock, runUntilIdle } from "../../sim/clock";
import { SimLink, pickSeed, seededRandom } from "../../sim/network";
import { bytes, text, untext } from "./helpers";

function run(seed: number, count: number) {
  const rnd = seededRandom(seed);
  const clock = new VirtualClock();
  const sched = new Scheduler(clock);
  const link = new SimLink(sched, rnd, { drop: 0.2, duplicate: 0.1, minDelay: 5, maxDelay: 300, reorder: 0.1, reorderDelay: 1500 });
  const client = new CoapEndpoint(link.a, sched, rnd);
  const server = new CoapEndpoint(link.b, sched, rnd, { blockSzx: 4 });
  link.a.onReceive = (d) => client.receive(d);
  link.b.onReceive = (d) => server.receive(d);

  const delivered = new Map<string, number>();
  server.onRequest = (ex) => {
    const body = untext(ex.request.payload);
    delivered.set(body, (delivered.get(body) ?? 0) + 1);
    const reply = text("re:" + body);
    const r = rnd();
    if (r < 0.6) ex.respond(CHANGED, [], reply);
    else sched.after(Math.floor(r * 4000), () => ex.respond(CHANGED, [], reply));
  };

  const outcomes = new Map<string, string[]>();
  for (let i = 0; i < count; i++) {
    const name = "req" + i;
    const type = i % 5 === 4 ? NON : CON;
    outcomes.set(name, []);
    client.request(type, POST, [], text(name), (res, err) => {
      outcomes.get(name)!.push(err ? err : untext(res!.payload));
    });
  }
  // A CON notification the client does not know: RST handling under the same loss.
  server.notify(new Uint8Array([1]), [], bytes(700), true, () => {});
  runUntilIdle(clock, sched);
  return { outcomes, delivered, client, server, link };
}

describe("lossy link", () => {
  const seed = pickSeed();
  it(`each request completes exactly once or times out (seed ${seed})`, () => {
    console.log("lossy link seed:", seed);
    for (let round = 0; round < 5; round++) {
      const s = (seed + round * 7919) >>> 0;
      const { outcomes, delivered, client, link } = run(s, 60);
      let ok = 0;
      for (const [name, results] of outcomes) {
        expect(results, `seed ${s} ${name}`).toHaveLength(1);
        const r = results[0];
        if (r === "timeout") continue;
        expect(r, `seed ${s} ${name}`).toBe("re:" + name);
        ok++;
      }
      for (const [name, n] of delivered) expect(n, `seed ${s} ${name} delivered`).toBe(1);
      // With 5 transmissions per CON the vast majority must get through.
      expect(ok, `seed ${s}`).toBeGreaterThan(60 * 0.7);
    }
  });
});
