import { setLogSink } from "../lib/log";

function halSink(level: number, text: string): void {
  __hal.log_write(level, text);
}

export function useHalLog(level?: number): void {
  setLogSink(halSink, level);
}
