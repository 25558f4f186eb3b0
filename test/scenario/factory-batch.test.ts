// The factory line end to end on a batch of 20 host-board meters: a CSV of meters with random
// endpoint names, PSK identities and keys, and a Leshan server demo (coaps://, PSK) as their
// management server -> `factory` (build/factory.ts) writes one profile per meter and the Leshan
// security-store import, --apply PUTs it to the running Leshan -> each meter is started with its
// own flash and fuse files, provisioned over its console by `provision` (build/provision.ts
// --tcp, through a TCP window onto the meter's stdin/stdout: test/rig/console-bridge.ts), and
// rebooted -> Leshan's GET /api/clients lists all 20, registered over DTLS with their PSKs.
// No key ever shows in what a meter printed, in the rig logs or in the tools' output.
//
// Meters are started and provisioned a few at a time; every process is stopped by PID.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main as factory } from "../../build/factory.ts";
import { main as provision } from "../../build/provision.ts";
import { bridgeConsole } from "../rig/console-bridge.ts";
import { createDut, loadRig, type HostDut } from "../rig/dut.ts";
import { startLeshanServer, type LeshanServer, type Registration } from "../rig/leshan.ts";
import { runningProcesses, stopAll, type RigProcess } from "../rig/processes.ts";

const COUNT = 20;
const AT_ONCE = 5; // meters started and provisioned together
const SSID = 101;
const LIFETIME = 300;

interface Meter {
  endpoint: string;
  identity: string;
  keyHex: string;
  dir: string;
  dut: HostDut;
  proc: RigProcess | null;
  provisionOut: string[];
  registeredLine: string;
}

const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");

/** n distinct random strings from gen. */
function distinct(n: number, gen: () => string): string[] {
  const s = new Set<string>();
  while (s.size < n) s.add(gen());
  return [...s];
}

/** Runs one of the tools' main() in-process, returning its exit code and printed lines. */
async function tool(fn: (argv: string[]) => Promise<number>, argv: string[], sink: string[]): Promise<number> {
  return fn(argv).catch((e: Error) => {
    sink.push(`threw: ${e.message}`);
    return -1;
  });
}

describe(`factory line: ${COUNT} host meters from one CSV, all registered with Leshan over coaps (PSK)`, () => {
  const work = mkdtempSync(join(tmpdir(), "factory-batch-"));
  const csvPath = join(work, "meters.csv");
  const outDir = join(work, "profiles");
  const printed: string[] = []; // everything the tools printed (console.log / console.error)
  let srv: LeshanServer;
  let meters: Meter[] = [];
  let factoryCode = -1;

  beforeAll(async () => {
    srv = await startLeshanServer({ name: "factory-batch-server" });
    const endpoints = distinct(COUNT, () => `meter-${randomBytes(5).toString("hex")}`);
    const identities = distinct(COUNT, () => `psk-${randomBytes(8).toString("base64url")}`);
    // Key lengths vary over the batch: 16, 24 and 32 bytes.
    const keys = distinct(COUNT, () => randomBytes(16 + 8 * Math.floor(Math.random() * 3)).toString("hex"));
    meters = endpoints.map((endpoint, i) => {
      const dir = join(work, "meters", endpoint);
      mkdirSync(dir, { recursive: true });
      const dut = createDut(loadRig("host"), { workDir: dir, logName: `factory-batch-${String(i + 1).padStart(2, "0")}` }) as HostDut;
      return { endpoint, identity: identities[i], keyHex: keys[i], dir, dut, proc: null, provisionOut: [], registeredLine: "" };
    });
    const header = "endpoint,server_uri,ssid,lifetime,security,psk_identity,psk_key_hex";
    const rows = meters.map((m) => `${m.endpoint},${srv.coapsUri},${SSID},${LIFETIME},psk,${m.identity},${m.keyHex}`);
    writeFileSync(csvPath, [header, ...rows, ""].join("\r\n"), { mode: 0o600 });

    // The tools print through console.log/error: kept (to look for keys, and for failure messages).
    const keep = (...a: unknown[]) => void printed.push(a.map(String).join(" "));
    const log = vi.spyOn(console, "log").mockImplementation(keep);
    const err = vi.spyOn(console, "error").mockImplementation(keep);
    try {
      factoryCode = await tool(factory, ["--csv", csvPath, "--out", outDir, "--apply", `http://127.0.0.1:${srv.webPort}`], printed);
      if (factoryCode !== 0) throw new Error(`factory exited ${factoryCode}:\n${printed.join("\n")}`);
      for (let i = 0; i < meters.length; i += AT_ONCE) {
        await Promise.all(
          meters.slice(i, i + AT_ONCE).map(async (m) => {
            await m.dut.start();
            m.proc = runningProcesses().find((p) => p.pid === m.dut.pid) ?? null;
            if (!m.proc) throw new Error(`${m.endpoint}: meter process not found`);
            const bridge = await bridgeConsole(m.proc);
            const before = printed.length;
            try {
              const code = await tool(provision, ["--profile", join(outDir, `${m.endpoint}.json`), "--tcp", bridge.address, "--quiet"], printed);
              m.provisionOut = printed.slice(before).filter((l) => l.includes(m.endpoint));
              if (code !== 0) throw new Error(`provision ${m.endpoint} exited ${code}:\n${printed.slice(before).join("\n")}`);
            } finally {
              await bridge.stop();
            }
            // Power-up after the factory: the meter registers from its stored accounts.
            const since = m.dut.mark();
            await m.dut.reboot();
            m.registeredLine = await m.dut.waitForLog(new RegExp(`registration: registered with .* \\(ep=${m.endpoint}\\)`), { since });
          }),
        );
      }
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });

  afterAll(async () => {
    await Promise.all(meters.map((m) => m.dut.stop().catch(() => undefined)));
    await srv?.stop();
    await stopAll();
    rmSync(work, { recursive: true, force: true }); // profiles and the CSV hold the keys
  });

  it("factory wrote 20 profiles and the Leshan import, and --apply stored every PSK in Leshan", async () => {
    expect(factoryCode, printed.join("\n")).toBe(0);
    expect(printed.join("\n")).toContain(`${COUNT} profiles and leshan-security.json (${COUNT} entries)`);
    for (const m of meters) expect(existsSync(join(outDir, `${m.endpoint}.json`))).toBe(true);
    const list = (await (await fetch(`${srv.api}/security/clients`)).json()) as { endpoint: string; psk?: { identity: string; key: string } }[];
    const by = new Map(list.map((e) => [e.endpoint, e]));
    for (const m of meters) expect(by.get(m.endpoint)).toEqual({ endpoint: m.endpoint, psk: { identity: m.identity, key: m.keyHex } });
  });

  it("provision applied and verified every profile over the console", () => {
    for (const m of meters) expect(m.provisionOut.join("\n"), m.endpoint).toMatch(new RegExp(`provision: ${m.endpoint}: OK \\(`));
    for (const m of meters) expect(JSON.parse(readFileSync(join(outDir, `${m.endpoint}.json`), "utf8")).servers[0].uri).toBe(srv.coapsUri);
  });

  it("every meter registered with Leshan over coaps, and GET /api/clients lists all 20", async () => {
    for (const m of meters) expect(m.registeredLine, m.endpoint).toContain(`registered with ${srv.coapsUri} as /rd/`);
    const wanted = new Set(meters.map((m) => m.endpoint));
    // A hang guard, not a timing assertion: all of them registered already (the lines above).
    let regs: Registration[] = [];
    for (let i = 0; i < 240; i++) {
      regs = (await srv.clients()).filter((c) => wanted.has(c.endpoint));
      if (regs.length === COUNT) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(regs.map((r) => r.endpoint).sort()).toEqual([...wanted].sort());
    for (const r of regs) {
      expect(r.secure, r.endpoint).toBe(true);
      expect(r.lifetime, r.endpoint).toBe(LIFETIME);
      expect(r.lwM2mVersion, r.endpoint).toBe("1.1");
      const m = meters.find((x) => x.endpoint === r.endpoint)!;
      expect(m.registeredLine).toContain(`/rd/${r.registrationId} `);
    }
    // Each meter's own view: the server account with its PSK identity, the key only as a fingerprint.
    for (const m of meters) {
      const creds = await m.dut.command("show credentials");
      expect(creds.join("\n"), m.endpoint).toMatch(new RegExp(`ssid=${SSID} mode=psk identity=${reEscape(m.identity)} key=[0-9a-f]{16}`));
    }
  });

  it("no PSK key appears in any meter's console output, in the rig logs or in the tools' output", () => {
    const tools = printed.join("\n").toLowerCase();
    for (const m of meters) {
      const key = m.keyHex.toLowerCase();
      const consoleOut = m.dut.logs().join("\n").toLowerCase(); // every stdout line, across the reboot
      const procOut = (m.proc?.lines ?? []).join("\n").toLowerCase(); // stdout and stderr
      expect(consoleOut.length, m.endpoint).toBeGreaterThan(0);
      expect(consoleOut.includes(key), `${m.endpoint}: key in console output`).toBe(false);
      expect(procOut.includes(key), `${m.endpoint}: key in process output`).toBe(false);
      if (m.proc) expect(readFileSync(m.proc.logPath, "utf8").toLowerCase().includes(key), `${m.endpoint}: key in ${m.proc.logPath}`).toBe(false);
      expect(tools.includes(key), `${m.endpoint}: key in the tools' output`).toBe(false);
    }
  });
});
