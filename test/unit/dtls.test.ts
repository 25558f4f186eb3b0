// DTLS offload (hal/dtls) against real peers on loopback: coap-server-gnutls and
// coap-server-openssl (PSK, CoAP GET), openssl s_server (PSK and X.509 ECDSA P-256, text both
// ways, resumption), wrong keys and certificates, silent and unreachable peers. The C test
// client (test/c/test_dtls_client.c) runs our session code over UDP with its credential in the
// real store engine. Keys and certificates are generated at run time into out/test-c/dtls.
// Ports are picked free at run time; every peer is stopped by PID.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPBACK, canBind, freeUdpPort } from "../rig/ports.ts";
import { type RigProcess, repoRoot, spawnLogged } from "../rig/processes.ts";

const OUT = join(repoRoot, "out/test-c/dtls");
const PKI = join(OUT, "pki");
const BIN = {
  client: join(OUT, "test_dtls_client"),
  fast: join(OUT, "test_dtls_client_fast"),
  hostLink: join(OUT, "test_dtls_host_link"),
  unit: join(OUT, "test_dtls_unit"),
};
const SUITE = { pskCcm8: 0xc0a8, pskCbc: 0x00ae, ecdsaCcm8: 0xc0ae, ecdsaCbc: 0xc023 };
const HAL_ETIMEDOUT = -13;

function have(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const havePeers = have("coap-server-gnutls") && have("coap-server-openssl") && have("openssl") && have("gcc");

// ---------------------------------------------------------------- building the C

function cFiles(dir: string, skip: (f: string) => boolean = () => false): string[] {
  return readdirSync(join(repoRoot, dir))
    .filter((f) => f.endsWith(".c") && !skip(f))
    .sort()
    .map((f) => join(dir, f));
}

function writeBoardConfig(): void {
  mkdirSync(join(OUT, "gen"), { recursive: true });
  const defines = {
    BOARD_NAME: '"dtls-test"',
    BOARD_DTLS_SESSIONS: 3,
    BOARD_EVENT_RING: 32,
    BOARD_LINK_HANDLES: 4,
    BOARD_LINK_MTU: 1280,
    BOARD_STORE_SECTORS: 8,
    BOARD_STORE_SECTOR_BYTES: 4096,
  };
  const lines = ["#ifndef BOARD_CONFIG_H", "#define BOARD_CONFIG_H", ...Object.entries(defines).map(([k, v]) => `#define ${k} ${v}`), "#endif", ""];
  writeFileSync(join(OUT, "gen/board_config.h"), lines.join("\n"));
}

function compile(out: string, main: string, extra: { defines?: string[]; sources?: string[] } = {}): void {
  const store = cFiles("hal/store", (f) => f.endsWith("_none.c") || f === "store_report.c");
  const sources = [...cFiles("hal/dtls"), ...store, "hal/src/event_ring.c", "test/c/test_dtls_support.c", ...(extra.sources ?? []), main];
  const includes = [join(OUT, "gen"), "hal/include", "hal/src", "hal/store", "hal/dtls", "test/c", "boards/host"].map((d) => `-I${d}`);
  execFileSync(
    "gcc",
    [
      "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g",
      ...(extra.defines ?? []).map((d) => `-D${d}`),
      ...includes, ...sources,
      // Debian's mbedTLS lacks MBEDTLS_PLATFORM_MEMORY: static link, calloc/free wrapped into the session pools.
      "-Wl,--wrap=calloc", "-Wl,--wrap=free", "-Wl,-Bstatic", "-lmbedtls", "-lmbedx509", "-lmbedcrypto", "-Wl,-Bdynamic",
      "-o", out,
    ],
    { cwd: repoRoot, stdio: "pipe" },
  );
}

// ---------------------------------------------------------------- keys and certificates

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: PKI, stdio: "pipe" });
}

function ecKey(name: string): void {
  openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
}

function selfSigned(name: string, cn: string): void {
  ecKey(name);
  openssl("req", "-new", "-x509", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-days", "2", "-out", `${name}.pem`);
  openssl("x509", "-in", `${name}.pem`, "-outform", "DER", "-out", `${name}.der`);
}

function makePki(): void {
  rmSync(PKI, { recursive: true, force: true });
  mkdirSync(PKI, { recursive: true });
  selfSigned("srv", "dtls-server");
  selfSigned("other", "dtls-server"); // same name, different key: must be refused
  selfSigned("cli", "meter-1");
  openssl("pkcs8", "-topk8", "-nocrypt", "-in", "cli.key", "-outform", "DER", "-out", "cli.key.der");
  selfSigned("ca", "test-ca");
  ecKey("leaf");
  openssl("req", "-new", "-key", "leaf.key", "-subj", "/CN=leaf-server", "-out", "leaf.csr");
  openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "leaf.pem");
  openssl("x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der");
}

const pki = (f: string): string => join(PKI, f);

// ---------------------------------------------------------------- peers

const peers: RigProcess[] = [];
const sockets: Socket[] = [];

async function until(cond: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** libcoap's servers serve DTLS on PORT+1: both must be free. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const p = await freeUdpPort();
    if (p < 65535 && (await canBind("udp", p + 1))) return p;
  }
}

async function startCoapServer(tool: "coap-server-gnutls" | "coap-server-openssl", key: string): Promise<{ port: number; peer: RigProcess }> {
  const port = await freePortPair();
  const peer = spawnLogged(`dtls-${tool}`, [tool, "-A", LOOPBACK, "-p", String(port), "-k", key, "-h", ""]);
  peers.push(peer);
  await until(async () => !peer.running || !(await canBind("udp", port + 1)), `${tool} on ${port + 1}`);
  if (!peer.running) throw new Error(`${tool} exited, see ${peer.logPath}`);
  return { port: port + 1, peer };
}

/** openssl s_server in DTLS mode; every line containing `answerTo` is answered with `reply` on stdin. */
async function startSServer(name: string, args: string[], answerTo = "hello-dtls", reply = "pong-from-openssl"): Promise<{ port: number; peer: RigProcess }> {
  const port = await freeUdpPort();
  const peer = spawnLogged(`dtls-s_server-${name}`, ["openssl", "s_server", "-dtls1_2", "-port", String(port), ...args], { stdin: "pipe" });
  peers.push(peer);
  peer.onLine((line) => {
    if (line.includes(answerTo)) peer.child.stdin?.write(`${reply}\n`);
  });
  await peer.waitForLine("ACCEPT", { timeoutMs: 20_000 });
  return { port, peer };
}

/** A UDP port that takes datagrams and never answers. */
async function blackHole(): Promise<number> {
  const port = await freeUdpPort();
  const s = createSocket("udp4");
  s.on("message", () => {});
  await new Promise<void>((r) => s.bind(port, LOOPBACK, () => r()));
  sockets.push(s);
  return port;
}

async function stopPeer(peer: RigProcess): Promise<void> {
  await peer.stop({ graceMs: 2000 });
}

// ---------------------------------------------------------------- the client

interface ClientRun {
  code: number | null;
  lines: string[];
  connects: { suite: string; id: number; resumed: boolean; handshakeBytes: number; poolPeak: number }[];
  alert?: number;
  coap?: string;
  reply?: string;
}

let runs = 0;

async function client(bin: string, args: string[]): Promise<ClientRun> {
  const p = spawnLogged(`dtls-client-${++runs}`, [bin, ...args]);
  const info = await p.exited;
  const run: ClientRun = { code: info.code, lines: p.lines, connects: [] };
  let current: ClientRun["connects"][number] | undefined;
  for (const line of p.lines) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^connected suite=(\S+) id=0x([0-9A-F]+) resumed=(\d)/))) {
      current = { suite: m[1], id: parseInt(m[2], 16), resumed: m[3] === "1", handshakeBytes: 0, poolPeak: 0 };
      run.connects.push(current);
    } else if ((m = line.match(/^handshake bytes on air: .* total=(\d+)/)) && current) current.handshakeBytes = Number(m[1]);
    else if ((m = line.match(/^pool peak=(\d+)/)) && current) current.poolPeak = Number(m[1]);
    else if ((m = line.match(/^alert (-?\d+)/))) run.alert = Number(m[1]);
    else if ((m = line.match(/^coap response (\S+)/))) run.coap = m[1];
    else if ((m = line.match(/^reply: (.*)/))) run.reply = m[1];
  }
  for (const c of run.connects) console.log(`dtls: ${c.suite} (0x${c.id.toString(16)}) resumed=${c.resumed} handshake ${c.handshakeBytes} bytes on air, pool peak ${c.poolPeak} bytes`);
  if (run.alert !== undefined) console.log(`dtls: refused with ${run.alert}`);
  return run;
}

const psk = (identity: string, hexKey: string): string[] => ["--mode", "psk", "--identity", identity, "--psk-hex", hexKey];
const pskAscii = (identity: string, key: string): string[] => ["--mode", "psk", "--identity", identity, "--psk-ascii", key];

// ---------------------------------------------------------------- tests

describe("DTLS offload (hal/dtls) against real peers", () => {
  it("has the peers it needs (build/setup.sh installs them)", () => {
    expect(havePeers).toBe(true);
  });

  beforeAll(() => {
    writeBoardConfig();
    compile(BIN.client, "test/c/test_dtls_client.c");
    // Short retransmission timers for the cases where the peer goes silent (the production
    // values, 3 s doubling to 48 s and a 93 s cap, are checked with DTLS_SLOW=1).
    compile(BIN.fast, "test/c/test_dtls_client.c", {
      defines: ["DTLS_HS_TIMEOUT_MIN_MS=250", "DTLS_HS_TIMEOUT_MAX_MS=1000", "DTLS_HS_GIVE_UP_MS=4000"],
    });
    compile(BIN.hostLink, "test/c/test_dtls_client.c", {
      defines: ["TEST_VIA_HOST_LINK"],
      sources: ["boards/host/host_link.c", "boards/host/dtls_host.c"],
    });
    compile(BIN.unit, "test/c/test_dtls_unit.c");
    makePki();
  }, 120_000);

  afterAll(async () => {
    for (const p of peers) await stopPeer(p);
    for (const s of sockets) s.close();
  });

  it("pool, alert mapping and API error paths (no peer)", async () => {
    const run = await client(BIN.unit, [String(await freeUdpPort())]);
    expect(run.lines).toContain("all ok");
    expect(run.code).toBe(0);
  });

  describe("coap-server-gnutls (PSK)", () => {
    const key = randomBytes(12).toString("base64url");
    let port = 0;
    let peer: RigProcess;
    beforeAll(async () => ({ port, peer } = await startCoapServer("coap-server-gnutls", key)));
    afterAll(async () => stopPeer(peer));

    it("TLS_PSK_WITH_AES_128_CCM_8: handshake and CoAP GET /.well-known/core", async () => {
      const run = await client(BIN.client, ["--port", String(port), ...pskAscii("meter-1", key), "--suite", "psk-ccm8", "--coap-get", "/.well-known/core"]);
      expect(run.code).toBe(0);
      expect(run.connects[0].id).toBe(SUITE.pskCcm8);
      expect(run.coap).toMatch(/^2\./);
      expect(run.connects[0].handshakeBytes).toBeGreaterThan(400);
      expect(run.connects[0].handshakeBytes).toBeLessThan(800);
    });

    it("TLS_PSK_WITH_AES_128_CBC_SHA256: handshake and CoAP GET /", async () => {
      const run = await client(BIN.client, ["--port", String(port), ...pskAscii("meter-1", key), "--suite", "psk-cbc", "--coap-get", "/"]);
      expect(run.code).toBe(0);
      expect(run.connects[0].id).toBe(SUITE.pskCbc);
      expect(run.coap).toMatch(/^2\./);
    });

    it("through the host board's link driver and hooks, twice on the same credential", async () => {
      const run = await client(BIN.hostLink, ["--port", String(port), ...pskAscii("meter-1", key), "--coap-get", "/", "--again"]);
      expect(run.code).toBe(0);
      expect(run.connects).toHaveLength(2);
      expect(run.lines.filter((l) => l === "pool bytes in use after close: 0")).toHaveLength(2);
    });

    it("wrong PSK: refused with handshake_failure, no hang", async () => {
      const run = await client(BIN.client, ["--port", String(port), ...pskAscii("meter-1", `${key}x`), "--expect", "alert"]);
      expect(run.code).toBe(0);
      expect(run.connects).toHaveLength(0);
      expect(run.alert).toBe(40); // GnuTLS drops the Finished it cannot decrypt, then sends close_notify
    });
  });

  describe("coap-server-openssl (PSK, CCM-8 only)", () => {
    const key = randomBytes(12).toString("base64url");
    let port = 0;
    let peer: RigProcess;
    beforeAll(async () => ({ port, peer } = await startCoapServer("coap-server-openssl", key)));
    afterAll(async () => stopPeer(peer));

    it("handshake, CoAP GET and an abbreviated handshake on reconnect", async () => {
      const run = await client(BIN.client, ["--port", String(port), ...pskAscii("meter-1", key), "--coap-get", "/", "--again"]);
      expect(run.code).toBe(0);
      expect(run.connects.map((c) => c.id)).toEqual([SUITE.pskCcm8, SUITE.pskCcm8]);
      expect(run.connects[1].resumed).toBe(true);
    });
  });

  describe("openssl s_server (PSK)", () => {
    const key = randomBytes(16).toString("hex");
    let port = 0;
    let peer: RigProcess;
    beforeAll(async () => {
      ({ port, peer } = await startSServer("psk", ["-nocert", "-psk", key, "-psk_identity", "meter-1", "-cipher", "PSK-AES128-CCM8:PSK-AES128-CBC-SHA256"]));
    });
    afterAll(async () => stopPeer(peer));

    for (const [suite, id] of [["psk-ccm8", SUITE.pskCcm8], ["psk-cbc", SUITE.pskCbc]] as const) {
      it(`${suite}: handshake, one datagram each way, resumption`, async () => {
        const run = await client(BIN.client, ["--port", String(port), ...psk("meter-1", key), "--suite", suite, "--send", "hello-dtls\n", "--expect-reply", "pong", "--again"]);
        expect(run.code).toBe(0);
        expect(run.connects.map((c) => c.id)).toEqual([id, id]);
        expect(run.connects[1].resumed).toBe(true);
        expect(run.reply).toContain("pong-from-openssl");
      });
    }

    it("wrong PSK: OpenSSL drops the Finished silently, the handshake gives up with HAL_ETIMEDOUT", async () => {
      const wrong = (BigInt(`0x${key}`) ^ 1n).toString(16).padStart(32, "0");
      const run = await client(BIN.fast, ["--port", String(port), ...psk("meter-1", wrong), "--expect", "alert"]);
      expect(run.code).toBe(0);
      expect(run.alert).toBe(HAL_ETIMEDOUT);
    });
  });

  describe("openssl s_server (X.509, ECDSA P-256)", () => {
    const cipher = ["-cipher", "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-SHA256"];
    const own = (): string[] => ["--own-cert", pki("cli.der"), "--own-key", pki("cli.key.der")];

    it("usage 3 (pinned server certificate), client certificate requested, both suites", async () => {
      const { port, peer } = await startSServer("x509-auth", ["-cert", pki("srv.pem"), "-key", pki("srv.key"), "-Verify", "1", "-CAfile", pki("cli.pem"), ...cipher]);
      try {
        for (const [suite, id] of [["ecdsa-ccm8", SUITE.ecdsaCcm8], ["ecdsa-cbc", SUITE.ecdsaCbc]] as const) {
          const run = await client(BIN.client, ["--port", String(port), "--mode", "cert", "--server-cert", pki("srv.der"), "--usage", "3", ...own(), "--suite", suite, "--send", "hello-dtls\n", "--expect-reply", "pong"]);
          expect(run.code).toBe(0);
          expect(run.connects[0].id).toBe(id);
        }
        expect(peer.lines.some((l) => l.includes("subject=CN = meter-1"))).toBe(true);
      } finally {
        await stopPeer(peer);
      }
    });

    it("usage 3: a different certificate is refused with bad_certificate; resumption of the pinned one", async () => {
      const { port, peer } = await startSServer("x509", ["-cert", pki("srv.pem"), "-key", pki("srv.key"), ...cipher]);
      try {
        const bad = await client(BIN.client, ["--port", String(port), "--mode", "cert", "--server-cert", pki("other.der"), ...own(), "--expect", "alert"]);
        expect(bad.code).toBe(0);
        expect(bad.alert).toBe(42);
        const good = await client(BIN.client, ["--port", String(port), "--mode", "cert", "--server-cert", pki("srv.der"), ...own(), "--send", "hello-dtls\n", "--again"]);
        expect(good.code).toBe(0);
        expect(good.connects[1].resumed).toBe(true);
        expect(good.connects[1].handshakeBytes).toBeLessThan(good.connects[0].handshakeBytes);
      } finally {
        await stopPeer(peer);
      }
    });

    it("usage 2 (trust anchor): CA-issued server accepted; unrelated anchor and usage 3 on the CA refused", async () => {
      const { port, peer } = await startSServer("x509-ca", ["-cert", pki("leaf.pem"), "-key", pki("leaf.key"), ...cipher]);
      try {
        const ok = await client(BIN.client, ["--port", String(port), "--mode", "cert", "--server-cert", pki("ca.der"), "--usage", "2", "--send", "hello-dtls\n"]);
        expect(ok.code).toBe(0);
        const pinnedLeaf = await client(BIN.client, ["--port", String(port), "--mode", "cert", "--server-cert", pki("leaf.der"), "--usage", "3", "--send", "hello-dtls\n"]);
        expect(pinnedLeaf.code).toBe(0);
        const wrongAnchor = await client(BIN.client, ["--port", String(port), "--mode", "cert", "--server-cert", pki("srv.der"), "--usage", "2", "--expect", "alert"]);
        expect(wrongAnchor.alert).toBe(42);
        const caPinned = await client(BIN.client, ["--port", String(port), "--mode", "cert", "--server-cert", pki("ca.der"), "--usage", "3", "--expect", "alert"]);
        expect(caPinned.alert).toBe(42);
      } finally {
        await stopPeer(peer);
      }
    });
  });

  describe("silent and unreachable peers", () => {
    it("a peer that never answers: HAL_ETIMEDOUT after the retransmissions", async () => {
      const port = await blackHole();
      const run = await client(BIN.fast, ["--port", String(port), ...psk("meter-1", "00112233445566778899aabbccddeeff"), "--expect", "alert"]);
      expect(run.code).toBe(0);
      expect(run.alert).toBe(HAL_ETIMEDOUT);
    });

    it("nobody on the port: link errors reported, then HAL_ETIMEDOUT", async () => {
      const port = await freeUdpPort();
      const run = await client(BIN.fast, ["--port", String(port), ...psk("meter-1", "00112233445566778899aabbccddeeff"), "--expect", "alert"]);
      expect(run.code).toBe(0);
      expect(run.alert).toBe(HAL_ETIMEDOUT);
      expect(run.lines.some((l) => l.startsWith("link error"))).toBe(true);
    });
  });
});
