// The meter's provisioning console commands (firmware/app/credcmd.ts, config.ts) on the
// simulated HAL, with the store answering secret parts by fingerprint as the C store does;
// and the provisioning CLI against the real firmware console served over TCP.
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { SimHal } from "../sim/hal";
import { boot, expectOk } from "./lwm2m/helpers";
import { main as provision } from "../../build/provision.ts";
import { main as factory } from "../../build/factory.ts";
import { loadDer } from "../../build/provision/der.ts";
import { repoRoot } from "../rig/processes.ts";

const fp = (b: Uint8Array) => createHash("sha256").update(b).digest("hex").slice(0, 16);
const dir = join(repoRoot, "out", "test-provision-console");

/** The C store's rule (store_fingerprinted in hal/store/store.c): the secret key, the server
 * key and, unless the mode is PSK, the identity part read back as their fingerprint. */
class CredSim extends SimHal {
  dtlsCredentials: number[] = [];
  store_read(id: number, out: Uint8Array): number {
    const d = this.store.get(id);
    const part = id & 15;
    const mode = this.store.get((id & ~15) | 0);
    const fingerprinted = part === 3 || part === 2 || (part === 1 && !!mode && mode[0] !== 0);
    if (d && id >= 0x8000 && fingerprinted) {
      const f = createHash("sha256").update(d).digest().subarray(0, 8);
      out.set(f);
      return 8;
    }
    return super.store_read(id, out);
  }
  dtls_open(link: number, credential: number): number {
    this.dtlsCredentials.push(credential);
    return super.dtls_open(link, credential);
  }
}

function fresh(): CredSim {
  const sim = new CredSim();
  boot(sim);
  return sim;
}

const cred = (h: number, part: number) => 0x8000 | (h << 4) | part;
const snapshot = (sim: SimHal) => JSON.stringify([...sim.store.entries()].map(([k, v]) => [k, Buffer.from(v).toString("hex")]));

let certDer: Buffer, keyDer: Buffer, serverDer: Buffer, certPem: string[], keyPem: string[];

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const o = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  o(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "meter.key")]);
  o(["req", "-new", "-x509", "-key", join(dir, "meter.key"), "-out", join(dir, "meter.crt"), "-subj", "/CN=meter-1", "-days", "30"]);
  o(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", join(dir, "server.key")]);
  o(["req", "-new", "-x509", "-key", join(dir, "server.key"), "-out", join(dir, "server.crt"), "-subj", "/CN=localhost", "-days", "30"]);
  certDer = loadDer(readFileSync(join(dir, "meter.crt")), "certificate", "c").der;
  keyDer = loadDer(readFileSync(join(dir, "meter.key")), "key", "k").der;
  serverDer = loadDer(readFileSync(join(dir, "server.crt")), "certificate", "s").der;
  certPem = readFileSync(join(dir, "meter.crt"), "latin1").trim().split("\n");
  keyPem = readFileSync(join(dir, "meter.key"), "latin1").trim().split("\n");
});

/** Types the lines of a multi-line command; returns all output. */
function typeLines(sim: SimHal, lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) out.push(...sim.command(l));
  return out;
}

function expectNoSecret(sim: SimHal, secrets: string[]): void {
  const all = (sim.output.join("\n") + sim.logs.join("\n")).toLowerCase();
  for (const s of secrets) expect(all.includes(s.toLowerCase())).toBe(false);
}

describe("console: credentials", () => {
  it("PSK: write-only key, fingerprints, refusals change nothing", () => {
    const sim = fresh();
    const key = randomBytes(16).toString("hex");
    expect(sim.command("show credentials")).toEqual(["cred 1 bootstrap mode=none", "OK"]);
    expect(sim.command("set psk-key " + key)).toEqual(["ERROR: set security psk first"]);
    expect(sim.command("set security rsa")).toEqual(["ERROR: unknown mode"]);
    expect(sim.command("set security rpk")).toEqual(["ERROR: unknown mode"]);
    expect(sim.store.size).toBe(0);
    expectOk(sim.command("set security psk"));
    expectOk(sim.command("set psk-identity meter-1"));
    const before = snapshot(sim);
    expect(sim.command("set psk-key zz")).toEqual(["ERROR: bad hex"]);
    expect(sim.command("set psk-key abc")).toEqual(["ERROR: bad hex"]);
    expect(sim.command("set psk-key " + "00".repeat(65))).toEqual(["ERROR: bad psk-key"]);
    expect(sim.command("set cert 3000")).toEqual(["ERROR: set security x509 first"]);
    expect(sim.command("set psk-key 00 101")).toEqual(["ERROR: no coaps:// account with SSID 101"]);
    sim.failCommit = true;
    expect(sim.command("set psk-key " + key)).toEqual(["ERROR: store failed (-7)"]);
    sim.failCommit = false;
    expect(snapshot(sim)).toBe(before);
    expect(sim.command("set psk-key " + key)).toEqual(["OK"]);
    expect(Buffer.from(sim.store.get(cred(1, 3))!).toString("hex")).toBe(key);
    expect(sim.command("show credentials")).toEqual([`cred 1 bootstrap mode=psk identity=meter-1 key=${fp(Buffer.from(key, "hex"))}`, "OK"]);
    expectNoSecret(sim, [key]);
  });

  it("coaps:// bootstrap URI needs complete credentials; the bootstrap session uses handle 1", () => {
    const sim = fresh();
    const key = randomBytes(16).toString("hex");
    expect(sim.command("set bs-uri coaps://127.0.0.1:5684")).toEqual(["ERROR: set the bootstrap credentials first"]);
    expectOk(sim.command("set endpoint meter-1"));
    expectOk(sim.command("set security psk"));
    expectOk(sim.command("set psk-identity meter-1"));
    expect(sim.command("set bs-uri coaps://127.0.0.1:5684")).toEqual(["ERROR: set the bootstrap credentials first"]);
    expectOk(sim.command("set psk-key " + key));
    expectOk(sim.command("set bs-uri coaps://127.0.0.1:5684"));
    expect(sim.command("show config")).toEqual(["endpoint: meter-1", "/0/0 bootstrap uri=coaps://127.0.0.1:5684 mode=0", "OK"]);
    expect(sim.command("clear credentials")).toEqual(["ERROR: in use by a coaps:// URI"]);
    expect(sim.command("set security nosec")).toEqual(["ERROR: in use by a coaps:// URI"]);
    // switching the mode of a credential in use keeps the account's mode in step
    expectOk(sim.command("set security x509"));
    expect(sim.command("show config")[1]).toBe("/0/0 bootstrap uri=coaps://127.0.0.1:5684 mode=2");
    expect(sim.store.has(cred(1, 3))).toBe(false);
    expectOk(sim.command("set security psk"));
    expectOk(sim.command("set psk-identity meter-1"));
    expectOk(sim.command("set psk-key " + key));
    sim.addServer("127.0.0.1", 5684);
    sim.reboot();
    boot(sim);
    sim.waitLog("Bootstrap-Request sent");
    expect(sim.dtlsCredentials).toEqual([1]);
    // back to coap://, then the credential can go: every part is removed
    expectOk(sim.command("set bs-uri coap://127.0.0.1:5683"));
    expectOk(sim.command("clear credentials"));
    expect([...sim.store.keys()].filter((k) => k >= 0x8000)).toEqual([]);
    expect(sim.command("show credentials")).toEqual(["cred 1 bootstrap mode=none", "OK"]);
    expectNoSecret(sim, [key]);
  });

  it("X.509: PEM and hex input, DER shape checks, PEM abandoned by a command", () => {
    const sim = fresh();
    expectOk(sim.command("set security x509"));
    expect(sim.command("set cert pem")).toEqual([]);
    expect(typeLines(sim, certPem)).toEqual(["OK"]);
    expect(sim.command("set key pem")).toEqual([]);
    expect(typeLines(sim, keyPem)).toEqual(["OK"]);
    const before = snapshot(sim);
    // a private key where a certificate belongs, and the reverse, are refused
    expect(sim.command("set server-cert " + keyDer.toString("hex"))).toEqual(["ERROR: bad server-cert"]);
    expect(sim.command("set key pem")).toEqual([]);
    expect(typeLines(sim, certPem)).toEqual(["ERROR: bad key"]);
    expect(sim.command("set server-cert 3003020101")).toEqual(["ERROR: bad server-cert"]); // inner INTEGER
    expect(sim.command("set server-cert 300400")).toEqual(["ERROR: bad server-cert"]); // length mismatch
    expect(sim.command("set cert-usage 4")).toEqual(["ERROR: bad cert-usage"]);
    expect(sim.command("set cert-usage x")).toEqual(["ERROR: bad cert-usage"]);
    // bad base64 inside the block; a command line ends the block and runs
    expect(typeLines(sim, ["set cert pem", "-----BEGIN CERTIFICATE-----", "MII=", "AAA", "-----END CERTIFICATE-----"])).toEqual(["ERROR: bad PEM"]);
    expect(typeLines(sim, ["set cert pem", "-----BEGIN CERTIFICATE-----", "MIIB", "show credentials"])).toEqual([
      "ERROR: PEM input abandoned",
      `cred 1 bootstrap mode=x509 cert=${fp(certDer)} key=${fp(keyDer)}`,
      "OK",
    ]);
    expect(snapshot(sim)).toBe(before);
    // hex suits short values (a console line holds 255 characters); certificates come as PEM
    expectOk(sim.command("set server-cert 30023000"));
    expect(sim.command("show credentials")[0]).toContain(" server-cert=" + fp(Buffer.from("30023000", "hex")));
    expect(sim.command("set server-cert pem")).toEqual([]);
    expect(typeLines(sim, readFileSync(join(dir, "server.crt"), "latin1").trim().split("\n"))).toEqual(["OK"]);
    expectOk(sim.command("set cert-usage 3"));
    expect(sim.command("show credentials")).toEqual([`cred 1 bootstrap mode=x509 cert=${fp(certDer)} server-cert=${fp(serverDer)} key=${fp(keyDer)} cert-usage=3`, "OK"]);
    expect(Buffer.from(sim.store.get(cred(1, 1))!).equals(certDer)).toBe(true);
    expect(Buffer.from(sim.store.get(cred(1, 3))!).equals(keyDer)).toBe(true);
    expectOk(sim.command("set bs-uri coaps://127.0.0.1:5684"));
    expect(sim.command("show config")[1]).toBe("/0/0 bootstrap uri=coaps://127.0.0.1:5684 mode=2");
    expectNoSecret(sim, [keyDer.toString("hex"), ...keyPem.slice(1, -1)]);
  });

  it("factory server accounts: set server, its credentials by SSID, registration on handle iid+2, factory-reset", () => {
    const sim = fresh();
    const key = randomBytes(32).toString("hex");
    const dm = sim.addServer("127.0.0.1", 5690);
    expectOk(sim.command("set endpoint meter-1"));
    expectOk(sim.command("set bs-uri coap://127.0.0.1:5783"));
    expect(sim.command("set server 0 coaps://127.0.0.1:5690")).toEqual(["ERROR: bad SSID, URI or lifetime"]);
    expect(sim.command("set server 101 http://x 300")).toEqual(["ERROR: bad SSID, URI or lifetime"]);
    expectOk(sim.command("set server 101 coaps://127.0.0.1:5690 300"));
    expectOk(sim.command("set security psk 101"));
    expectOk(sim.command("set psk-identity meter-1-dm 101"));
    expectOk(sim.command("set psk-key " + key + " 101"));
    expect(sim.command("show config")).toEqual([
      "endpoint: meter-1",
      "/0/0 bootstrap uri=coap://127.0.0.1:5783 mode=3",
      "/0/1 ssid=101 uri=coaps://127.0.0.1:5690 mode=0",
      "/1/0 ssid=101 lifetime=300 binding=U",
      "OK",
    ]);
    expect(sim.command("show credentials")).toEqual([
      "cred 1 bootstrap mode=none",
      `cred 3 ssid=101 mode=psk identity=meter-1-dm key=${fp(Buffer.from(key, "hex"))}`,
      "OK",
    ]);
    // updating the account keeps its credential; registration uses handle 3
    expectOk(sim.command("set server 101 coaps://127.0.0.1:5690 600"));
    expect(sim.store.has(cred(3, 3))).toBe(true);
    sim.reboot();
    boot(sim);
    sim.waitLog("registered with");
    expect(sim.dtlsCredentials).toContain(3);
    expect(dm.received[0].path).toBe("/rd");
    // factory-reset forgets the server account and its credential
    const scrubs = sim.scrubs;
    expect(sim.command("factory-reset")).toEqual(["OK"]);
    expect([...sim.store.keys()].filter((k) => k >= 0x8000)).toEqual([]);
    // and zeroizes every old copy of the removed key in flash (hal_store_scrub)
    expect(sim.scrubs).toBe(scrubs + 1);
    expectNoSecret(sim, [key]);
  });
});

// ---------------------------------------------------------------------------
// The CLI against the firmware console (SimHal) served over TCP

function simConsole(sim: SimHal): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => {
    let partial = "";
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      const parts = (partial + d).split("\n");
      partial = parts.pop()!;
      for (const l of parts) for (const o of sim.command(l.replace(/\r$/, ""))) sock.write(o + "\n");
    });
    sock.on("error", () => {});
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r({ server, port: (server.address() as { port: number }).port })));
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void lines.push(a.join(" ")));
  const err = vi.spyOn(console, "error").mockImplementation((...a) => void lines.push(a.join(" ")));
  try {
    return { code: await provision(args), out: lines.join("\n") };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe("provision CLI against the firmware console", () => {
  it("PSK and X.509 profiles with a server account apply and verify; a different key is a mismatch", async () => {
    const sim = fresh();
    const { server, port } = await simConsole(sim);
    const key = randomBytes(16).toString("hex");
    const key2 = randomBytes(20).toString("hex");
    try {
      const psk = join(dir, "psk.json");
      writeFileSync(psk, JSON.stringify({ endpoint: "meter-1", bootstrap: { uri: "coaps://127.0.0.1:5684", security: "psk", pskIdentity: "meter-1", pskKeyHex: key } }));
      let r = await cli(["--profile", psk, "--tcp", `127.0.0.1:${port}`]);
      expect(r.code, r.out).toBe(0);
      const x509 = join(dir, "x509.json");
      writeFileSync(
        x509,
        JSON.stringify({
          endpoint: "meter-1",
          bootstrap: { uri: "coaps://127.0.0.1:5684", certFile: "meter.crt", keyFile: "meter.key", serverCertFile: "server.crt", certUsage: 1 },
          servers: [{ ssid: 101, uri: "coaps://127.0.0.1:5690", lifetime: 300, pskIdentity: "meter-1-dm", pskKeyHex: key2 }],
        }),
      );
      r = await cli(["--profile", x509, "--tcp", `127.0.0.1:${port}`]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(fp(keyDer));
      // back to the PSK profile (mode change while coaps:// is in use), then verify a wrong key
      r = await cli(["--profile", psk, "--tcp", `127.0.0.1:${port}`]);
      expect(r.code, r.out).toBe(0);
      writeFileSync(psk, JSON.stringify({ endpoint: "meter-1", bootstrap: { uri: "coaps://127.0.0.1:5684", security: "psk", pskIdentity: "meter-1", pskKeyHex: key2 } }));
      r = await cli(["--profile", psk, "--tcp", `127.0.0.1:${port}`, "--verify-only"]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`bootstrap: key is ${fp(Buffer.from(key, "hex"))}, expected ${fp(Buffer.from(key2, "hex"))}`);
      expectNoSecret(sim, [key, key2, keyDer.toString("hex"), ...keyPem.slice(1, -1)]);
      for (const s of [key, key2, ...keyPem.slice(1, -1)]) expect(r.out.includes(s)).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe("factory line to meters", () => {
  it("CSV -> profiles -> each simulated meter provisioned and verified with no manual step", async () => {
    const k1 = randomBytes(16).toString("hex");
    const csv = join(dir, "line.csv");
    writeFileSync(
      csv,
      [
        "endpoint,bootstrap_uri,psk_identity,psk_key_hex,cert_file,key_file,server_cert_file,server_uri,ssid,lifetime",
        `meter-a,coaps://127.0.0.1:5684,meter-a,${k1},,,,coaps://127.0.0.1:5690,101,600`,
        `meter-b,coaps://127.0.0.1:5684,,,meter.crt,meter.key,server.crt,,,`,
      ].join("\n"),
    );
    const out = join(dir, "line-out");
    rmSync(out, { recursive: true, force: true });
    const quiet = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      expect(await factory(["--csv", csv, "--out", out])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    for (const ep of ["meter-a", "meter-b"]) {
      const sim = fresh();
      const { server, port } = await simConsole(sim);
      try {
        const r = await cli(["--profile", join(out, `${ep}.json`), "--tcp", `127.0.0.1:${port}`]);
        expect(r.code, r.out).toBe(0);
        expect(sim.command("show config")[0]).toBe(`endpoint: ${ep}`);
      } finally {
        server.close();
      }
    }
  });
});
