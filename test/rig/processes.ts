// Child processes of the rig: spawned with their output in out/rig-logs/<name>.log,
// tracked by PID, stopped by PID (SIGTERM, then SIGKILL after a grace period).
// A process-exit hook kills whatever is still running, so a crashed test run
// leaves nothing behind. Nothing here kills by name.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const logDir = join(repoRoot, "out", "rig-logs");

export type LineListener = (line: string, stream: "stdout" | "stderr") => void;

export interface SpawnLoggedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** "pipe" to write to the child's stdin (consoles), default "ignore". */
  stdin?: "pipe" | "ignore";
  /** Called for every complete output line (without the newline). */
  onLine?: LineListener;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class RigProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  readonly child: ChildProcess;
  readonly command: string[];
  /** Every output line so far, stdout and stderr interleaved as they arrived. */
  readonly lines: string[] = [];
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null = null;
  private listeners: LineListener[] = [];
  private fd: number;

  constructor(name: string, child: ChildProcess, command: string[], logPath: string, fd: number) {
    this.name = name;
    this.child = child;
    this.command = command;
    this.logPath = logPath;
    this.fd = fd;
    if (child.pid === undefined) throw new Error(`${name}: spawn failed for ${command.join(" ")}`);
    this.pid = child.pid;
    this.exited = new Promise((resolveExit) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        this.note(`--- exited code=${code} signal=${signal}`);
        running.delete(this);
        resolveExit(this.exitInfo);
      });
    });
    for (const stream of ["stdout", "stderr"] as const) {
      const s = child[stream];
      if (!s) continue;
      let rest = "";
      s.setEncoding("utf8");
      s.on("data", (chunk: string) => {
        this.write(chunk);
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          const line = rest.slice(0, nl).replace(/\r$/, "");
          rest = rest.slice(nl + 1);
          this.lines.push(line);
          for (const l of this.listeners) l(line, stream);
        }
      });
    }
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  onLine(l: LineListener): () => void {
    this.listeners.push(l);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  /** Appends a rig note (e.g. a console line sent) to the log file. */
  note(text: string): void {
    this.write(`${text}\n`);
  }

  private write(text: string): void {
    if (this.fd < 0) return;
    try {
      writeSync(this.fd, text);
    } catch {
      /* log file problems never fail a test */
    }
  }

  closeLog(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /**
   * Resolves with the first output line matching, looking at lines already
   * received too (from index `since`). Rejects if the process exits first or
   * after `timeoutMs` (a hang guard, not a performance assertion).
   */
  waitForLine(match: string | RegExp, opts: { since?: number; timeoutMs?: number } = {}): Promise<string> {
    const test = (l: string) => (typeof match === "string" ? l.includes(match) : match.test(l));
    const since = opts.since ?? 0;
    for (let i = since; i < this.lines.length; i++) if (test(this.lines[i])) return Promise.resolve(this.lines[i]);
    const timeoutMs = opts.timeoutMs ?? 120_000;
    return new Promise((resolveLine, reject) => {
      let finished = false;
      const done = () => {
        finished = true;
        off();
        clearTimeout(timer);
      };
      const off = this.onLine((line) => {
        if (finished || !test(line)) return;
        done();
        resolveLine(line);
      });
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no line matching ${match} within ${timeoutMs} ms (see ${this.logPath})`));
      }, timeoutMs);
      void this.exited.then((info) => {
        if (finished) return;
        done();
        reject(new Error(`${this.name} exited (code=${info.code} signal=${info.signal}) before printing ${match} (see ${this.logPath})`));
      });
    });
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(opts: { graceMs?: number } = {}): Promise<ExitInfo> {
    if (!this.running) return this.exitInfo!;
    const graceMs = opts.graceMs ?? 10_000;
    this.note(`--- rig: SIGTERM pid ${this.pid}`);
    signal(this.pid, "SIGTERM");
    const timer = setTimeout(() => {
      if (this.running) {
        this.note(`--- rig: SIGKILL pid ${this.pid} (no exit ${graceMs} ms after SIGTERM)`);
        signal(this.pid, "SIGKILL");
      }
    }, graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  /** SIGKILL by PID at once (a power cut). */
  async kill(): Promise<ExitInfo> {
    if (!this.running) return this.exitInfo!;
    this.note(`--- rig: SIGKILL pid ${this.pid}`);
    signal(this.pid, "SIGKILL");
    return this.exited;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

const running = new Set<RigProcess>();
const usedLogNames = new Set<string>();

/** Spawns `command[0]` with `command.slice(1)`, logging to out/rig-logs/<name>.log. */
export function spawnLogged(name: string, command: string[], opts: SpawnLoggedOptions = {}): RigProcess {
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.log`);
  // The first process of a name in this run starts a fresh log; later ones (restarts) append.
  const fd = openSync(logPath, usedLogNames.has(logPath) ? "a" : "w");
  usedLogNames.add(logPath);
  writeSync(fd, `--- ${new Date().toISOString()} ${command.join(" ")}\n`);
  const spawnOpts: SpawnOptions = {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env ?? process.env,
    stdio: [opts.stdin ?? "ignore", "pipe", "pipe"],
  };
  const child = spawn(command[0], command.slice(1), spawnOpts);
  let p: RigProcess;
  try {
    p = new RigProcess(name, child, command, logPath, fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  writeSync(fd, `--- pid ${p.pid}\n`);
  if (opts.onLine) p.onLine(opts.onLine);
  child.once("error", (e) => p.note(`--- spawn error: ${e.message}`));
  running.add(p);
  return p;
}

/** Every process this rig started that is still running. */
export function runningProcesses(): RigProcess[] {
  return [...running];
}

/** Stops every process this rig started (by PID), most recent first. */
export async function stopAll(opts: { graceMs?: number } = {}): Promise<void> {
  const all = [...running].reverse();
  await Promise.all(all.map((p) => p.stop(opts)));
}

// Last resort: when this Node process exits for any reason, kill what is left.
process.on("exit", () => {
  for (const p of running) signal(p.pid, "SIGKILL");
});

let signalsInstalled = false;
/**
 * For CLI tools (the demo): Ctrl-C / SIGTERM / SIGHUP stop every child by PID, then exit
 * with `exitCode()` (default 130).
 */
export function installSignalHandlers(opts: { onSignal?: (sig: NodeJS.Signals) => void; exitCode?: () => number } = {}): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      opts.onSignal?.(sig);
      void stopAll({ graceMs: 5_000 }).finally(() => process.exit(opts.exitCode?.() ?? 130));
    });
  }
}
