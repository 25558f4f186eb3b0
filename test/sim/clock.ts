// Virtual time for unit and simulated-HAL tests. A VirtualClock is the Clock of one or more
// firmware Schedulers; runUntil/runUntilIdle advance it from deadline to deadline and fire timers,
// so a test of minutes of protocol time runs in milliseconds and is fully deterministic.
//
//   const clock = new VirtualClock();
//   const sched = new Scheduler(clock);
//   runUntil(clock, sched, 10_000);          // fire everything due in the next 10 s
//   runUntilIdle(clock, [sched, other]);     // until no timer is pending (bounded)
import type { Clock, Scheduler } from "../../firmware/lib/scheduler";

export class VirtualClock implements Clock {
  private t: number;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    if (ms < 0) throw new Error("time cannot go backwards");
    this.t += ms;
  }

  /** Jumps to an absolute time (not earlier than now). */
  set(time: number): void {
    this.advance(time - this.t);
  }
}

type Schedulers = Scheduler | Scheduler[];

function list(s: Schedulers): Scheduler[] {
  return Array.isArray(s) ? s : [s];
}

/** Fires whatever is due now on every scheduler, repeating while timers keep firing. */
export function runDue(schedulers: Schedulers): number {
  let fired = 0;
  for (;;) {
    let n = 0;
    for (const s of list(schedulers)) n += s.run();
    if (n === 0) return fired;
    fired += n;
  }
}

/** Milliseconds to the earliest timer over all schedulers, -1 when none is pending. */
export function nextDeadline(schedulers: Schedulers): number {
  let best = -1;
  for (const s of list(schedulers)) {
    const d = s.nextDelay();
    if (d >= 0 && (best < 0 || d < best)) best = d;
  }
  return best;
}

/** Advances to `time` (absolute), firing every timer due on the way, in deadline order. */
export function runUntil(clock: VirtualClock, schedulers: Schedulers, time: number): void {
  runDue(schedulers);
  for (;;) {
    const d = nextDeadline(schedulers);
    if (d < 0 || clock.now() + d > time) break;
    clock.advance(d);
    runDue(schedulers);
  }
  if (time > clock.now()) clock.set(time);
}

/** Advances from deadline to deadline until no timer is pending; throws past `limit` ms from now. */
export function runUntilIdle(clock: VirtualClock, schedulers: Schedulers, limit = 24 * 3600 * 1000): void {
  const end = clock.now() + limit;
  runDue(schedulers);
  for (;;) {
    const d = nextDeadline(schedulers);
    if (d < 0) return;
    if (clock.now() + d > end) throw new Error("runUntilIdle: still busy after " + limit + " ms");
    clock.advance(d);
    runDue(schedulers);
  }
}
