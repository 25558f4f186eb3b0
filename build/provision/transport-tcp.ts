// A console reached over TCP: QEMU's `-serial tcp:127.0.0.1:PORT,server`, a serial server,
// or a test's fake console.
import { connect, type Socket } from "node:net";
import type { Transport } from "./transport.ts";

export class TcpTransport implements Transport {
  readonly name: string;
  private sock: Socket | null = null;

  constructor(
    private host: string,
    private port: number,
  ) {
    this.name = `tcp ${host}:${port}`;
  }

  open(onData: (text: string) => void, onClose: (why: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.host, port: this.port });
      s.setNoDelay(true);
      s.setEncoding("latin1");
      s.once("connect", () => {
        this.sock = s;
        s.on("data", (d: string) => onData(d));
        s.on("close", () => onClose("connection closed"));
        s.on("error", () => {}); // close follows
        resolve();
      });
      s.once("error", (e) => {
        if (!this.sock) reject(new Error(`${this.name}: ${e.message}`));
      });
    });
  }

  write(text: string): Promise<void> {
    const s = this.sock;
    if (!s || s.destroyed) return Promise.reject(new Error(`${this.name}: not connected`));
    return new Promise((resolve, reject) => s.write(text, "latin1", (e) => (e ? reject(e) : resolve())));
  }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = null;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once("close", () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    });
  }
}
