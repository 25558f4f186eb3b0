// DTLS handshakes on the air: what one session costs in datagrams and bytes, each way.
//
// - dtlsRecords() / handshakeTraffic(): reads the DTLS record headers of captured datagrams
//   (test/rig/capture.ts) and sums, per session, the datagrams that carry handshake or
//   ChangeCipherSpec records (application data and alerts are not the handshake). A session
//   starts with a ClientHello after the previous session's Finished (an epoch-1 handshake
//   record), so one capture can hold a full handshake and then an abbreviated (resumed) one.
// - buildHostLinkDtlsClient(): the DTLS test client (test/c/test_dtls_client.c) built the way
//   test/unit/dtls.test.ts builds its TEST_VIA_HOST_LINK variant, i.e. through the host board's
//   own link driver and DTLS hooks (boards/host/host_link.c, dtls_host.c) over hal/dtls, but
//   with the host board's generated board_config.h (out/host/gen: its DTLS session pool, MTU).
// - startDtlsServer(): openssl s_server in DTLS 1.2 mode (PSK or X.509), as the unit test does.
// - measureDtlsHandshakes(): runs the client against s_server through a capturing relay, for
//   PSK (full + resumed) and X.509 ECDSA with both certificates (full + resumed).
// Everything on loopback, ports picked free, processes stopped by PID.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startUdpCapture, type CapturedDatagram } from "./capture.ts";
import { freeUdpPort, LOOPBACK } from "./ports.ts";
import { repoRoot, spawnLogged, type RigProcess } from "./processes.ts";

export const CT = { ccs: 20, alert: 21, handshake: 22, appData: 23 } as const;

export interface DtlsRecord {
  type: number;
  epoch: number;
  length: number;
  /** First handshake message type of a plaintext (epoch 0) handshake record: 1 ClientHello, ... */
  hsType?: number;
}

/** The DTLS 1.0/1.2 records of one datagram (header: type, version, epoch, seq(6), length). */
export function dtlsRecords(d: Buffer): DtlsRecord[] {
  const out: DtlsRecord[] = [];
  let i = 0;
  while (i + 13 <= d.length) {
    const type = d[i];
    const epoch = d.readUInt16BE(i + 3);
    const length = d.readUInt16BE(i + 11);
    const r: DtlsRecord = { type, epoch, length };
    if (type === CT.handshake && epoch === 0 && length > 0 && i + 13 < d.length) r.hsType = d[i + 13];
    out.push(r);
    i += 13 + length;
  }
  return out;
}

export interface HandshakeTraffic {
  up: number;
  down: number;
  upBytes: number;
  downBytes: number;
}

/** Per session (in order): the datagrams carrying handshake/CCS records, each way, and their bytes. */
export function handshakeTraffic(datagrams: CapturedDatagram[]): HandshakeTraffic[] {
  const sessions: HandshakeTraffic[] = [];
  let cur: HandshakeTraffic | null = null;
  let encrypted = false; // the current session has reached epoch 1
  for (const d of datagrams) {
    const recs = dtlsRecords(d.data);
    const clientHello = d.direction === "up" && recs.some((r) => r.hsType === 1);
    if (!cur || (clientHello && encrypted)) {
      if (!clientHello && !cur) continue; // not DTLS from the start of a session
      cur = { up: 0, down: 0, upBytes: 0, downBytes: 0 };
      sessions.push(cur);
      encrypted = false;
    }
    const hs = recs.filter((r) => r.type === CT.handshake || r.type === CT.ccs);
    if (hs.length === 0) continue; // application data, alerts (a late close_notify of the previous session)
    if (hs.some((r) => r.epoch > 0)) encrypted = true; // a Finished: the next ClientHello is a new session
    if (d.direction === "up") {
      cur.up++;
      cur.upBytes += d.bytes;
    } else {
      cur.down++;
      cur.downBytes += d.bytes;
    }
  }
  return sessions;
}

const SUITE_NAMES: Record<number, string> = {
  0xc0a8: "TLS-PSK-WITH-AES-128-CCM-8",
  0x00ae: "TLS-PSK-WITH-AES-128-CBC-SHA256",
  0xc0ae: "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8",
  0xc023: "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA256",
};

/** The cipher suite of the first ServerHello in the capture (plaintext at epoch 0). */
export function serverHelloSuite(datagrams: CapturedDatagram[]): string | undefined {
  for (const d of datagrams) {
    if (d.direction !== "down") continue;
    let i = 0;
    while (i + 13 <= d.data.length) {
      const type = d.data[i];
      const epoch = d.data.readUInt16BE(i + 3);
      const length = d.data.readUInt16BE(i + 11);
      const body = i + 13;
      // handshake header (12) + server_version (2) + random (32), then session_id, cipher_suite
      if (type === CT.handshake && epoch === 0 && d.data[body] === 2 && body + 12 + 34 < d.data.length) {
        const sid = body + 12 + 34;
        const at = sid + 1 + d.data[sid];
        if (at + 2 > d.data.length) return undefined;
        const id = d.data.readUInt16BE(at);
        return SUITE_NAMES[id] ?? `0x${id.toString(16).padStart(4, "0")}`;
      }
      i = body + length;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- the client

function cFiles(dir: string, skip: (f: string) => boolean = () => false): string[] {
  return readdirSync(join(repoRoot, dir))
    .filter((f) => f.endsWith(".c") && !skip(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Builds test/c/test_dtls_client.c over the host board's link driver into outDir; returns its path. */
export function buildHostLinkDtlsClient(outDir: string, genDir = join(repoRoot, "out", "host", "gen")): string {
  if (!existsSync(join(genDir, "board_config.h"))) throw new Error(`${genDir}/board_config.h missing: build the host board first`);
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, "dtls_client_host_link");
  const store = cFiles("hal/store", (f) => f.endsWith("_none.c") || f === "store_report.c");
  const sources = [
    ...cFiles("hal/dtls"), ...store, "hal/src/event_ring.c", "test/c/test_dtls_support.c",
    "boards/host/host_link.c", "boards/host/dtls_host.c", "test/c/test_dtls_client.c",
  ];
  const includes = [genDir, "hal/include", "hal/src", "hal/store", "hal/dtls", "test/c", "boards/host"].map((d) => `-I${d}`);
  execFileSync(
    "gcc",
    [
      "-std=c99", "-Wall", "-Wextra", "-O1", "-g", "-DTEST_VIA_HOST_LINK",
      ...includes, ...sources,
      "-Wl,--wrap=calloc", "-Wl,--wrap=free", "-Wl,-Bstatic", "-lmbedtls", "-lmbedx509", "-lmbedcrypto", "-Wl,-Bdynamic",
      "-o", out,
    ],
    { cwd: repoRoot, stdio: "pipe" },
  );
  return out;
}

export interface ClientResult {
  code: number | null;
  lines: string[];
  /** Per connect: the suite and the offload's own count of handshake bytes (retransmissions included). */
  connects: { suite: string; resumed: boolean; hsSent: number; hsReceived: number }[];
}

export async function runDtlsClient(bin: string, args: string[], logName: string): Promise<ClientResult> {
  const p = spawnLogged(logName, [bin, ...args]);
  const info = await p.exited;
  const res: ClientResult = { code: info.code, lines: p.lines, connects: [] };
  for (const line of p.lines) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^connected suite=(\S+) id=0x[0-9A-F]+ resumed=(\d)/))) res.connects.push({ suite: m[1], resumed: m[2] === "1", hsSent: 0, hsReceived: 0 });
    else if ((m = line.match(/^handshake bytes on air: sent=(\d+) received=(\d+)/)) && res.connects.length) {
      const c = res.connects[res.connects.length - 1];
      c.hsSent = Number(m[1]);
      c.hsReceived = Number(m[2]);
    }
  }
  return res;
}

// ---------------------------------------------------------------- the peer

/** openssl s_server -dtls1_2 on a free loopback port; resolves once it listens. */
export async function startDtlsServer(name: string, args: string[]): Promise<{ port: number; peer: RigProcess }> {
  const port = await freeUdpPort();
  const peer = spawnLogged(name, ["openssl", "s_server", "-dtls1_2", "-accept", `${LOOPBACK}:${port}`, ...args], { stdin: "pipe" });
  await peer.waitForLine("ACCEPT", { timeoutMs: 20_000 });
  return { port, peer };
}

/** ECDSA P-256 self-signed certificates for both ends, PEM and DER, into dir. */
export function makeDtlsPki(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const o = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  for (const [name, cn] of [["srv", "dtls-server"], ["cli", "meter-1"]]) {
    o("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
    o("req", "-new", "-x509", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-days", "2", "-out", `${name}.pem`);
    o("x509", "-in", `${name}.pem`, "-outform", "DER", "-out", `${name}.der`);
  }
  o("pkcs8", "-topk8", "-nocrypt", "-in", "cli.key", "-outform", "DER", "-out", "cli.key.der");
}

export interface HandshakeFigure {
  suite: string;
  /** Full handshake, then the abbreviated one on reconnect (session resumption). */
  full: HandshakeTraffic;
  resumed?: HandshakeTraffic;
  /** hal/dtls's own count for the full handshake (UDP payload bytes, sent / received). */
  offloadBytes: { sent: number; received: number };
}

async function measureOne(bin: string, name: string, serverArgs: string[], clientArgs: string[]): Promise<HandshakeFigure> {
  const { port, peer } = await startDtlsServer(`bench-dtls-s_server-${name}`, serverArgs);
  const capture = await startUdpCapture(port);
  try {
    const run = await runDtlsClient(bin, ["--port", String(capture.port), ...clientArgs, "--again"], `bench-dtls-client-${name}`);
    if (run.code !== 0 || run.connects.length !== 2) throw new Error(`DTLS client (${name}) failed with code ${run.code}:\n${run.lines.join("\n")}`);
    const sessions = handshakeTraffic(capture.datagrams);
    if (sessions.length !== 2) throw new Error(`DTLS ${name}: expected 2 sessions on the air, found ${sessions.length}`);
    return {
      suite: run.connects[0].suite,
      full: sessions[0],
      resumed: run.connects[1].resumed ? sessions[1] : undefined,
      offloadBytes: { sent: run.connects[0].hsSent, received: run.connects[0].hsReceived },
    };
  } finally {
    await capture.stop();
    await peer.stop({ graceMs: 2000 });
  }
}

/**
 * PSK (TLS_PSK_WITH_AES_128_CCM_8) and X.509 (TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, certificate
 * usage 3, client certificate requested) handshakes of the host board's DTLS offload against
 * openssl s_server, counted on the air by a capturing relay.
 */
export async function measureDtlsHandshakes(workDir: string): Promise<{ psk: HandshakeFigure; x509: HandshakeFigure }> {
  const bin = buildHostLinkDtlsClient(workDir);
  const pki = join(workDir, "pki");
  makeDtlsPki(pki);
  const key = randomBytes(16).toString("hex");
  const psk = await measureOne(
    bin, "psk",
    ["-nocert", "-psk", key, "-psk_identity", "meter-1", "-cipher", "PSK-AES128-CCM8"],
    ["--mode", "psk", "--identity", "meter-1", "--psk-hex", key, "--suite", "psk-ccm8"],
  );
  const x509 = await measureOne(
    bin, "x509",
    ["-cert", join(pki, "srv.pem"), "-key", join(pki, "srv.key"), "-Verify", "1", "-CAfile", join(pki, "cli.pem"), "-cipher", "ECDHE-ECDSA-AES128-CCM8"],
    ["--mode", "cert", "--server-cert", join(pki, "srv.der"), "--usage", "3", "--own-cert", join(pki, "cli.der"), "--own-key", join(pki, "cli.key.der"), "--suite", "ecdsa-ccm8"],
  );
  return { psk, x509 };
}
