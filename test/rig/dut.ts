// Device under test: one interface for every board, so the scenario suite runs unchanged on
// the host process, on QEMU and (later) on real boards described by a rig file
// test/rig/rigs/<name>.json (see rigs/README.md).
//
// Console protocol (README "Console commands"): every command's output ends with a line
// `OK` or `ERROR: <reason>`; asynchronous log lines `[HH:MM:SS.mmm] <inf> module: message`
// can arrive at any time, also in the middle of a command's output, and are filtered out
// of command results.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { loadBoard, type Board } from "../../build/boards.ts";
import { repoRoot, spawnLogged, type ExitInfo, type RigProcess } from "./processes.ts";

export interface WaitOptions {
  /** Index into logs() to search from; default: the last (re)start or `reboot` command. */
  since?: number;
  /** Hang guard in ms (not a timing assertion). Default 120 s. */
  timeoutMs?: number;
}

export interface Dut {
  readonly board: string;
  /** Power on / start the device and wait until its console answers. */
  start(): Promise<void>;
  /** Orderly stop (the host meter de-registers on SIGTERM). */
  stop(): Promise<void>;
  /** Cut the power and power on again; storage (flash) is kept. */
  powerCycle(): Promise<void>;
  /** Sends a console line; resolves with its output lines (log lines and the final OK
   *  excluded), rejects with the text after "ERROR: ". */
  command(line: string, opts?: { timeoutMs?: number }): Promise<string[]>;
  /** `reboot` on the console, then wait until the console answers again. */
  reboot(): Promise<void>;
  /** Resolves with the first console line matching (see WaitOptions.since). */
  waitForLog(match: string | RegExp, opts?: WaitOptions): Promise<string>;
  /** Every console line received so far, across restarts. */
  logs(): string[];
  /** Index the next console line will have (use as WaitOptions.since). */
  mark(): number;
  /** The flash image file, where the board keeps it in a file. */
  flashPath?: string;
  /** Seed given to the device's RNG, where the board takes one. */
  seed?: number;
}

export const LOG_LINE = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] <(err|wrn|inf|dbg)> /;

// ---------------------------------------------------------------------------
// Rig descriptions

export type ConsoleSpec =
  | { kind: "process" } // the board's run command, console on its stdin/stdout
  | { kind: "serial"; path: string; baud?: number }
  | { kind: "tcp"; host: string; port: number };

export type PowerSpec =
  | { kind: "process" } // power = the process: cut = SIGKILL, on = spawn again
  | { kind: "command"; off: string[]; on: string[] } // e.g. a USB hub port switch
  | { kind: "manual" };

export interface RigDescription {
  name: string;
  board: string;
  description?: string;
  console: ConsoleSpec;
  power: PowerSpec;
  /** How to put the firmware on the board before a run, for real boards. */
  flash?: { command: string[] };
  /** Loopback/host address the device reaches the servers on. */
  serverHost?: string;
}

export function rigPath(name: string): string {
  if (name.endsWith(".json") || name.includes("/")) return isAbsolute(name) ? name : join(repoRoot, name);
  return join(repoRoot, "test", "rig", "rigs", `${name}.json`);
}

export function loadRig(name: string): RigDescription {
  const path = rigPath(name);
  if (!existsSync(path)) throw new Error(`no rig description ${path}`);
  const rig = JSON.parse(readFileSync(path, "utf8")) as RigDescription;
  for (const k of ["name", "board", "console", "power"] as const)
    if (!rig[k]) throw new Error(`${path}: missing "${k}"`);
  loadBoard(rig.board); // the board must exist
  return rig;
}

export interface DutOptions {
  /** RNG seed for boards that take one (host). Default: random, printed in the log. */
  seed?: number;
  /** Directory for the flash and fuse files (host). Default: a fresh temp dir. */
  workDir?: string;
  /** Name of the log file in out/rig-logs. Default: "dut-<rig>". */
  logName?: string;
  /** Extra arguments for the device process (host: e.g. "--virtual-clock"). */
  extraArgs?: string[];
}

/** Builds the Dut a rig file describes. */
export function createDut(rig: RigDescription | string, opts: DutOptions = {}): Dut {
  const r = typeof rig === "string" ? loadRig(rig) : rig;
  const board = loadBoard(r.board);
  if (r.console.kind === "process") {
    if (board.run.kind === "process") return new HostDut(r, board, opts);
    if (board.run.kind === "qemu") return new QemuDut(r, board, opts);
  }
  if (r.console.kind === "tcp" || r.console.kind === "serial") return new StreamDut(r, board, opts);
  throw new Error(`rig ${r.name}: console ${r.console.kind} with board run kind ${board.run.kind} is not supported`);
}

// ---------------------------------------------------------------------------
// Console protocol, shared by every transport

interface Pending {
  line: string;
  out: string[];
  first: boolean;
  resolve: (lines: string[]) => void;
  reject: (e: Error) => void;
}

export abstract class ConsoleDut implements Dut {
  readonly board: string;
  readonly rig: RigDescription;
  protected readonly boardInfo: Board;
  protected readonly lines: string[] = [];
  private bootMark = 0;
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private waiters: ((line: string, index: number) => void)[] = [];
  private downWaiters: ((why: string) => void)[] = [];

  constructor(rig: RigDescription, board: Board) {
    this.rig = rig;
    this.board = board.name;
    this.boardInfo = board;
  }

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
  abstract powerCycle(): Promise<void>;
  /** Writes one line to the device console. */
  protected abstract write(line: string): void;
  /** Where the transcript is logged, for error messages. */
  protected abstract where(): string;

  logs(): string[] {
    return [...this.lines];
  }

  mark(): number {
    return this.lines.length;
  }

  /** Marks a (re)boot: waitForLog looks from here by default. */
  protected booted(): void {
    this.bootMark = this.lines.length;
  }

  /** Feed one received console line. */
  protected received(raw: string): void {
    const line = raw.replace(/\r$/, "");
    const index = this.lines.push(line) - 1;
    const p = this.pending;
    if (p && !LOG_LINE.test(line)) {
      if (p.first && line.trim() === p.line.trim()) {
        p.first = false; // the device echoed the command
      } else if (line === "OK") {
        this.pending = null;
        p.resolve(p.out);
      } else if (line.startsWith("ERROR:")) {
        this.pending = null;
        p.reject(new Error(line.slice("ERROR:".length).trim()));
      } else {
        p.first = false;
        p.out.push(line);
      }
    }
    for (const w of [...this.waiters]) w(line, index);
  }

  /** "; device reported 3x: FATAL: ..." when the device printed fatal errors since the last boot mark. */
  protected fatalHint(): string {
    const fatal = this.lines.slice(this.bootMark).filter((l) => /FATAL|panic|assert|halt/i.test(l));
    return fatal.length ? `; device reported ${fatal.length}x: ${fatal[fatal.length - 1]}` : "";
  }

  /** The device went away (process exit, connection closed). */
  protected down(why: string): void {
    why += this.fatalHint();
    const p = this.pending;
    this.pending = null;
    p?.reject(new Error(`${this.rig.name}: ${why} while running "${p.line}" (see ${this.where()})`));
    for (const w of this.downWaiters.splice(0)) w(why);
  }

  command(line: string, opts: { timeoutMs?: number } = {}): Promise<string[]> {
    const run = () =>
      new Promise<string[]>((resolve, reject) => {
        const timeoutMs = opts.timeoutMs ?? 60_000;
        const timer = setTimeout(() => {
          if (this.pending?.line === line) this.pending = null;
          reject(new Error(`${this.rig.name}: no OK/ERROR for "${line}" within ${timeoutMs} ms (see ${this.where()})`));
        }, timeoutMs);
        this.pending = {
          line,
          out: [],
          first: true,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        if (/^\s*(reboot|factory-reset)\b/.test(line)) this.booted();
        try {
          this.write(line);
        } catch (e) {
          this.pending = null;
          clearTimeout(timer);
          reject(e as Error);
        }
      });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  waitForLog(match: string | RegExp, opts: WaitOptions = {}): Promise<string> {
    const test = (l: string) => (typeof match === "string" ? l.includes(match) : match.test(l));
    const since = opts.since ?? this.bootMark;
    for (let i = since; i < this.lines.length; i++) if (test(this.lines[i])) return Promise.resolve(this.lines[i]);
    const timeoutMs = opts.timeoutMs ?? 120_000;
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== onLine);
        this.downWaiters = this.downWaiters.filter((w) => w !== onDown);
      };
      const onLine = (line: string, index: number) => {
        if (index < since || !test(line)) return;
        cleanup();
        resolve(line);
      };
      const onDown = (why: string) => {
        cleanup();
        reject(new Error(`${this.rig.name}: ${why} before a console line matching ${match} (see ${this.where()})`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.rig.name}: no console line matching ${match} within ${timeoutMs} ms (see ${this.where()})`));
      }, timeoutMs);
      this.waiters.push(onLine);
      this.downWaiters.push(onDown);
    });
  }

  async reboot(): Promise<void> {
    // The meter may answer OK before restarting or restart before answering: accept both.
    await this.command("reboot", { timeoutMs: 15_000 }).catch((e: Error) => {
      if (/exited|closed/.test(e.message)) throw e;
    });
    await this.waitReady();
  }

  /** After power-on: wait until the console answers a command (`version`). */
  protected async waitReady(timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last: Error | undefined;
    while (Date.now() < end) {
      try {
        await this.command("version", { timeoutMs: Math.min(10_000, end - Date.now()) });
        return;
      } catch (e) {
        last = e as Error;
        if (/exited|closed/.test(last.message)) throw last;
      }
    }
    throw new Error(`${this.rig.name}: console not answering "version" (${last?.message})${this.fatalHint()}`);
  }
}

// ---------------------------------------------------------------------------
// Boards run as a local process (host, QEMU): console on stdin/stdout

abstract class ProcessDut extends ConsoleDut {
  protected proc: RigProcess | null = null;
  protected readonly logName: string;

  constructor(rig: RigDescription, board: Board, opts: DutOptions) {
    super(rig, board);
    this.logName = opts.logName ?? `dut-${rig.name}`;
  }

  protected abstract commandLine(): string[];

  get pid(): number | undefined {
    return this.proc?.running ? this.proc.pid : undefined;
  }

  /** Resolves when the current (or last) device process exits, e.g. status 99 after the host's
   *  --die-at-flash-op power cut; undefined before the first start. */
  get exited(): Promise<ExitInfo> | undefined {
    return this.proc?.exited;
  }

  protected where(): string {
    return this.proc?.logPath ?? `out/rig-logs/${this.logName}.log`;
  }

  protected write(line: string): void {
    const p = this.proc;
    if (!p || !p.running || !p.child.stdin) throw new Error(`${this.rig.name}: not running`);
    p.note(`> ${line}`);
    p.child.stdin.write(`${line}\n`);
  }

  protected spawnDevice(): RigProcess {
    if (this.proc?.running) throw new Error(`${this.rig.name}: already running (pid ${this.proc.pid})`);
    const cmd = this.commandLine();
    if (!existsSync(join(repoRoot, cmd[0])) && cmd[0].includes("/"))
      throw new Error(`${this.rig.name}: ${cmd[0]} not found: build it first (npx tsx build/build.ts --board ${this.board})`);
    this.booted();
    const p = spawnLogged(this.logName, cmd, { stdin: "pipe" });
    p.child.stdin?.on("error", () => undefined); // EPIPE after exit is reported by "exit"
    p.onLine((line, stream) => {
      if (stream === "stdout") this.received(line);
    });
    void p.exited.then((info) => {
      if (this.proc === p) this.down(`exited (code=${info.code} signal=${info.signal})`);
    });
    this.proc = p;
    return p;
  }

  async start(): Promise<void> {
    this.spawnDevice();
    await this.waitReady();
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    await p.stop({ graceMs: 20_000 });
  }

  async powerCycle(): Promise<void> {
    if (this.proc) await this.proc.kill();
    await this.start();
  }
}

export class HostDut extends ProcessDut {
  readonly flashPath: string;
  readonly fusePath: string;
  readonly seed: number;
  private readonly extraArgs: string[];

  constructor(rig: RigDescription, board: Board, opts: DutOptions = {}) {
    super(rig, board, opts);
    const dir = opts.workDir ?? mkdtempSync(join(tmpdir(), "meter-"));
    this.flashPath = join(dir, "flash.img");
    this.fusePath = join(dir, "fuse.bin");
    this.seed = opts.seed ?? Math.floor(Math.random() * 0x7fffffff);
    this.extraArgs = opts.extraArgs ?? [];
  }

  protected commandLine(): string[] {
    const cmd = this.boardInfo.run.command.map((a) => a.replace("{flash}", this.flashPath).replace("{fuse}", this.fusePath));
    if (!cmd.includes("--seed")) cmd.push("--seed", String(this.seed));
    return [...cmd, ...this.extraArgs];
  }
}

export class QemuDut extends ProcessDut {
  private readonly extraArgs: string[];

  constructor(rig: RigDescription, board: Board, opts: DutOptions = {}) {
    super(rig, board, opts);
    this.extraArgs = opts.extraArgs ?? [];
  }

  protected commandLine(): string[] {
    const cmd = [...this.boardInfo.run.command, ...this.extraArgs];
    const k = cmd.indexOf("-kernel");
    if (k >= 0 && !existsSync(join(repoRoot, cmd[k + 1])))
      throw new Error(`${this.rig.name}: ${cmd[k + 1]} not found: build it first (npx tsx build/build.ts --board ${this.board})`);
    return cmd;
  }
}

// ---------------------------------------------------------------------------
// Real boards: console over a serial port or TCP (e.g. ser2net), power by command

export class StreamDut extends ConsoleDut {
  private sock: Socket | NodeJS.ReadWriteStream | null = null;
  private transcript: string[] = [];

  constructor(rig: RigDescription, board: Board, _opts: DutOptions = {}) {
    super(rig, board);
  }

  protected where(): string {
    return `${this.rig.name} console transcript (dut.logs())`;
  }

  protected write(line: string): void {
    if (!this.sock) throw new Error(`${this.rig.name}: console not connected`);
    this.transcript.push(`> ${line}`);
    this.sock.write(`${line}\r\n`);
  }

  private async connect(): Promise<void> {
    const c = this.rig.console;
    let rest = "";
    const feed = (chunk: Buffer | string) => {
      rest += chunk.toString();
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        this.received(line);
      }
    };
    if (c.kind === "tcp") {
      const s = connect(c.port, c.host);
      await new Promise<void>((res, rej) => {
        s.once("connect", () => res());
        s.once("error", rej);
      });
      s.on("data", feed);
      s.on("close", () => this.down("console connection closed"));
      this.sock = s;
    } else if (c.kind === "serial") {
      const { SerialPort } = await import("serialport");
      const port = new SerialPort({ path: c.path, baudRate: c.baud ?? 115200 });
      await new Promise<void>((res, rej) => {
        port.once("open", () => res());
        port.once("error", rej);
      });
      port.on("data", feed);
      port.on("close", () => this.down("serial port closed"));
      this.sock = port as unknown as NodeJS.ReadWriteStream;
    } else throw new Error(`${this.rig.name}: console kind ${c.kind} is not a stream`);
  }

  private power(on: boolean): void {
    const p = this.rig.power;
    if (p.kind !== "command") throw new Error(`${this.rig.name}: power ${p.kind}: switch the board by hand`);
    const cmd = on ? p.on : p.off;
    const r = spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`${this.rig.name}: power ${on ? "on" : "off"} command failed`);
  }

  async start(): Promise<void> {
    if (!this.sock) await this.connect();
    if (this.rig.power.kind === "command") this.power(true);
    this.booted();
    await this.waitReady();
  }

  async stop(): Promise<void> {
    if (this.rig.power.kind === "command") this.power(false);
    const s = this.sock;
    this.sock = null;
    if (s && "destroy" in s) (s as Socket).destroy();
    else if (s && "close" in s) (s as unknown as { close(): void }).close();
  }

  async powerCycle(): Promise<void> {
    this.power(false);
    this.power(true);
    this.booted();
    await this.waitReady();
  }
}
