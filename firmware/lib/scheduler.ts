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

export class Scheduler {
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(readonly clock: Clock) {}

  now(): number {
    return this.clock.now();
  }

  /** Runs fn(arg) once after delay ms; returns an id for cancel(). */
  after<T>(delay: number, fn: (arg: T) => void, arg?: T): number {
    const timer: Timer = { id: this.nextId++, at: this.clock.now() + (delay > 0 ? delay : 0), fn: fn, arg: arg };
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1].at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return timer.id;
  }

  cancel(id: number): void {
    for (let i = 0; i < this.timers.length; i++) {
      if (this.timers[i].id === id) {
        this.timers.splice(i, 1);
        return;
      }
    }
  }

  /** Fires every timer that is due; returns how many fired. */
  run(): number {
    let fired = 0;
    const now = this.clock.now();
    while (this.timers.length > 0 && this.timers[0].at <= now) {
      const timer = this.timers.shift() as Timer;
      fired++;
      timer.fn(timer.arg);
    }
    return fired;
  }

  /** Milliseconds until the earliest timer, -1 when none is pending. */
  nextDelay(): number {
    if (this.timers.length === 0) return -1;
    const delay = this.timers[0].at - this.clock.now();
    return delay > 0 ? delay : 0;
  }
}
