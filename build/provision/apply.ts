// Applies a provisioning plan over a console session and verifies the result by reading it
// back (`show config`, `show credentials`): every value and fingerprint must match what was
// sent. Reports carry fingerprints only.
import { ConsoleError, ConsoleSession } from "./console.ts";
import type { Plan } from "./profile.ts";

export interface ApplyOptions {
  /** Only read back and compare; send nothing that changes the meter. */
  verifyOnly?: boolean;
  /** Hang guard per command, ms. */
  commandTimeoutMs?: number;
  /** Hang guard for the console to answer at all, ms. */
  syncTimeoutMs?: number;
  /** Progress lines (already free of secrets). */
  log?: (line: string) => void;
}

export interface ApplyResult {
  ok: boolean;
  commands: number;
  /** Problems found: refused commands, mismatches, timeouts. */
  problems: string[];
}

/** `key=value` tokens of a line after its first `skip` words. */
export function keyValues(line: string, skip: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of line.trim().split(/\s+/).slice(skip)) {
    const i = w.indexOf("=");
    if (i > 0) out[w.slice(0, i)] = w.slice(i + 1);
  }
  return out;
}

/** Parses `show credentials`: `cred <handle> <bootstrap|ssid=N> mode=... key=...`. */
export function parseCredentials(lines: string[]): Map<string, Record<string, string>> {
  const m = new Map<string, Record<string, string>>();
  for (const l of lines) {
    const w = l.trim().split(/\s+/);
    if (w[0] !== "cred" || w.length < 3) continue;
    m.set(w[2], { handle: w[1], ...keyValues(l, 3) });
  }
  return m;
}

/** Parses `show config`: endpoint, `/0/i bootstrap|ssid=N uri=.. mode=..`, `/1/i ssid=N lifetime=..`. */
export function parseConfig(lines: string[]): { endpoint: string; security: Map<string, Record<string, string>>; servers: Map<string, Record<string, string>> } {
  let endpoint = "";
  const security = new Map<string, Record<string, string>>();
  const servers = new Map<string, Record<string, string>>();
  for (const l of lines) {
    const w = l.trim().split(/\s+/);
    if (w[0] === "endpoint:") endpoint = w[1] === "(unset)" ? "" : (w[1] ?? "");
    else if (/^\/0\/\d+$/.test(w[0]) && w[1]) security.set(w[1], keyValues(l, 2));
    else if (/^\/1\/\d+$/.test(w[0])) {
      const kv = keyValues(l, 1);
      if (kv.ssid) servers.set(`ssid=${kv.ssid}`, kv);
    }
  }
  return { endpoint, security, servers };
}

export function verifyPlan(plan: Plan, config: string[], creds: string[]): string[] {
  const problems: string[] = [];
  const cfg = parseConfig(config);
  const cr = parseCredentials(creds);
  if (cfg.endpoint !== plan.endpoint) problems.push(`endpoint: meter has "${cfg.endpoint}", expected "${plan.endpoint}"`);
  for (const c of plan.config) {
    const s = cfg.security.get(c.who);
    if (!s) {
      problems.push(`${c.who}: no such account on the meter`);
      continue;
    }
    if (s.uri !== c.uri) problems.push(`${c.who}: uri is ${s.uri}, expected ${c.uri}`);
    if (s.mode !== String(c.mode)) problems.push(`${c.who}: security mode is ${s.mode}, expected ${c.mode}`);
    if (c.lifetime !== undefined) {
      const srv = cfg.servers.get(c.who);
      if (!srv) problems.push(`${c.who}: no server object instance`);
      else if (srv.lifetime !== String(c.lifetime)) problems.push(`${c.who}: lifetime is ${srv.lifetime}, expected ${c.lifetime}`);
    }
  }
  for (const e of plan.credentials) {
    const got = cr.get(e.who);
    if (!got) {
      problems.push(`${e.who}: no credential line in show credentials`);
      continue;
    }
    for (const [k, v] of Object.entries(e.values)) {
      if (got[k] !== v) problems.push(`${e.who}: ${k} is ${got[k] ?? "(absent)"}, expected ${v}`);
    }
    for (const k of Object.keys(got)) {
      if (k !== "handle" && !(k in e.values)) problems.push(`${e.who}: unexpected ${k}=${got[k]} on the meter`);
    }
  }
  return problems;
}

export async function applyPlan(session: ConsoleSession, plan: Plan, o: ApplyOptions = {}): Promise<ApplyResult> {
  const log = o.log ?? (() => {});
  const timeout = o.commandTimeoutMs ?? 10_000;
  const problems: string[] = [];
  let commands = 0;
  for (const s of plan.steps) for (const x of s.secrets) session.addSecret(x);
  try {
    await session.sync(o.syncTimeoutMs ?? 30_000);
    if (!o.verifyOnly) {
      for (const s of plan.steps) {
        commands++;
        try {
          await session.command(s.lines, timeout);
          log(`  ok     ${s.label}`);
        } catch (e) {
          const why = session.redact((e as Error).message);
          log(`  FAILED ${s.label}: ${why}`);
          problems.push(`${s.label}: ${why}`);
          return { ok: false, commands, problems };
        }
      }
    }
    const config = await session.command("show config", timeout);
    const creds = await session.command("show credentials", timeout);
    commands += 2;
    problems.push(...verifyPlan(plan, config, creds).map((p) => session.redact(p)));
  } catch (e) {
    const kind = e instanceof ConsoleError ? "" : "internal: ";
    problems.push(kind + session.redact((e as Error).message));
  }
  return { ok: problems.length === 0, commands, problems };
}
