// Logging with Zephyr-style levels. The sink is the HAL log on the meter and an array in tests;
// each line reads "<inf> module: message" after the sink's timestamp.

export const LOG_ERR = 1;
export const LOG_WRN = 2;
export const LOG_INF = 3;
export const LOG_DBG = 4;

export type LogSink = (level: number, text: string) => void;

let sink: LogSink | null = null;
let threshold = LOG_INF;

/** Sets the sink (null: keeps the current one) and the level (when given). */
export function setLogSink(s: LogSink | null, level?: number): void {
  if (s) sink = s;
  if (level !== undefined) threshold = level;
}

export function log(level: number, module: string, message: string): void {
  if (level <= threshold && sink) sink(level, module + ": " + message);
}

export function logWrn(module: string, message: string): void {
  log(LOG_WRN, module, message);
}
export function logInf(module: string, message: string): void {
  log(LOG_INF, module, message);
}
