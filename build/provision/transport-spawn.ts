// The host board (out/host/meter ...) or any console program as a child process: console on
// its stdin/stdout. Stopped by PID when the session ends (stdin closed, then SIGTERM, then
// SIGKILL). Its stderr is kept (last lines) for error messages, never printed otherwise.
import { spawn, type ChildProcess } from "node:child_process";
import type { Transport } from "./transport.ts";

export class SpawnTransport implements Transport {
  readonly name: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** The last stderr lines of the child. */
  readonly stderrTail: string[] = [];

  constructor(private argv: string[]) {
    if (argv.length === 0) throw new Error("--spawn needs a command");
    this.name = `spawn ${argv.join(" ")}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  open(onData: (text: string) => void, onClose: (why: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const c = spawn(this.argv[0], this.argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
      c.once("error", (e) => reject(new Error(`${this.name}: ${e.message}`)));
      c.once("spawn", () => {
        this.child = c;
        c.stdout!.setEncoding("latin1");
        c.stdout!.on("data", (d: string) => onData(d));
        c.stderr!.setEncoding("latin1");
        let partial = "";
        c.stderr!.on("data", (d: string) => {
          const parts = (partial + d).split("\n");
          partial = parts.pop()!;
          this.stderrTail.push(...parts);
          if (this.stderrTail.length > 20) this.stderrTail.splice(0, this.stderrTail.length - 20);
        });
        c.stdin!.on("error", () => {});
        this.exited = new Promise((r) => c.once("exit", () => r()));
        c.once("exit", (code, sig) => onClose(`process exited (${sig ?? `code ${code}`})`));
        resolve();
      });
    });
  }

  write(text: string): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.reject(new Error(`${this.name}: not running`));
    return new Promise((resolve, reject) => c.stdin!.write(text, "latin1", (e) => (e ? reject(e) : resolve())));
  }

  async close(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.stdin!.end();
    const pid = c.pid!;
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    };
    kill("SIGTERM");
    const t = setTimeout(() => kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(t);
  }
}
