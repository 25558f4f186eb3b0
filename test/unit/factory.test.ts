// build/factory.ts: CSV -> per-meter provisioning profiles + the Leshan security-store import,
// row validation with line numbers (nothing written on any bad row), and --apply against a real
// Leshan server demo on free loopback ports (stopped by PID).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../build/factory.ts";
import { parseCsv } from "../../build/provision/csv.ts";
import { loadProfile, planProfile } from "../../build/provision/profile.ts";
import { startLeshanServer, type LeshanServer } from "../rig/leshan.ts";
import { repoRoot } from "../rig/processes.ts";

const dir = join(repoRoot, "out", "test-factory");
const keys = join(dir, "keys");
const k1 = randomBytes(16).toString("hex");
const k2 = randomBytes(32).toString("hex");

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void lines.push(a.join(" ")));
  const err = vi.spyOn(console, "error").mockImplementation((...a) => void lines.push(a.join(" ")));
  try {
    return { code: await main(args), out: lines.join("\n") };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

function csv(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const GOOD = () =>
  [
    "endpoint,psk_identity,psk_key_hex,cert_file,key_file,server_cert_file,bootstrap_uri,server_uri,ssid,lifetime",
    `meter-0001,meter-0001,${k1},,,,coaps://127.0.0.1:5684,coaps://127.0.0.1:5690,101,300`,
    `"meter-0002","id""2",${k2},,,,"coaps://127.0.0.1:5684",,,`,
    `meter-0003,,,keys/meter-0003.crt,keys/meter-0003.key,keys/server.crt,coaps://127.0.0.1:5684,,,`,
    `meter-0004,,,,,,coap://127.0.0.1:5683,coap://127.0.0.1:5683,7,`,
    "",
  ].join("\r\n");

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(keys, { recursive: true });
  const o = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  o(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(keys, "meter-0003.key")]);
  o(["req", "-new", "-x509", "-key", join(keys, "meter-0003.key"), "-out", join(keys, "meter-0003.crt"), "-subj", "/CN=meter-0003", "-days", "30"]);
  o(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(keys, "server.key")]);
  o(["req", "-new", "-x509", "-key", join(keys, "server.key"), "-out", join(keys, "server.crt"), "-subj", "/CN=localhost", "-days", "30"]);
});

describe("factory CSV", () => {
  it("parses RFC 4180 CSV with quotes, escaped quotes, line breaks in fields and line numbers", () => {
    const r = parseCsv('a,b\r\n"x, y","say ""hi"""\n\n"multi\nline",z\n');
    expect(r).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["x, y", 'say "hi"'] },
      { line: 4, fields: ["multi\nline", "z"] },
    ]);
    expect(() => parseCsv('a\n"open')).toThrow(/line 2: unterminated quoted field/);
    expect(() => parseCsv('a\nx"y\n')).toThrow(/line 2: quote inside an unquoted field/);
  });

  it("writes one profile per meter and the Leshan import, with exact content, mode 0600", async () => {
    const out = join(dir, "out-good");
    const r = await run(["--csv", csv("good.csv", GOOD()), "--out", out]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("4 profiles and leshan-security.json (3 entries)");
    expect(r.out).not.toContain(k1);
    expect(readdirSync(out).sort()).toEqual(["leshan-security.json", "meter-0001.json", "meter-0002.json", "meter-0003.json", "meter-0004.json"]);
    for (const f of readdirSync(out)) expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
    const json = (f: string) => JSON.parse(readFileSync(join(out, f), "utf8"));
    expect(json("meter-0001.json")).toEqual({
      endpoint: "meter-0001",
      bootstrap: { uri: "coaps://127.0.0.1:5684", security: "psk", pskIdentity: "meter-0001", pskKeyHex: k1 },
      servers: [{ ssid: 101, uri: "coaps://127.0.0.1:5690", lifetime: 300, security: "psk", pskIdentity: "meter-0001", pskKeyHex: k1 }],
    });
    expect(json("meter-0002.json")).toEqual({
      endpoint: "meter-0002",
      bootstrap: { uri: "coaps://127.0.0.1:5684", security: "psk", pskIdentity: 'id"2', pskKeyHex: k2 },
    });
    expect(json("meter-0003.json")).toEqual({
      endpoint: "meter-0003",
      bootstrap: { uri: "coaps://127.0.0.1:5684", security: "x509", certFile: "../keys/meter-0003.crt", keyFile: "../keys/meter-0003.key", serverCertFile: "../keys/server.crt" },
    });
    expect(json("meter-0004.json")).toEqual({
      endpoint: "meter-0004",
      bootstrap: { uri: "coap://127.0.0.1:5683", security: "nosec" },
      servers: [{ ssid: 7, uri: "coap://127.0.0.1:5683", lifetime: 86400, security: "nosec" }],
    });
    expect(json("leshan-security.json")).toEqual([
      { endpoint: "meter-0001", psk: { identity: "meter-0001", key: k1 } },
      { endpoint: "meter-0002", psk: { identity: 'id"2', key: k2 } },
      { endpoint: "meter-0003", x509: true },
    ]);
    // the profiles are what build/provision.ts takes
    const plan = planProfile(loadProfile(join(out, "meter-0003.json")));
    expect(plan.steps.map((s) => s.lines[0])).toContain("set key pem");
    // a second run does not overwrite without --force
    const again = await run(["--csv", join(dir, "good.csv"), "--out", out]);
    expect(again.code).toBe(1);
    expect(again.out).toContain("use --force to overwrite");
    expect((await run(["--csv", join(dir, "good.csv"), "--out", out, "--force"])).code).toBe(0);
  });

  it("rejects bad rows with their line numbers and writes nothing", async () => {
    const out = join(dir, "out-bad");
    const text = [
      "endpoint,psk_identity,psk_key_hex,cert_file,key_file,server_cert_file,bootstrap_uri,server_uri,ssid,lifetime",
      `meter-0001,meter-0001,${k1},,,,coaps://127.0.0.1:5684,,,`,
      `meter-0002,id2,abc,,,,coaps://127.0.0.1:5684,,,`,
      `"meter-0003","multi`,
      `line",${k1},,,,coaps://127.0.0.1:5684,,,`,
      `meter-0001,id4,${k1},,,,coaps://127.0.0.1:5684,,,`,
      `meter-0005,meter-0001,${k1},,,,coaps://127.0.0.1:5684,,,`,
      `meter-0006,,,keys/server.key,keys/meter-0003.key,keys/server.crt,coaps://127.0.0.1:5684,,,`,
      `meter-0007,,,,,,coap://127.0.0.1:5683,coap://h:1,,`,
      `meter-0008,,,,,,,,,`,
      `meter-0009,id9,${"00".repeat(65)},,,,coaps://127.0.0.1:5684,,,`,
      `meter-0010,only,three`,
    ].join("\n");
    const r = await run(["--csv", csv("bad.csv", text), "--out", out]);
    expect(r.code).toBe(1);
    const lines = r.out.split("\n");
    const at = (n: number) => lines.find((l) => l.includes(`: line ${n}: `)) ?? `(no error for line ${n})`;
    expect(at(3)).toMatch(/PSK key must be an even number of hex digits/);
    expect(at(4)).toMatch(/pskIdentity must be printable ASCII without spaces/);
    expect(at(6)).toMatch(/endpoint meter-0001 already on line 2/);
    expect(at(7)).toMatch(/psk_identity meter-0001 already on line 2/);
    expect(at(8)).toMatch(/certFile: no CERTIFICATE PEM block \(found: EC PRIVATE KEY\)/);
    expect(at(9)).toMatch(/server_uri needs an ssid/);
    expect(at(10)).toMatch(/needs bootstrap_uri or server_uri/);
    expect(at(11)).toMatch(/65 bytes, at most 64/);
    expect(at(12)).toMatch(/3 fields, the header has 10/);
    expect(r.out).toContain("nothing written");
    expect(r.out).not.toContain(k1);
    expect(existsSync(out)).toBe(false);
    const hdr = await run(["--csv", csv("hdr.csv", "endpoint,colour\nm,red\n"), "--out", out]);
    expect(hdr.out).toMatch(/line 1: unknown column "colour"/);
    expect((await run(["--csv", join(dir, "good.csv")])).code).toBe(2);
  });
});

describe("factory --apply against the Leshan server demo", () => {
  let leshan: LeshanServer | null = null;
  afterAll(async () => {
    await leshan?.stop();
  });

  it("PUTs every entry to /api/security/clients and Leshan lists them", async () => {
    leshan = await startLeshanServer({ name: "leshan-factory" });
    const base = `http://127.0.0.1:${leshan.webPort}`;
    const out = join(dir, "out-apply");
    const r = await run(["--csv", csv("apply.csv", GOOD()), "--out", out, "--apply", base]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`3 security entries stored in ${base}`);
    const list = (await (await fetch(`${base}/api/security/clients`)).json()) as { endpoint: string; psk?: { identity: string; key: string }; x509?: boolean }[];
    const by = new Map(list.map((e) => [e.endpoint, e]));
    expect([...by.keys()].sort()).toEqual(["meter-0001", "meter-0002", "meter-0003"]);
    expect(by.get("meter-0001")).toEqual({ endpoint: "meter-0001", psk: { identity: "meter-0001", key: k1 } });
    expect(by.get("meter-0002")).toEqual({ endpoint: "meter-0002", psk: { identity: 'id"2', key: k2 } });
    expect(by.get("meter-0003")).toEqual({ endpoint: "meter-0003", x509: true });
    // a refused entry (same PSK identity for another endpoint) fails the run
    const clash = csv("clash.csv", `endpoint,psk_identity,psk_key_hex,bootstrap_uri\nmeter-0099,meter-0001,${k1},coaps://127.0.0.1:5684\n`);
    const c = await run(["--csv", clash, "--out", join(dir, "out-clash"), "--apply", base]);
    expect(c.code).toBe(1);
    expect(c.out).toMatch(/meter-0099: HTTP 400/);
  });
});
