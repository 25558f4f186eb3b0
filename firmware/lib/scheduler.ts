// Software timers on one clock. The firmware arms the single HAL wake-up for the earliest
// deadline; unit tests drive the same scheduler from a virtual clock.

export interface Clock {
  now(): number;
}

interface Timer {
  id: number;
  at: number;
  fn: (arg?: any) => void;
  arg: any;
}

export interface Scheduler {
  readonly clock: Clock;
  /** Sorted by deadline; equal deadlines keep the order they were set in. */
  timers: Timer[];
  nextId: number;
  now(): number;
  /** Runs fn(arg) once after delay ms; returns an id for cancel(). */
  after<T>(delay: number, fn: (arg: T) => void, arg?: T): number;
  cancel(id: number): void;
  /** Fires every timer that is due; returns how many fired. */
  run(): number;
  /** Milliseconds until the earliest timer, -1 when none is pending. */
  nextDelay(): number;
}

// A constructor and one prototype object rather than a class: the same objects, in fewer bytes.
export const Scheduler = function (this: Scheduler, clock: Clock) {
  (this as { clock: Clock }).clock = clock;
  this.timers = [];
  this.nextId = 1;
} as unknown as { new (clock: Clock): Scheduler; prototype: Scheduler };

Scheduler.prototype = {
  now(this: Scheduler): number {
    return this.clock.now();
  },

  after<T>(this: Scheduler, delay: number, fn: (arg: T) => void, arg?: T): number {
    const t = this.timers;
    const at = this.now() + (delay > 0 ? delay : 0);
    let i = t.length;
    while (i && t[i - 1].at > at) i--;
    t.splice(i, 0, { id: this.nextId, at: at, fn: fn, arg: arg });
    return this.nextId++;
  },

  cancel(this: Scheduler, id: number): void {
    const t = this.timers;
    for (let i = 0; i < t.length; i++) if (t[i].id === id) return void t.splice(i, 1);
  },

  run(this: Scheduler): number {
    const t = this.timers;
    const now = this.now();
    let fired = 0;
    for (; t[0] && t[0].at <= now; fired++) {
      const timer = t.shift() as Timer;
      timer.fn(timer.arg);
    }
    return fired;
  },

  nextDelay(this: Scheduler): number {
    const t = this.timers;
    return t[0] ? Math.max(t[0].at - this.now(), 0) : -1;
  },
} as Scheduler;
