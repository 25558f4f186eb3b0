// A real UART (USB serial adapter on the meter's console pins), through the serialport package.
import type { Transport } from "./transport.ts";

export class SerialTransport implements Transport {
  readonly name: string;
  private port: import("serialport").SerialPort | null = null;

  constructor(
    private path: string,
    private baud: number,
  ) {
    this.name = `serial ${path} @${baud}`;
  }

  async open(onData: (text: string) => void, onClose: (why: string) => void): Promise<void> {
    const { SerialPort } = await import("serialport");
    const p = new SerialPort({ path: this.path, baudRate: this.baud, autoOpen: false });
    await new Promise<void>((resolve, reject) => p.open((e) => (e ? reject(new Error(`${this.name}: ${e.message}`)) : resolve())));
    p.setEncoding("latin1");
    p.on("data", (d: string) => onData(d));
    p.on("close", () => onClose("port closed"));
    p.on("error", () => {});
    this.port = p;
  }

  write(text: string): Promise<void> {
    const p = this.port;
    if (!p || !p.isOpen) return Promise.reject(new Error(`${this.name}: not open`));
    return new Promise((resolve, reject) => {
      p.write(text, "latin1", (e) => {
        if (e) return reject(e);
        p.drain((e2) => (e2 ? reject(e2) : resolve()));
      });
    });
  }

  async close(): Promise<void> {
    const p = this.port;
    this.port = null;
    if (p && p.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
  }
}
