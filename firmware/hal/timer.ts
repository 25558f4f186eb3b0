import { Clock } from "../lib/scheduler";

export const halClock: Clock = {
  now: function () {
    return __hal.timer_now();
  },
};

export function wallSeconds(): number {
  return Math.floor(__hal.timer_wall() / 1000);
}
