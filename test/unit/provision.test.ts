// build/provision.ts: profiles, the console protocol, every transport (TCP, pty, child process)
// against a fake console, and the real host meter when it is built. Test keys are made with
// openssl at test time under out/; nothing secret is committed.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../build/provision.ts";
import { isDerSequence, loadDer, parsePem } from "../../build/provision/der.ts";
import { loadProfile, planProfile, resolveProfile } from "../../build/provision/profile.ts";
import { splitCommand } from "../../build/provision/transport.ts";
import { createFakeMeter } from "../fixtures/provision/fake-meter.mjs";
import { repoRoot } from "../rig/processes.ts";

const dir = join(repoRoot, "out", "test-provision");
const fixtures = join(repoRoot, "test", "fixtures", "provision");
const fakeMeter = join(fixtures, "fake-meter.mjs");
const fp = (b: Uint8Array) => createHash("sha256").update(b).digest("hex").slice(0, 16);

const pskKey = randomBytes(16).toString("hex");
const pskKey2 = randomBytes(32).toString("hex");

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}

/** Writes a profile file into dir and returns its path. */
function profile(name: string, p: object): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(p, null, 2));
  return path;
}

/** Runs the CLI in this process; returns exit status and everything it printed. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void lines.push(a.join(" ")));
  const err = vi.spyOn(console, "error").mockImplementation((...a) => void lines.push(a.join(" ")));
  try {
    const code = await main(args);
    return { code, out: lines.join("\n") };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

function fakeConsoleServer(opts: Record<string, unknown> = {}): Promise<{ server: Server; port: number; meter: ReturnType<typeof createFakeMeter> }> {
  const meter = createFakeMeter(opts);
  const socks: Socket[] = [];
  const server = createServer((sock) => {
    socks.push(sock);
    let partial = "";
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      const parts = (partial + d).split("\n");
      partial = parts.pop()!;
      for (const l of parts) meter.line(l, (x: string) => sock.write(x + "\r\n"));
    });
    sock.on("error", () => {});
  });
  server.on("close", () => socks.forEach((s) => s.destroy()));
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve({ server, port: typeof a === "object" && a ? a.port : 0, meter });
    }),
  );
}

function closeServer(s: Server): Promise<void> {
  return new Promise((r) => {
    s.close(() => r());
    s.emit("close");
  });
}

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Meter: ECDSA P-256 key (SEC1 PEM) and self-signed certificate; server: PKCS#8 key + cert.
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "meter.key")]);
  openssl(["req", "-new", "-x509", "-key", join(dir, "meter.key"), "-out", join(dir, "meter.crt"), "-subj", "/CN=meter-x509", "-days", "30"]);
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", join(dir, "server.key")]);
  openssl(["req", "-new", "-x509", "-key", join(dir, "server.key"), "-out", join(dir, "server.crt"), "-subj", "/CN=localhost", "-days", "30"]);
  openssl(["x509", "-in", join(dir, "server.crt"), "-outform", "DER", "-out", join(dir, "server.der")]);
  writeFileSync(join(dir, "psk2.hex"), pskKey2 + "\n");
});

const pskProfile = () => ({
  endpoint: "meter-psk",
  bootstrap: { uri: "coaps://127.0.0.1:5684", security: "psk", pskIdentity: "meter-psk-id", pskKeyHex: pskKey },
});
const x509Profile = () => ({
  endpoint: "meter-x509",
  bootstrap: { uri: "coaps://127.0.0.1:5684", security: "x509", certFile: "meter.crt", keyFile: "meter.key", serverCertFile: "server.der", certUsage: 3 },
  servers: [{ ssid: 101, uri: "coaps://127.0.0.1:5690", lifetime: 300, security: "psk", pskIdentity: "meter-x509-dm", pskKeyFile: "psk2.hex" }],
});

/** The secret material of the profiles: must never be printed. */
function secretsOf(): string[] {
  const keyDer = loadDer(readFileSync(join(dir, "meter.key")), "key", "k").der;
  const pemBody = readFileSync(join(dir, "meter.key"), "latin1").split("\n").filter((l) => l && !l.startsWith("-----"));
  return [pskKey, pskKey2, keyDer.toString("hex"), keyDer.toString("base64").slice(0, 40), ...pemBody];
}

function expectNoSecrets(text: string): void {
  const low = text.toLowerCase();
  for (const s of secretsOf()) expect(low.includes(s.toLowerCase()), `secret ${s.slice(0, 6)}... printed`).toBe(false);
}

describe("profiles", () => {
  it("DER and PEM helpers", () => {
    expect(isDerSequence(new Uint8Array([0x30, 0x00]))).toBe(true);
    expect(isDerSequence(new Uint8Array([0x30, 0x03, 1, 2]))).toBe(false);
    expect(isDerSequence(new Uint8Array([0x31, 0x00]))).toBe(false);
    const der = readFileSync(join(dir, "server.der"));
    expect(parsePem(readFileSync(join(dir, "server.crt"), "latin1"))[0].der.equals(der)).toBe(true);
    expect(loadDer(der, "certificate", "x").der.equals(der)).toBe(true);
    expect(loadDer(readFileSync(join(dir, "meter.key")), "key", "k").label).toBe("EC PRIVATE KEY");
    expect(loadDer(readFileSync(join(dir, "server.key")), "key", "k").label).toBe("PRIVATE KEY");
    expect(() => loadDer(readFileSync(join(dir, "meter.key")), "certificate", "certFile")).toThrow(/certFile: no CERTIFICATE PEM block \(found: EC PRIVATE KEY\)/);
    expect(splitCommand(`out/host/meter --flash "a b.img" --seed 3`)).toEqual(["out/host/meter", "--flash", "a b.img", "--seed", "3"]);
  });

  it("the example profiles in test/fixtures/provision are valid", () => {
    expect(loadProfile(join(fixtures, "nosec.json")).endpoint).toBe("meter-lab-0001");
    // psk.json names a key file the operator makes; here one is made next to a copy
    writeFileSync(join(dir, "example-psk.json"), readFileSync(join(fixtures, "psk.json")));
    writeFileSync(join(dir, "meter-0001.psk"), randomBytes(16).toString("hex"));
    expect(loadProfile(join(dir, "example-psk.json")).accounts[0].creds.mode).toBe("psk");
  });

  it("refuses malformed profiles with the field named", () => {
    const bad = (p: object) => () => resolveProfile(p as never, dir);
    const b = pskProfile().bootstrap;
    expect(bad({ endpoint: "bad name", bootstrap: b })).toThrow(/endpoint: bad character ' '/);
    expect(bad({ endpoint: "m", bootstrap: { ...b, pskKeyHex: "abc" } })).toThrow(/pskKeyHex: PSK key must be an even number of hex digits/);
    expect(bad({ endpoint: "m", bootstrap: { ...b, pskKeyHex: "zz" } })).toThrow(/even number of hex digits/);
    expect(bad({ endpoint: "m", bootstrap: { ...b, pskKeyHex: "00".repeat(65) } })).toThrow(/65 bytes, at most 64/);
    expect(bad({ endpoint: "m", bootstrap: { ...b, security: "rsa" } })).toThrow(/unknown mode "rsa"/);
    expect(bad({ endpoint: "m", bootstrap: { ...b, uri: "coap://h:1" } })).toThrow(/coap:\/\/ needs security nosec/);
    expect(bad({ endpoint: "m", bootstrap: { ...b, uri: "http://h" } })).toThrow(/bootstrap.uri: bad URI/);
    expect(bad({ endpoint: "m", bootstrap: { ...b, pskIdentity: "a b" } })).toThrow(/without spaces/);
    expect(bad({ endpoint: "m", bootstrap: { ...b, certFile: "meter.crt" } })).toThrow(/certFile does not apply to security psk/);
    expect(bad({ endpoint: "m", bootstrap: { ...x509Profile().bootstrap, certFile: "meter.key" } })).toThrow(/certFile: no CERTIFICATE PEM block/);
    expect(bad({ endpoint: "m", bootstrap: { ...x509Profile().bootstrap, keyFile: "nope.key" } })).toThrow(/keyFile: cannot read .*nope.key: ENOENT/);
    expect(bad({ endpoint: "m", bootstrap: { ...x509Profile().bootstrap, certUsage: 4 } })).toThrow(/certUsage must be 0..3/);
    expect(bad({ endpoint: "m", servers: [{ ssid: 0, uri: "coap://h" }] })).toThrow(/servers\[0\].ssid must be 1..65534/);
    expect(bad({ endpoint: "m", servers: [{ ssid: 1, uri: "coap://h" }, { ssid: 1, uri: "coap://g" }] })).toThrow(/appears twice/);
    expect(bad({ endpoint: "m" })).toThrow(/neither a bootstrap account nor servers/);
  });

  it("plans the commands; labels and summary carry fingerprints, never secrets", () => {
    const plan = planProfile(resolveProfile(x509Profile() as never, dir));
    const cmds = plan.steps.map((s) => s.lines[0]);
    expect(cmds).toEqual([
      "set endpoint meter-x509",
      "set security x509",
      "set cert pem",
      "set key pem",
      "set server-cert pem",
      "set cert-usage 3",
      "set bs-uri coaps://127.0.0.1:5684",
      "set server 101 coaps://127.0.0.1:5690 300",
      "set security psk 101",
      "set psk-identity meter-x509-dm 101",
      `set psk-key ${pskKey2} 101`,
    ]);
    expect(plan.steps[3].lines[1]).toBe("-----BEGIN EC PRIVATE KEY-----");
    const keyDer = loadDer(readFileSync(join(dir, "meter.key")), "key", "k").der;
    expect(plan.credentials[0].values).toEqual({
      mode: "x509",
      cert: fp(loadDer(readFileSync(join(dir, "meter.crt")), "certificate", "c").der),
      key: fp(keyDer),
      "server-cert": fp(readFileSync(join(dir, "server.der"))),
      "cert-usage": "3",
    });
    expectNoSecrets(plan.steps.map((s) => s.label).join("\n") + plan.summary.join("\n"));
    const nosec = planProfile(resolveProfile({ endpoint: "m", bootstrap: { uri: "coap://h:5783" } } as never, dir));
    expect(nosec.steps.map((s) => s.lines[0])).toEqual(["set endpoint m", "set bs-uri coap://h:5783", "clear credentials"]);
  });
});

describe("CLI against a fake console", () => {
  it("tcp: applies a PSK profile and verifies it", async () => {
    const { server, port, meter } = await fakeConsoleServer();
    try {
      const r = await cli(["--profile", profile("psk.json", pskProfile()), "--tcp", `127.0.0.1:${port}`]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`fingerprint ${fp(Buffer.from(pskKey, "hex"))}`);
      expect(r.out).toContain("meter-psk: OK");
      expectNoSecrets(r.out);
      expect(meter.received).toContain(`set psk-key ${pskKey}`);
      expect(meter.state.bs).toEqual({ uri: "coaps://127.0.0.1:5684", mode: 0 });
    } finally {
      await closeServer(server);
    }
  });

  it("tcp: X.509 bootstrap account plus a PSK management account, through echo and log noise", async () => {
    const { server, port, meter } = await fakeConsoleServer({ echo: true, noise: true });
    try {
      const tr = join(dir, "transcript.txt");
      const r = await cli(["--profile", profile("x509.json", x509Profile()), "--tcp", `127.0.0.1:${port}`, "--transcript", tr]);
      expect(r.code, r.out).toBe(0);
      expectNoSecrets(r.out);
      // the echoed secrets are in the transcript only as <secret>
      const t = readFileSync(tr, "utf8");
      expect(t).toContain(`set psk-key <secret> 101`);
      expect(t).toContain("<secret>");
      expectNoSecrets(t);
      expect(meter.state.servers.get(101)).toMatchObject({ uri: "coaps://127.0.0.1:5690", lifetime: 300, mode: 0 });
      // verify-only against the same meter passes, and sends nothing that changes it
      const n = meter.received.length;
      const v = await cli(["--profile", join(dir, "x509.json"), "--tcp", `127.0.0.1:${port}`, "--verify-only"]);
      expect(v.code, v.out).toBe(0);
      expect(meter.received.slice(n).filter((l) => l.startsWith("set "))).toEqual([]);
    } finally {
      await closeServer(server);
    }
  });

  it("a fingerprint mismatch, a refused command and a silent console each fail", async () => {
    let f = await fakeConsoleServer({ wrongFingerprint: true });
    try {
      const r = await cli(["--profile", profile("psk.json", pskProfile()), "--tcp", `127.0.0.1:${f.port}`]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`bootstrap: key is 0123456789abcdef, expected ${fp(Buffer.from(pskKey, "hex"))}`);
      expect(r.out).toContain("FAILED");
    } finally {
      await closeServer(f.server);
    }
    f = await fakeConsoleServer({ refuse: "set psk-key" });
    try {
      const r = await cli(["--profile", join(dir, "psk.json"), "--tcp", `127.0.0.1:${f.port}`]);
      expect(r.code).toBe(1);
      expect(r.out).toContain("set psk-key <16 bytes>: refused by the fake meter");
      expectNoSecrets(r.out);
    } finally {
      await closeServer(f.server);
    }
    f = await fakeConsoleServer({ silent: "show credentials" });
    try {
      const r = await cli(["--profile", join(dir, "psk.json"), "--tcp", `127.0.0.1:${f.port}`, "--timeout", "300"]);
      expect(r.code).toBe(1);
      expect(r.out).toContain('no OK/ERROR for "show credentials"');
    } finally {
      await closeServer(f.server);
    }
    const r = await cli(["--profile", join(dir, "psk.json"), "--tcp", "127.0.0.1:1"]);
    expect(r.code).toBe(1);
  });

  it("pty: through a pseudo-terminal (python pty bridge to the fake console)", async () => {
    const { server, port, meter } = await fakeConsoleServer();
    const bridge = spawn("python3", [join(fixtures, "pty-bridge.py"), String(port)], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const path = await new Promise<string>((resolve, reject) => {
        bridge.stdout!.once("data", (d) => resolve(String(d).trim()));
        bridge.once("exit", (c) => reject(new Error(`pty bridge exited ${c}`)));
      });
      expect(path).toMatch(/^\/dev\/pts\/\d+$/);
      const r = await cli(["--profile", profile("psk.json", pskProfile()), "--pty", path]);
      expect(r.code, r.out).toBe(0);
      expect(meter.received).toContain("set psk-identity meter-psk-id");
    } finally {
      process.kill(bridge.pid!, "SIGTERM");
      await closeServer(server);
    }
  });

  it("spawn: a console program on stdin/stdout; its exit is reported", async () => {
    const ok = await cli(["--profile", profile("x509.json", x509Profile()), "--spawn", `${process.execPath} ${fakeMeter} --stdio --noise`]);
    expect(ok.code, ok.out).toBe(0);
    const bad = await cli(["--profile", join(dir, "x509.json"), "--spawn", `${process.execPath} ${fakeMeter} --stdio --wrong-fingerprint`]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/key is 0123456789abcdef/);
    const gone = await cli(["--profile", join(dir, "x509.json"), "--spawn", `${process.execPath} -e process.exit(3)`]);
    expect(gone.code).toBe(1);
    expect(gone.out).toMatch(/process exited \(code 3\)/);
  });

  it("the command line entry point: usage errors exit 2, success 0", () => {
    const run = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "build/provision.ts", ...args], { cwd: repoRoot, encoding: "utf8" });
    const u = run(["--profile", join(dir, "psk.json")]);
    expect(u.status).toBe(2);
    expect(u.stderr).toContain("give exactly one of --port, --pty, --tcp, --spawn");
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ endpoint: "m", bootstrap: { uri: "coaps://h", security: "psk", pskIdentity: "i", pskKeyHex: "0".repeat(130) } }));
    const b = run(["--profile", join(dir, "bad.json"), "--tcp", "127.0.0.1:1"]);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain("bootstrap.pskKeyHex: PSK key is 65 bytes, at most 64");
    expect(b.stderr).not.toContain("0".repeat(40));
    const ok = run(["--profile", join(dir, "psk.json"), "--spawn", `${process.execPath} ${fakeMeter} --stdio`]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expectNoSecrets(ok.stdout + ok.stderr);
  });
});

// ---------------------------------------------------------------------------
// The real host meter (out/host/meter): only when it is built and has the provisioning commands.

const meterBin = join(repoRoot, "out", "host", "meter");

/** True when out/host/meter boots and lists the credential commands in its help. */
function hostMeterReady(): boolean {
  if (!existsSync(meterBin)) return false;
  const work = join(dir, "probe");
  mkdirSync(work, { recursive: true });
  const r = spawnSync(meterBin, ["--flash", join(work, "f.img"), "--fuse", join(work, "f.fuse"), "--seed", "1"], {
    input: "help\n",
    encoding: "latin1",
    timeout: 20_000,
  });
  return /show[ |a-z]*credentials/.test(r.stdout ?? "");
}

describe("CLI against the host meter", () => {
  it("PSK, then X.509 with a server account; persisted, encrypted at rest, secrets never on the console", async (ctx) => {
    expect(hostMeterReady(), `${meterBin} must be built and list the credential commands in help`).toBe(true);
    const work = join(dir, "host");
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const raw = join(work, "console.log");
    const meter = `${process.execPath} ${join(fixtures, "tee-meter.mjs")} ${raw} ${meterBin} --flash ${join(work, "f.img")} --fuse ${join(work, "f.fuse")} --seed 7`;
    const psk = profile("host-psk.json", pskProfile());
    let r = await cli(["--profile", psk, "--spawn", meter]);
    expect(r.code, r.out).toBe(0);
    // still there after a restart (the CLI stopped the meter), verified without writing
    r = await cli(["--profile", psk, "--spawn", meter, "--verify-only"]);
    expect(r.code, r.out).toBe(0);
    // a different key is a mismatch
    const other = profile("host-other.json", { ...pskProfile(), bootstrap: { ...pskProfile().bootstrap, pskKeyHex: pskKey2 } });
    r = await cli(["--profile", other, "--spawn", meter, "--verify-only"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`bootstrap: key is ${fp(Buffer.from(pskKey, "hex"))}, expected ${fp(Buffer.from(pskKey2, "hex"))}`);
    // X.509 bootstrap account and a PSK management account
    r = await cli(["--profile", profile("host-x509.json", x509Profile()), "--spawn", meter]);
    expect(r.code, r.out).toBe(0);
    r = await cli(["--profile", join(dir, "host-x509.json"), "--spawn", meter, "--verify-only"]);
    expect(r.code, r.out).toBe(0);
    expectNoSecrets(r.out);
    const transcript = readFileSync(raw, "latin1");
    expect(transcript).toContain("cred 1 bootstrap mode=x509");
    expectNoSecrets(transcript);
    const flash = readFileSync(join(work, "f.img"));
    for (const k of [pskKey, pskKey2]) expect(flash.includes(Buffer.from(k, "hex"))).toBe(false);
    expect(flash.includes(loadDer(readFileSync(join(dir, "meter.key")), "key", "k").der.subarray(-40))).toBe(false);
  });
});
