import { describe, expect, it } from "vitest";
import { Scheduler } from "../../../firmware/lib/scheduler";
import { VirtualClock, runUntil, runUntilIdle } from "../../sim/clock";
import { SimLink, seededRandom } from "../../sim/network";

describe("virtual clock", () => {
  it("runs timers of several schedulers in deadline order", () => {
    const clock = new VirtualClock(1000);
    const s1 = new Scheduler(clock);
    const s2 = new Scheduler(clock);
    const log: string[] = [];
    s1.after(300, () => log.push("s1@" + clock.now()));
    s2.after(100, () => {
      log.push("s2@" + clock.now());
      s1.after(50, () => log.push("chained@" + clock.now()));
    });
    runUntil(clock, [s1, s2], 1200);
    expect(log).toEqual(["s2@1100", "chained@1150"]);
    expect(clock.now()).toBe(1200);
    runUntilIdle(clock, [s1, s2]);
    expect(log).toEqual(["s2@1100", "chained@1150", "s1@1300"]);
    s1.after(10_000, () => {});
    expect(() => runUntilIdle(clock, s1, 5000)).toThrow();
    expect(() => clock.advance(-1)).toThrow();
  });
});

describe("simulated link", () => {
  function traffic(seed: number) {
    const clock = new VirtualClock();
    const sched = new Scheduler(clock);
    const link = new SimLink(sched, seededRandom(seed), { drop: 0.2, duplicate: 0.1, minDelay: 10, maxDelay: 100, reorder: 0.1, reorderDelay: 1000 });
    const got: number[] = [];
    link.b.onReceive = (d) => got.push(d[0] | (d[1] << 8));
    for (let i = 0; i < 2000; i++) {
      link.a.send(new Uint8Array([i & 255, i >> 8, 0]));
      runUntil(clock, sched, clock.now() + 5);
    }
    runUntilIdle(clock, sched);
    return { link, got };
  }

  it("drops, duplicates and reorders at the configured rates, deterministically", () => {
    const { link, got } = traffic(42);
    const dropped = link.records.filter((r) => r.copies === 0).length;
    const duplicated = link.records.filter((r) => r.copies === 2).length;
    expect(dropped / 2000).toBeGreaterThan(0.15);
    expect(dropped / 2000).toBeLessThan(0.25);
    expect(duplicated / 1600).toBeGreaterThan(0.06);
    expect(duplicated / 1600).toBeLessThan(0.14);
    expect(got.length).toBe(2000 - dropped + duplicated);
    let inversions = 0;
    for (let i = 1; i < got.length; i++) if (got[i] < got[i - 1]) inversions++;
    expect(inversions).toBeGreaterThan(10);
    expect(link.sentBy("a")).toBe(6000);
    expect(link.sentBy("a", true)).toBe(2000);
    expect(traffic(42).got).toEqual(got);
  });

  it("a link that is down loses everything; delivered buffers are copies", () => {
    const clock = new VirtualClock();
    const sched = new Scheduler(clock);
    const link = new SimLink(sched, seededRandom(1));
    const got: Uint8Array[] = [];
    link.a.onReceive = (d) => got.push(d);
    link.setConditions({ up: false });
    link.b.send(new Uint8Array([1]));
    link.setConditions({ up: true });
    const buf = new Uint8Array([2]);
    link.b.send(buf);
    buf[0] = 9;
    runUntilIdle(clock, sched);
    expect(got.map((d) => d[0])).toEqual([2]);
  });
});
