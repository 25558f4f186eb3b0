// Device provisioning profiles: the JSON file an operator (or build/factory.ts) writes per
// meter, validated and turned into the console commands that apply it and the values the
// meter must show afterwards.
//
// {
//   "endpoint": "meter-0001",
//   "bootstrap": {                       // the bootstrap-server account (client-initiated bootstrap)
//     "uri": "coaps://bs.example.net:5684",
//     "security": "psk",                 // nosec | psk | x509 (default: nosec for coap://, else
//                                        //   psk when pskIdentity is given, else x509)
//     "pskIdentity": "meter-0001",       // psk: printable ASCII, no spaces, 1..128
//     "pskKeyHex": "00112233...",        // psk: 1..64 bytes, or "pskKeyFile": file holding the hex
//     "certFile": "meter.crt",           // x509: own certificate, PEM or DER
//     "keyFile": "meter.key",            // x509: private key, PEM (PKCS#8 or SEC1) or DER
//     "serverCertFile": "bs.crt",        // x509: server certificate / trust anchor, PEM or DER
//     "certUsage": 3                     // x509, optional: /0/x/15 (0..3)
//   },
//   "servers": [                         // optional: factory management-server accounts
//     { "ssid": 101, "uri": "coaps://dm.example.net:5684", "lifetime": 300, "security": "psk", ... }
//   ]
// }
// Relative file names are relative to the profile file.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fingerprint, isHex, loadDer, toPem } from "./der.ts";

export type SecurityName = "nosec" | "psk" | "x509";
export const MODE_NUMBER: Record<SecurityName, number> = { psk: 0, x509: 2, nosec: 3 };

export interface CredentialFields {
  security?: SecurityName;
  pskIdentity?: string;
  pskKeyHex?: string;
  pskKeyFile?: string;
  certFile?: string;
  keyFile?: string;
  serverCertFile?: string;
  certUsage?: number;
}

export interface BootstrapProfile extends CredentialFields {
  uri: string;
}

export interface ServerProfile extends CredentialFields {
  ssid: number;
  uri: string;
  lifetime?: number;
}

export interface Profile {
  endpoint: string;
  bootstrap?: BootstrapProfile;
  servers?: ServerProfile[];
}

/** Credentials loaded from the profile and its files. Secrets live only in pskKey / key.der. */
export interface Credentials {
  mode: SecurityName;
  identity?: string;
  pskKey?: Buffer;
  cert?: Buffer;
  key?: { der: Buffer; label: string };
  serverCert?: Buffer;
  certUsage?: number;
}

export interface Account {
  /** "bootstrap" or the SSID of a management-server account. */
  who: "bootstrap" | number;
  uri: string;
  lifetime?: number;
  creds: Credentials;
}

export interface ResolvedProfile {
  endpoint: string;
  accounts: Account[];
}

export const DEFAULT_LIFETIME = 86400;

export function checkEndpoint(name: unknown): string {
  if (typeof name !== "string" || name.length < 1 || name.length > 64) return "endpoint must be 1..64 characters";
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    if (c <= 32 || c > 126 || "&?/=".includes(ch)) return `bad character '${ch}' in endpoint name`;
  }
  return "";
}

/** The meter's URI rule (firmware/lwm2m/uri.ts): coap:// or coaps://, host, optional port. */
export function checkUri(uri: unknown): { secure: boolean } | null {
  if (typeof uri !== "string") return null;
  const m = /^(coaps?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/.exec(uri);
  if (!m) return null;
  if (m[3] !== undefined && (+m[3] < 1 || +m[3] > 65535)) return null;
  return { secure: m[1] === "coaps" };
}

export function checkIdentity(id: unknown): string {
  if (typeof id !== "string" || id.length < 1 || id.length > 128) return "pskIdentity must be 1..128 characters";
  for (const ch of id) {
    const c = ch.charCodeAt(0);
    if (c <= 32 || c > 126) return "pskIdentity must be printable ASCII without spaces";
  }
  return "";
}

export function checkPskHex(hex: string): string {
  if (!isHex(hex) || hex.length === 0) return "PSK key must be an even number of hex digits";
  if (hex.length > 128) return `PSK key is ${hex.length / 2} bytes, at most 64`;
  return "";
}

function readFile(base: string, file: unknown, what: string): Buffer {
  if (typeof file !== "string" || !file) throw new Error(`${what} is missing`);
  const path = resolve(base, file);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Loads and checks one account's credentials; throws with a message naming the field. */
export function loadCredentials(f: CredentialFields, uri: string, base: string, at: string): Credentials {
  const u = checkUri(uri);
  if (!u) throw new Error(`${at}.uri: bad URI ${JSON.stringify(uri)} (want coap://host:port or coaps://host:port)`);
  let mode = f.security;
  if (mode === undefined) mode = !u.secure ? "nosec" : f.pskIdentity !== undefined ? "psk" : "x509";
  if (!(mode in MODE_NUMBER)) throw new Error(`${at}.security: unknown mode ${JSON.stringify(mode)} (nosec, psk or x509)`);
  if ((mode === "nosec") === u.secure) throw new Error(`${at}: ${u.secure ? "coaps:// needs psk or x509 security" : "coap:// needs security nosec"}`);
  const extra = (names: (keyof CredentialFields)[]) => {
    for (const n of names) if (f[n] !== undefined) throw new Error(`${at}.${n} does not apply to security ${mode}`);
  };
  if (mode === "nosec") {
    extra(["pskIdentity", "pskKeyHex", "pskKeyFile", "certFile", "keyFile", "serverCertFile", "certUsage"]);
    return { mode };
  }
  if (mode === "psk") {
    extra(["certFile", "keyFile", "serverCertFile", "certUsage"]);
    const why = checkIdentity(f.pskIdentity);
    if (why) throw new Error(`${at}.${why}`);
    if ((f.pskKeyHex === undefined) === (f.pskKeyFile === undefined)) throw new Error(`${at}: give exactly one of pskKeyHex and pskKeyFile`);
    const hex = f.pskKeyHex !== undefined ? String(f.pskKeyHex) : readFile(base, f.pskKeyFile, `${at}.pskKeyFile`).toString("latin1").trim();
    const bad = checkPskHex(hex);
    if (bad) throw new Error(`${at}.${f.pskKeyHex !== undefined ? "pskKeyHex" : "pskKeyFile"}: ${bad}`);
    return { mode, identity: f.pskIdentity as string, pskKey: Buffer.from(hex, "hex") };
  }
  extra(["pskIdentity", "pskKeyHex", "pskKeyFile"]);
  const cert = loadDer(readFile(base, f.certFile, `${at}.certFile`), "certificate", `${at}.certFile`).der;
  const key = loadDer(readFile(base, f.keyFile, `${at}.keyFile`), "key", `${at}.keyFile`);
  const serverCert = loadDer(readFile(base, f.serverCertFile, `${at}.serverCertFile`), "certificate", `${at}.serverCertFile`).der;
  let certUsage: number | undefined;
  if (f.certUsage !== undefined) {
    if (!Number.isInteger(f.certUsage) || f.certUsage < 0 || f.certUsage > 3) throw new Error(`${at}.certUsage must be 0..3`);
    certUsage = f.certUsage;
  }
  return { mode, cert, key, serverCert, certUsage };
}

/** Validates a parsed profile; base is the directory relative file names start from. */
export function resolveProfile(p: Profile, base: string): ResolvedProfile {
  if (typeof p !== "object" || p === null || Array.isArray(p)) throw new Error("profile must be a JSON object");
  for (const k of Object.keys(p)) if (!["endpoint", "bootstrap", "servers", "comment"].includes(k)) throw new Error(`unknown field "${k}"`);
  const bad = checkEndpoint(p.endpoint);
  if (bad) throw new Error(`endpoint: ${bad}`);
  const accounts: Account[] = [];
  const fields = ["uri", "security", "pskIdentity", "pskKeyHex", "pskKeyFile", "certFile", "keyFile", "serverCertFile", "certUsage"];
  if (p.bootstrap !== undefined) {
    const b = p.bootstrap;
    for (const k of Object.keys(b)) if (!fields.includes(k)) throw new Error(`bootstrap: unknown field "${k}"`);
    accounts.push({ who: "bootstrap", uri: b.uri, creds: loadCredentials(b, b.uri, base, "bootstrap") });
  }
  if (p.servers !== undefined) {
    if (!Array.isArray(p.servers)) throw new Error("servers must be an array");
    const seen = new Set<number>();
    p.servers.forEach((s, i) => {
      const at = `servers[${i}]`;
      for (const k of Object.keys(s)) if (![...fields, "ssid", "lifetime"].includes(k)) throw new Error(`${at}: unknown field "${k}"`);
      if (!Number.isInteger(s.ssid) || s.ssid < 1 || s.ssid > 65534) throw new Error(`${at}.ssid must be 1..65534`);
      if (seen.has(s.ssid)) throw new Error(`${at}.ssid ${s.ssid} appears twice`);
      seen.add(s.ssid);
      const lifetime = s.lifetime ?? DEFAULT_LIFETIME;
      if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 0x7fffffff) throw new Error(`${at}.lifetime must be a positive integer`);
      accounts.push({ who: s.ssid, uri: s.uri, lifetime, creds: loadCredentials(s, s.uri, base, at) });
    });
  }
  if (accounts.length === 0) throw new Error("profile has neither a bootstrap account nor servers");
  return { endpoint: p.endpoint, accounts };
}

export function loadProfile(path: string): ResolvedProfile {
  let p: Profile;
  try {
    p = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  try {
    return resolveProfile(p, dirname(resolve(path)));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// What to send and what to expect

export interface Step {
  /** Console lines: one command, or a command followed by PEM lines. */
  lines: string[];
  /** How the step appears in output (never contains a secret). */
  label: string;
  /** Substrings that must never be printed (the secret as sent). */
  secrets: string[];
}

/** Expected `show credentials` line of one account, as key=value pairs. */
export interface ExpectedCredential {
  who: string; // "bootstrap" or "ssid=101"
  values: Record<string, string>;
}

export interface Plan {
  steps: Step[];
  endpoint: string;
  /** Expected `show config` facts. */
  config: { who: string; uri: string; mode: number; lifetime?: number }[];
  credentials: ExpectedCredential[];
  /** Human summary lines (fingerprints only). */
  summary: string[];
}

function pemStep(cmd: string, label: string, der: Buffer, secret: boolean, what: string): Step {
  const pem = toPem(label, der);
  return { lines: [cmd, ...pem], label: what, secrets: secret ? pem.slice(1, -1).filter((l) => l.length >= 8) : [] };
}

export function planProfile(p: ResolvedProfile): Plan {
  const steps: Step[] = [{ lines: [`set endpoint ${p.endpoint}`], label: `set endpoint ${p.endpoint}`, secrets: [] }];
  const config: Plan["config"] = [];
  const credentials: ExpectedCredential[] = [];
  const summary: string[] = [`endpoint ${p.endpoint}`];
  for (const a of p.accounts) {
    const sfx = a.who === "bootstrap" ? "" : ` ${a.who}`;
    const who = a.who === "bootstrap" ? "bootstrap" : `ssid=${a.who}`;
    const c = a.creds;
    const mine: Step[] = [];
    const values: Record<string, string> = { mode: c.mode === "nosec" ? "none" : c.mode };
    const sum: string[] = [`${who} ${a.uri}${a.lifetime !== undefined ? ` lifetime=${a.lifetime}` : ""} security=${c.mode}`];
    if (c.mode !== "nosec") mine.push({ lines: [`set security ${c.mode}${sfx}`], label: `set security ${c.mode}${sfx}`, secrets: [] });
    if (c.mode === "psk") {
      const hex = c.pskKey!.toString("hex");
      mine.push({ lines: [`set psk-identity ${c.identity}${sfx}`], label: `set psk-identity ${c.identity}${sfx}`, secrets: [] });
      mine.push({ lines: [`set psk-key ${hex}${sfx}`], label: `set psk-key <${c.pskKey!.length} bytes>${sfx}`, secrets: [hex] });
      values.identity = c.identity!;
      values.key = fingerprint(c.pskKey!);
      sum.push(`  psk identity ${c.identity}`, `  psk key      ${c.pskKey!.length} bytes, fingerprint ${values.key}`);
    } else if (c.mode === "x509") {
      mine.push(pemStep(`set cert pem${sfx}`, "CERTIFICATE", c.cert!, false, `set cert pem${sfx} <${c.cert!.length} bytes>`));
      mine.push(pemStep(`set key pem${sfx}`, c.key!.label, c.key!.der, true, `set key pem${sfx} <${c.key!.der.length} bytes>`));
      mine.push(pemStep(`set server-cert pem${sfx}`, "CERTIFICATE", c.serverCert!, false, `set server-cert pem${sfx} <${c.serverCert!.length} bytes>`));
      if (c.certUsage !== undefined) mine.push({ lines: [`set cert-usage ${c.certUsage}${sfx}`], label: `set cert-usage ${c.certUsage}${sfx}`, secrets: [] });
      values.cert = fingerprint(c.cert!);
      values.key = fingerprint(c.key!.der);
      values["server-cert"] = fingerprint(c.serverCert!);
      if (c.certUsage !== undefined) values["cert-usage"] = String(c.certUsage);
      sum.push(
        `  certificate  ${c.cert!.length} bytes, fingerprint ${values.cert}`,
        `  private key  ${c.key!.der.length} bytes, fingerprint ${values.key}`,
        `  server cert  ${c.serverCert!.length} bytes, fingerprint ${values["server-cert"]}`,
      );
      if (c.certUsage !== undefined) sum.push(`  cert usage   ${c.certUsage}`);
    }
    if (a.who === "bootstrap") {
      // coaps:// is accepted only once the credentials are complete; for coap:// the URI goes
      // first so that the credentials are no longer in use when they are cleared.
      const uriStep: Step = { lines: [`set bs-uri ${a.uri}`], label: `set bs-uri ${a.uri}`, secrets: [] };
      if (c.mode === "nosec") steps.push(uriStep, { lines: ["clear credentials"], label: "clear credentials", secrets: [] });
      else steps.push(...mine, uriStep);
      credentials.push({ who, values });
    } else {
      // A server account is created first; its credentials are then addressed by its SSID.
      steps.push({ lines: [`set server ${a.who} ${a.uri} ${a.lifetime}`], label: `set server ${a.who} ${a.uri} ${a.lifetime}`, secrets: [] }, ...mine);
      if (c.mode !== "nosec") credentials.push({ who, values });
    }
    config.push({ who, uri: a.uri, mode: MODE_NUMBER[c.mode], lifetime: a.lifetime });
    summary.push(...sum);
  }
  return { steps, endpoint: p.endpoint, config, credentials, summary };
}
