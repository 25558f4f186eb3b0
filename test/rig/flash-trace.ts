// Flash operations of the host meter, from the console lines its --flash-trace option prints
// (boards/host/flash_file.c), one per program or erase, in order with the firmware's own log:
//   [00:00:00.120] <dbg> flash: program 0x01a40 +52 B (ops=7 programs=6 bytes=812 erases=1)
// so the operations of one phase (a bootstrap, a registration) are the trace lines between two
// of the firmware's log lines.

export const FLASH_TRACE = /<dbg> flash: (program|erase) 0x([0-9a-f]+) \+(\d+) B \(ops=(\d+) /;

export interface FlashOps {
  /** Program and erase operations. */
  ops: number;
  programs: number;
  /** Bytes programmed (erases not included). */
  programBytes: number;
  erases: number;
}

/** The flash operations traced in lines[from, to). */
export function flashOps(lines: string[], from = 0, to = lines.length): FlashOps {
  const r: FlashOps = { ops: 0, programs: 0, programBytes: 0, erases: 0 };
  for (let i = Math.max(0, from); i < Math.min(to, lines.length); i++) {
    const m = FLASH_TRACE.exec(lines[i]);
    if (!m) continue;
    r.ops++;
    if (m[1] === "program") {
      r.programs++;
      r.programBytes += Number(m[3]);
    } else r.erases++;
  }
  return r;
}

/** Index of the first line at or after `from` matching, or -1. */
export function lineIndex(lines: string[], match: RegExp | string, from = 0): number {
  for (let i = Math.max(0, from); i < lines.length; i++) {
    if (typeof match === "string" ? lines[i].includes(match) : match.test(lines[i])) return i;
  }
  return -1;
}
