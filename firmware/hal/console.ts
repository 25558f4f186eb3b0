import { Hal } from "./codes";
import { onEvent } from "./events";

const buf = new Uint8Array(256);
let lineHandler: (line: string, ctx: any) => void;
let lineCtx: any;

function onConsole(): void {
  let n: number;
  while ((n = __hal.console_read(buf)) > 0) {
    lineHandler(String.fromCharCode.apply(null, buf.subarray(0, n) as any), lineCtx);
  }
}

/** fn gets each console line and ctx. */
export function consoleInit(fn: (line: string, ctx: any) => void, ctx?: any): void {
  lineHandler = fn;
  lineCtx = ctx;
  onEvent(Hal.EV_CONSOLE_LINE, onConsole);
}

export function consoleWrite(line: string): void {
  __hal.console_write(line + "\n");
}
