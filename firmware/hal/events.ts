// The one entry the C main loop calls: routes each event to its handler, runs due timers,
// then re-arms the single HAL wake-up for the earliest pending timer.
import { Scheduler } from "../lib/scheduler";
import { log, Log } from "../lib/log";

/** kind is passed last so one handler can serve several kinds. */
export type EventHandler = (handle: number, arg: number, kind: number) => void;

const handlers: (EventHandler | undefined)[] = [];
let sched: Scheduler | null = null;

export function onEvent(kind: number, fn: EventHandler): void {
  handlers[kind] = fn;
}

function dispatch(kind: number, handle: number, arg: number): void {
  __hal.sys_watchdog_kick();
  try {
    const fn = handlers[kind];
    if (fn) fn(handle, arg, kind);
  } catch (e) {
    log(Log.LOG_ERR, "app", "event " + kind + " failed: " + (e as Error).message);
  }
  pump();
}

/** Runs due timers and re-arms the wake-up; also called once at the end of boot. */
export function pump(): void {
  if (!sched) return;
  try {
    sched.run();
  } catch (e) {
    log(Log.LOG_ERR, "app", "timer failed: " + (e as Error).message);
    sched.run();
  }
  const d = sched.nextDelay();
  if (d >= 0) __hal.timer_arm(d);
}

export function installDispatcher(s: Scheduler): void {
  sched = s;
  handlers.length = 0;
  __hal.dispatch = dispatch;
}
