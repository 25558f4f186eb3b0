import { Clock, Scheduler } from "../lib/scheduler";

export const halClock: Clock = {
  now: function () {
    return __hal.timer_now();
  },
};

export function wallSeconds(): number {
  return Math.floor(__hal.timer_wall() / 1000);
}

export function rearm(s: Scheduler): void {
  const d = s.nextDelay();
  if (d >= 0) __hal.timer_arm(d);
}
