// A pseudo-terminal, e.g. QEMU's `-serial pty` (it prints "char device redirected to
// /dev/pts/N"). Opened without becoming the controlling terminal, in raw mode (no echo, no
// line editing); needs no native module.
import { closeSync, constants, openSync } from "node:fs";
import { ReadStream } from "node:tty";
import type { Transport } from "./transport.ts";

export class PtyTransport implements Transport {
  readonly name: string;
  private stream: ReadStream | null = null;

  constructor(private path: string) {
    this.name = `pty ${path}`;
  }

  async open(onData: (text: string) => void, onClose: (why: string) => void): Promise<void> {
    let fd: number;
    try {
      fd = openSync(this.path, constants.O_RDWR | constants.O_NOCTTY);
    } catch (e) {
      throw new Error(`${this.name}: ${(e as Error).message}`);
    }
    let s: ReadStream;
    try {
      s = new ReadStream(fd);
      s.setRawMode(true);
    } catch (e) {
      closeSync(fd);
      throw new Error(`${this.name}: not a terminal (${(e as Error).message})`);
    }
    s.setEncoding("latin1");
    s.on("data", (d: string) => onData(d));
    s.on("close", () => onClose("terminal closed"));
    s.on("error", () => {}); // EIO when the other side goes away; close follows
    this.stream = s;
  }

  write(text: string): Promise<void> {
    const s = this.stream;
    if (!s || s.destroyed) return Promise.reject(new Error(`${this.name}: not open`));
    return new Promise((resolve, reject) => s.write(text, "latin1", (e) => (e ? reject(e) : resolve())));
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = null;
    if (s && !s.destroyed) s.destroy();
  }
}
