// Out-of-band provisioning of the meter's credentials over its console (README "Out-of-band
// provisioning"), for the DTLS scenarios and the demo, with the rig's own transcript kept free
// of key material, and `show credentials` parsed back.
//
// The console takes one line of at most 255 characters, so certificates and keys go in as
// `set cert|key|server-cert pem [ssid]` followed by the PEM lines; the meter answers OK (or
// ERROR) once, after the -----END line, so the whole block is sent as one Dut.command.
import { createHash } from "node:crypto";
import { HostDut, QemuDut, type Dut } from "./dut.ts";
import type { AccountCredential } from "./leshan.ts";
import { pemLines } from "./pki.ts";
import type { RigProcess } from "./processes.ts";

/** First 8 bytes of SHA-256, hex: what the meter shows for a secret or certificate part. */
export function fingerprint(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

/**
 * Redacts console input for the log: the value of `set psk-key` and `set key` and the PEM
 * body after `set key pem` become <secret>. Works on multi-line input (a PEM block sent as one
 * command) and keeps state across calls.
 */
export function consoleInputRedactor(): (text: string) => string {
  let inSecretPem = false;
  const one = (line: string): string => {
    const t = line.trim();
    if (inSecretPem) {
      if (/^-----END /.test(t)) inSecretPem = false;
      return /^-----(BEGIN|END) /.test(t) ? line : "<secret>";
    }
    const w = t.split(/\s+/);
    if (w[0] === "set" && (w[1] === "psk-key" || w[1] === "key")) {
      if (w[2] === "pem") {
        inSecretPem = true;
        return line;
      }
      return [w[0], w[1], "<secret>", ...w.slice(3)].join(" ");
    }
    return line;
  };
  return (text) => text.split("\n").map(one).join("\n");
}

/**
 * Makes a process-backed Dut (host, QEMU) note console input in its log file with secrets
 * redacted (dut.ts notes every line sent as it is). Consoles over serial/TCP keep their
 * transcript in memory only and are left alone.
 */
export function redactConsoleLog(dut: Dut): Dut {
  if (!(dut instanceof HostDut || dut instanceof QemuDut)) return dut;
  const redact = consoleInputRedactor();
  const d = dut as unknown as { proc: RigProcess | null; rig: { name: string }; write(line: string): void };
  d.write = (line: string) => {
    const p = d.proc;
    if (!p || !p.running || !p.child.stdin) throw new Error(`${d.rig.name}: not running`);
    p.note(`> ${redact(line)}`);
    p.child.stdin.write(`${line}\n`);
  };
  return dut;
}

/** Console lines that put credential c on an account ([ssid] = management account, else the bootstrap account). */
export function credentialCommands(c: AccountCredential, ssid?: number): string[] {
  const sfx = ssid === undefined ? "" : ` ${ssid}`;
  if (c.mode === "nosec") return [`set security nosec${sfx}`];
  if (c.mode === "psk")
    return [`set security psk${sfx}`, `set psk-identity ${c.identity}${sfx}`, `set psk-key ${Buffer.from(c.key).toString("hex")}${sfx}`];
  const usage = { CA_CONSTRAINT: 0, SERVICE_CERTIFICATE_CONSTRAINT: 1, TRUST_ANCHOR_ASSERTION: 2, DOMAIN_ISSUER_CERTIFICATE: 3 }[c.usage ?? "DOMAIN_ISSUER_CERTIFICATE"];
  return [
    `set security x509${sfx}`,
    [`set cert pem${sfx}`, ...pemLines("CERTIFICATE", c.cert)].join("\n"),
    [`set key pem${sfx}`, ...pemLines("PRIVATE KEY", c.key)].join("\n"),
    [`set server-cert pem${sfx}`, ...pemLines("CERTIFICATE", c.serverCert)].join("\n"),
    `set cert-usage ${usage}${sfx}`,
  ];
}

/**
 * The bootstrap account over the console (GEISA ADM out-of-band provisioning): endpoint name,
 * the credential, then the bootstrap-server URI (a coaps:// URI needs the credential first).
 * The caller reboots.
 */
export async function provisionBootstrapAccount(dut: Dut, o: { endpoint: string; uri: string; credential: AccountCredential }): Promise<void> {
  await dut.command(`set endpoint ${o.endpoint}`);
  for (const line of credentialCommands(o.credential)) await dut.command(line);
  await dut.command(`set bs-uri ${o.uri}`);
}

/** One line of `show credentials`: `cred <handle> <bootstrap|ssid=N> mode=<m> [part=value]...`. */
export interface ShownCredential {
  handle: number;
  account: "bootstrap" | number;
  mode: string;
  identity?: string;
  cert?: string;
  serverCert?: string;
  key?: string;
  certUsage?: number;
  line: string;
}

export function parseShowCredentials(lines: string[]): ShownCredential[] {
  const out: ShownCredential[] = [];
  for (const line of lines) {
    const m = line.match(/^cred (\d+) (bootstrap|ssid=(\d+)) mode=(\S+)(.*)$/);
    if (!m) continue;
    const c: ShownCredential = { handle: Number(m[1]), account: m[3] ? Number(m[3]) : "bootstrap", mode: m[4], line };
    for (const kv of m[5].trim().split(/\s+/).filter(Boolean)) {
      const i = kv.indexOf("=");
      const k = kv.slice(0, i);
      const v = kv.slice(i + 1);
      if (k === "identity") c.identity = v;
      else if (k === "cert") c.cert = v;
      else if (k === "server-cert") c.serverCert = v;
      else if (k === "key") c.key = v;
      else if (k === "cert-usage") c.certUsage = Number(v);
    }
    out.push(c);
  }
  return out;
}

/** What `show credentials` must show for credential c: fingerprints, never a secret. */
export function expectedShown(c: AccountCredential): Partial<ShownCredential> {
  if (c.mode === "psk") return { mode: "psk", identity: c.identity, key: fingerprint(c.key) };
  if (c.mode === "x509")
    return {
      mode: "x509",
      cert: fingerprint(c.cert),
      serverCert: fingerprint(c.serverCert),
      key: fingerprint(c.key),
      certUsage: { CA_CONSTRAINT: 0, SERVICE_CERTIFICATE_CONSTRAINT: 1, TRUST_ANCHOR_ASSERTION: 2, DOMAIN_ISSUER_CERTIFICATE: 3 }[c.usage ?? "DOMAIN_ISSUER_CERTIFICATE"],
    };
  return { mode: "nosec" };
}
