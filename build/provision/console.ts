// The meter console protocol over any Transport: one command per line; its output ends with a
// line `OK` or `ERROR: <reason>`; asynchronous log lines `[HH:MM:SS.mmm] <inf> module: text`
// and other noise (boot banners) can arrive at any time and are not command output. A console
// that echoes what it is sent is tolerated (the echo is dropped).
//
// Secrets registered with addSecret() are replaced by "<secret>" in everything this module
// returns or throws, so nothing that reaches a terminal or a log can carry them.
import type { Transport } from "./transport.ts";

export const LOG_LINE = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] <(err|wrn|inf|dbg)> /;

export class ConsoleError extends Error {
  constructor(
    message: string,
    readonly kind: "error" | "timeout" | "closed",
  ) {
    super(message);
  }
}

interface Pending {
  echo: string[];
  out: string[];
  resolve: (lines: string[]) => void;
  reject: (e: Error) => void;
}

export class ConsoleSession {
  private partial = "";
  private pending: Pending | null = null;
  private closedWhy = "";
  private secrets: string[] = [];
  /** Every line received (redacted), for diagnostics. */
  readonly transcript: string[] = [];
  private lineWaiters: ((line: string) => void)[] = [];

  constructor(readonly transport: Transport) {}

  async open(): Promise<void> {
    await this.transport.open(
      (text) => this.data(text),
      (why) => this.closed(why),
    );
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  addSecret(s: string): void {
    if (s.length >= 4 && !this.secrets.includes(s)) this.secrets.push(s);
  }

  /** text with every registered secret (hex matched in either case) replaced. */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) {
      let i: number;
      while ((i = out.toLowerCase().indexOf(s.toLowerCase())) >= 0) out = out.slice(0, i) + "<secret>" + out.slice(i + s.length);
    }
    return out;
  }

  private data(text: string): void {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop()!;
    for (const raw of parts) this.line(raw.replace(/\r+$/, "").replace(/^\r+/, ""));
  }

  private closed(why: string): void {
    this.closedWhy = why;
    const p = this.pending;
    this.pending = null;
    p?.reject(new ConsoleError(`${this.transport.name}: ${why}`, "closed"));
  }

  private line(line: string): void {
    this.transcript.push(this.redact(line));
    if (this.transcript.length > 2000) this.transcript.splice(0, 1000);
    for (const w of [...this.lineWaiters]) w(line);
    const p = this.pending;
    if (!p || LOG_LINE.test(line)) return;
    if (p.echo.length > 0 && line.trim() === p.echo[0].trim()) {
      p.echo.shift();
      return;
    }
    p.echo = [];
    if (line === "OK") {
      this.pending = null;
      p.resolve(p.out);
    } else if (line.startsWith("ERROR:")) {
      this.pending = null;
      p.reject(new ConsoleError(this.redact(line.slice(6).trim()), "error"));
    } else p.out.push(line);
  }

  /**
   * Sends one command (lines[0]) and any continuation lines (PEM), resolves with its output
   * lines (log lines and OK excluded), rejects with ConsoleError (the ERROR reason, a
   * timeout or the pipe closing).
   */
  async command(lines: string | string[], timeoutMs = 10_000): Promise<string[]> {
    const all = typeof lines === "string" ? [lines] : lines;
    if (this.closedWhy) throw new ConsoleError(`${this.transport.name}: ${this.closedWhy}`, "closed");
    if (this.pending) throw new Error("console: one command at a time");
    const shown = this.redact(all[0]);
    return new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending === p) this.pending = null;
        reject(new ConsoleError(`no OK/ERROR for "${shown}" within ${timeoutMs} ms`, "timeout"));
      }, timeoutMs);
      const p: Pending = {
        echo: [...all],
        out: [],
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.pending = p;
      this.transport.write(all.map((l) => l + "\n").join("")).catch((e) => {
        if (this.pending === p) this.pending = null;
        p.reject(new ConsoleError(`${this.transport.name}: write failed: ${(e as Error).message}`, "closed"));
      });
    });
  }

  /**
   * Waits until the console answers, and makes sure no answer to an earlier line is still in
   * flight: sends `sync-<nonce>` (an unknown command) until the meter's error naming that
   * exact nonce arrives for the last one sent. Attempts are every retryMs up to timeoutMs.
   */
  async sync(timeoutMs = 30_000, retryMs = 1000): Promise<void> {
    if (this.pending) throw new Error("console: sync during a command");
    const base = Math.random().toString(36).slice(2, 8);
    let sent = 0;
    let lastSeen = -1;
    let wake: () => void = () => {};
    const waiter = (line: string) => {
      const m = /^ERROR: unknown command 'sync-([a-z0-9]+)-(\d+)'/.exec(line);
      if (m && m[1] === base) {
        lastSeen = Math.max(lastSeen, +m[2]);
        wake();
      }
    };
    const nap = (ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(r, ms);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    this.lineWaiters.push(waiter);
    const start = Date.now();
    try {
      // Probe until the console answers at all; then stop probing and wait for the answer to
      // the last probe, after which nothing older can still arrive.
      while (lastSeen < 0 || lastSeen !== sent - 1) {
        if (this.closedWhy) throw new ConsoleError(`${this.transport.name}: ${this.closedWhy}`, "closed");
        const left = timeoutMs - (Date.now() - start);
        if (left <= 0) throw new ConsoleError(`${this.transport.name}: console did not answer within ${timeoutMs} ms`, "timeout");
        if (lastSeen < 0) await this.transport.write(`sync-${base}-${sent++}\n`).catch(() => {});
        await nap(Math.min(lastSeen < 0 ? retryMs : left, left));
      }
    } finally {
      this.lineWaiters.splice(this.lineWaiters.indexOf(waiter), 1);
    }
  }
}
