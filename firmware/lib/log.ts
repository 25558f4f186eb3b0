// Logging with Zephyr-style levels. The sink is the HAL log on the meter and an array in tests;
// each line reads "<inf> module: message" after the sink's timestamp.

export const enum Log {
  LOG_ERR = 1,
  LOG_WRN = 2,
  LOG_INF = 3,
  LOG_DBG = 4,
}
// The plain names the tests import (unused ones are left out of the bundle).
export const LOG_INF = Log.LOG_INF;
export const LOG_DBG = Log.LOG_DBG;

export type LogSink = (level: number, text: string) => void;

let sink: LogSink | null = null;
let threshold = Log.LOG_INF;

/** Sets the sink (null: keeps the current one) and the level (when given). */
export function setLogSink(s: LogSink | null, level?: number): void {
  if (s) sink = s;
  if (level !== undefined) threshold = level;
}

export function log(level: number, module: string, message: string): void {
  if (level <= threshold && sink) sink(level, module + ": " + message);
}

export function logWrn(module: string, message: string): void {
  log(Log.LOG_WRN, module, message);
}
export function logInf(module: string, message: string): void {
  log(Log.LOG_INF, module, message);
}
