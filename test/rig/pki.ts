// A throw-away PKI for the X.509 rig runs, made with the openssl command line in a fresh
// directory under out/rig/pki/: one EC P-256 CA and end-entity certificates it signs (the
// Leshan server, the bootstrap server, the meter). Every key is new per call; nothing here is
// meant to outlive the run.
//
// What each side gets:
// - Leshan server demo: -cert <server chain PEM> -prik <server key PKCS#8 DER> -truststore <CA DER>
// - our bootstrap launcher: --cert <bs chain PEM> --key <bs key PKCS#8 DER> --trust <CA DER>
// - the meter: its own certificate and key (DER: console `set cert|key`, bootstrap /0/x/3 and
//   /0/x/5), and the server's own certificate pinned (/0/x/4, certificate usage 3).
//
// Leshan requires the client certificate's CN to be the endpoint name; Californium checks the
// key usage (digitalSignature) and extended key usage (clientAuth for the meter; serverAuth and
// clientAuth for its own certificate, since its connector may also act as a client); mbedTLS on
// the meter checks the server's (serverAuth).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./processes.ts";

export interface Identity {
  /** Subject CN. */
  cn: string;
  /** Certificate, DER. */
  certDer: Buffer;
  /** Private key, PKCS#8 DER (RFC 5958: what Leshan's ConfigurationChecker wants in /0/x/5). */
  keyDer: Buffer;
  /** Files: certificate PEM and DER, certificate chain (own certificate + CA) PEM, key PKCS#8 DER and PEM. */
  certPem: string;
  certDerFile: string;
  chainPem: string;
  keyDerFile: string;
  keyPemFile: string;
}

export interface Pki {
  dir: string;
  ca: { cn: string; certDer: Buffer; certPem: string; certDerFile: string };
  server: Identity;
  bootstrap: Identity;
  /** The meter: CN = endpoint name. */
  client: Identity;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.error) throw new Error(`openssl: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

function newKey(dir: string, name: string): void {
  openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve", "-out", `${name}.key.pem`]);
  openssl(dir, ["pkcs8", "-topk8", "-nocrypt", "-in", `${name}.key.pem`, "-outform", "DER", "-out", `${name}.key.der`]);
}

function leaf(dir: string, name: string, cn: string, usage: "serverAuth" | "clientAuth", days: number): Identity {
  newKey(dir, name);
  const ext = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    // Californium's DTLS connector may act as a client too: it refuses a certificate of its own without clientAuth
    `extendedKeyUsage=${usage === "serverAuth" ? "serverAuth,clientAuth" : "clientAuth"}`,
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid",
    ...(usage === "serverAuth" ? ["subjectAltName=IP:127.0.0.1,DNS:localhost"] : []),
  ];
  writeFileSync(join(dir, `${name}.ext`), ext.join("\n") + "\n");
  openssl(dir, ["req", "-new", "-key", `${name}.key.pem`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
  const serial = "0x" + randomBytes(8).toString("hex").replace(/^./, "1");
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key.pem", "-set_serial", serial, "-days", String(days), "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.pem`]);
  openssl(dir, ["x509", "-in", `${name}.pem`, "-outform", "DER", "-out", `${name}.der`]);
  writeFileSync(join(dir, `${name}.chain.pem`), readFileSync(join(dir, `${name}.pem`), "utf8") + readFileSync(join(dir, "ca.pem"), "utf8"));
  return {
    cn,
    certDer: readFileSync(join(dir, `${name}.der`)),
    keyDer: readFileSync(join(dir, `${name}.key.der`)),
    certPem: join(dir, `${name}.pem`),
    certDerFile: join(dir, `${name}.der`),
    chainPem: join(dir, `${name}.chain.pem`),
    keyDerFile: join(dir, `${name}.key.der`),
    keyPemFile: join(dir, `${name}.key.pem`),
  };
}

/**
 * Makes a CA and the three end-entity identities in a new directory under out/rig/pki/.
 * `clientCn` is the meter's endpoint name.
 */
export function makePki(opts: { clientCn: string; days?: number }): Pki {
  const base = join(repoRoot, "out", "rig", "pki");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, "run-"));
  const days = opts.days ?? 30;
  newKey(dir, "ca");
  openssl(dir, [
    "req", "-x509", "-new", "-key", "ca.key.pem", "-subj", "/CN=meter-rig test CA", "-days", String(days), "-sha256",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-addext", "subjectKeyIdentifier=hash", "-out", "ca.pem",
  ]);
  openssl(dir, ["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
  return {
    dir,
    ca: { cn: "meter-rig test CA", certDer: readFileSync(join(dir, "ca.der")), certPem: join(dir, "ca.pem"), certDerFile: join(dir, "ca.der") },
    server: leaf(dir, "server", "127.0.0.1", "serverAuth", days),
    bootstrap: leaf(dir, "bootstrap", "127.0.0.1", "serverAuth", days),
    client: leaf(dir, "client", opts.clientCn, "clientAuth", days),
  };
}

/** PEM lines of DER bytes (64 characters a line), for the meter's `set cert|key|server-cert pem`. */
export function pemLines(label: string, der: Uint8Array): string[] {
  const b64 = Buffer.from(der).toString("base64");
  const lines = [`-----BEGIN ${label}-----`];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  lines.push(`-----END ${label}-----`);
  return lines;
}
