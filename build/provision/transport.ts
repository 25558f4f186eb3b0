// The byte pipe to a meter's console. Every transport (serial port, pseudo-terminal, TCP as
// QEMU's -serial tcp:..., a child process on stdin/stdout) implements this and nothing more;
// the console protocol lives in console.ts.
export interface Transport {
  /** For messages: "serial /dev/ttyUSB0 @115200", "tcp 127.0.0.1:4444", ... */
  readonly name: string;
  /** Opens the pipe; data arrives in onData, onClose reports the pipe going away. */
  open(onData: (text: string) => void, onClose: (why: string) => void): Promise<void>;
  /** Writes text as is (the caller adds line endings). */
  write(text: string): Promise<void>;
  /** Closes the pipe (and stops what the transport started). Safe to call twice. */
  close(): Promise<void>;
}

export interface TransportOptions {
  port?: string;
  baud?: number;
  pty?: string;
  tcp?: string;
  spawn?: string;
}

/** Splits a command line on spaces; single and double quotes group, no other shell syntax. */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote = "";
  let any = false;
  for (const ch of cmd) {
    if (quote) {
      if (ch === quote) quote = "";
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      any = true;
    } else if (ch === " " || ch === "\t") {
      if (cur || any) out.push(cur);
      cur = "";
      any = false;
    } else cur += ch;
  }
  if (quote) throw new Error(`unbalanced ${quote} in command: ${cmd}`);
  if (cur || any) out.push(cur);
  return out;
}

export async function createTransport(o: TransportOptions): Promise<Transport> {
  const given = [o.port, o.pty, o.tcp, o.spawn].filter((x) => x !== undefined);
  if (given.length !== 1) throw new Error("give exactly one of --port, --pty, --tcp, --spawn");
  if (o.port !== undefined) return new (await import("./transport-serial.ts")).SerialTransport(o.port, o.baud ?? 115200);
  if (o.pty !== undefined) return new (await import("./transport-pty.ts")).PtyTransport(o.pty);
  if (o.tcp !== undefined) {
    const m = /^(.+):(\d+)$/.exec(o.tcp);
    if (!m) throw new Error(`--tcp wants HOST:PORT, got ${o.tcp}`);
    return new (await import("./transport-tcp.ts")).TcpTransport(m[1].replace(/^\[|\]$/g, ""), +m[2]);
  }
  return new (await import("./transport-spawn.ts")).SpawnTransport(splitCommand(o.spawn!));
}
