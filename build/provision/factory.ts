// Factory line: a CSV of meters -> one provisioning profile per meter (for build/provision.ts)
// and the matching server-side import for the Leshan server demo's security store.
//
// CSV columns (header row required, any order; only endpoint is mandatory):
//   endpoint          client endpoint name
//   bootstrap_uri     coap:// or coaps:// bootstrap server (client-initiated bootstrap)
//   server_uri        coap:// or coaps:// management server written at the factory
//   ssid              its Short Server ID (needed with server_uri)
//   lifetime          its registration lifetime in seconds (default 86400)
//   security          nosec | psk | x509 (default: from the URIs and the filled columns)
//   psk_identity      PSK identity (psk)
//   psk_key_hex       PSK, hex, at most 64 bytes (psk)
//   cert_file         own certificate, PEM or DER (x509)
//   key_file          private key, PEM or DER (x509)
//   server_cert_file  server certificate to trust, PEM or DER (x509)
//   cert_usage        0..3 (x509, optional)
// One credential set per meter, used by each of its coaps:// accounts. File names are relative
// to the CSV file.
//
// Leshan import (Leshan server demo 2.0.0-M4, PUT /api/security/clients/): one object per
// meter with a secure account: {"endpoint", "psk": {"identity", "key": hex}} or
// {"endpoint", "x509": true} (Leshan then takes the client certificate's CN as the endpoint).
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { csvObjects } from "./csv.ts";
import { type CredentialFields, DEFAULT_LIFETIME, type Profile, resolveProfile, type ResolvedProfile, type SecurityName } from "./profile.ts";

export const COLUMNS = [
  "endpoint",
  "bootstrap_uri",
  "server_uri",
  "ssid",
  "lifetime",
  "security",
  "psk_identity",
  "psk_key_hex",
  "cert_file",
  "key_file",
  "server_cert_file",
  "cert_usage",
];

export type LeshanSecurity = { endpoint: string; psk: { identity: string; key: string } } | { endpoint: string; x509: true };

export interface Device {
  line: number;
  profile: Profile;
  resolved: ResolvedProfile;
  leshan: LeshanSecurity | null;
  warnings: string[];
}

function int(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`${what} must be a whole number, got "${v}"`);
  return +v;
}

/** Builds one meter's profile from a CSV row; file names become relative to outDir. */
function rowProfile(row: Record<string, string>, csvDir: string, outDir: string): Profile {
  const bs = row.bootstrap_uri;
  const dm = row.server_uri;
  if (!bs && !dm) throw new Error("needs bootstrap_uri or server_uri");
  const secure = [bs, dm].some((u) => u && u.startsWith("coaps:"));
  let security = row.security as SecurityName | undefined;
  if (security === undefined && secure) security = row.psk_identity || row.psk_key_hex ? "psk" : "x509";
  const file = (f: string | undefined) => {
    if (f === undefined) return undefined;
    const abs = isAbsolute(f) ? f : resolve(csvDir, f);
    return relative(outDir, abs) || ".";
  };
  const creds = (uri: string): CredentialFields => {
    const c: CredentialFields = {};
    if (!uri.startsWith("coaps:")) {
      c.security = "nosec";
      return c;
    }
    c.security = security;
    if (security === "psk") {
      c.pskIdentity = row.psk_identity;
      c.pskKeyHex = row.psk_key_hex ?? "";
    } else if (security === "x509") {
      c.certFile = file(row.cert_file) ?? "";
      c.keyFile = file(row.key_file) ?? "";
      c.serverCertFile = file(row.server_cert_file) ?? "";
      c.certUsage = int(row.cert_usage, "cert_usage");
    }
    return c;
  };
  if (security === "nosec" && secure) throw new Error("security nosec with a coaps:// URI");
  if (security !== undefined && security !== "nosec" && !secure) throw new Error(`security ${security} but no coaps:// URI`);
  const used = (cols: string[]) => cols.filter((c) => row[c] !== undefined);
  const unused =
    security === "psk"
      ? used(["cert_file", "key_file", "server_cert_file", "cert_usage"])
      : security === "x509"
        ? used(["psk_identity", "psk_key_hex"])
        : used(["psk_identity", "psk_key_hex", "cert_file", "key_file", "server_cert_file", "cert_usage"]);
  if (unused.length) throw new Error(`${unused.join(", ")} given but the meter's security is ${security ?? "nosec"}`);
  const p: Profile = { endpoint: row.endpoint };
  if (bs) p.bootstrap = { uri: bs, ...creds(bs) };
  if (dm) {
    const ssid = int(row.ssid, "ssid");
    if (ssid === undefined) throw new Error("server_uri needs an ssid");
    p.servers = [{ ssid, uri: dm, lifetime: int(row.lifetime, "lifetime") ?? DEFAULT_LIFETIME, ...creds(dm) }];
  } else if (row.ssid !== undefined || row.lifetime !== undefined) throw new Error("ssid/lifetime given without server_uri");
  // Drop undefined fields so the JSON is exactly what matters.
  return JSON.parse(JSON.stringify(p));
}

function commonName(der: Buffer): string | null {
  try {
    const m = /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(der).subject);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/**
 * Reads and checks every row. Throws one Error listing every bad row ("line N: ...") so that
 * nothing is written when any row is bad.
 */
export function readDevices(csvPath: string, outDir: string): Device[] {
  const text = readFileSync(csvPath, "utf8");
  const csvDir = dirname(resolve(csvPath));
  const rows = csvObjects(text, COLUMNS, ["endpoint"]);
  const errors: string[] = [];
  const devices: Device[] = [];
  const endpoints = new Map<string, number>();
  const identities = new Map<string, number>();
  for (const { line, row, error } of rows) {
    try {
      if (error) throw new Error(error);
      if (!row.endpoint) throw new Error("endpoint is empty");
      const dupe = endpoints.get(row.endpoint);
      if (dupe) throw new Error(`endpoint ${row.endpoint} already on line ${dupe}`);
      endpoints.set(row.endpoint, line);
      const profile = rowProfile(row, csvDir, outDir);
      const resolved = resolveProfile(profile, outDir);
      const warnings: string[] = [];
      let leshan: LeshanSecurity | null = null;
      const c = resolved.accounts.find((a) => a.creds.mode !== "nosec")?.creds;
      if (c?.mode === "psk") {
        const other = identities.get(c.identity!);
        if (other) throw new Error(`psk_identity ${c.identity} already on line ${other} (servers look meters up by identity)`);
        identities.set(c.identity!, line);
        leshan = { endpoint: row.endpoint, psk: { identity: c.identity!, key: c.pskKey!.toString("hex") } };
      } else if (c?.mode === "x509") {
        const cn = commonName(c.cert!);
        if (cn !== row.endpoint) warnings.push(`line ${line}: certificate CN is ${cn === null ? "absent" : `"${cn}"`}, Leshan expects the endpoint name "${row.endpoint}"`);
        leshan = { endpoint: row.endpoint, x509: true };
      }
      devices.push({ line, profile, resolved, leshan, warnings });
    } catch (e) {
      errors.push(`line ${line}: ${(e as Error).message}`);
    }
  }
  if (rows.length === 0) errors.push("no device rows after the header");
  if (errors.length) throw new Error(errors.join("\n"));
  return devices;
}

export const LESHAN_IMPORT = "leshan-security.json";

/** Writes <out>/<endpoint>.json per meter and <out>/leshan-security.json (mode 0600: secrets). */
export function writeOutputs(devices: Device[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, data: unknown) => {
    const path = join(outDir, name);
    writeFileSync(path, JSON.stringify(data, null, 2) + "\n", { mode: 0o600 });
    chmodSync(path, 0o600);
    written.push(path);
  };
  for (const d of devices) put(`${d.profile.endpoint}.json`, d.profile);
  put(LESHAN_IMPORT, devices.filter((d) => d.leshan).map((d) => d.leshan));
  return written;
}

/** PUTs every entry to the Leshan server demo's security store; returns the problems. */
export async function applyLeshan(base: string, entries: LeshanSecurity[]): Promise<string[]> {
  const url = base.replace(/\/+$/, "") + "/api/security/clients/";
  const problems: string[] = [];
  for (const e of entries) {
    try {
      const res = await fetch(url, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(e) });
      const text = await res.text();
      if (!res.ok) problems.push(`${e.endpoint}: HTTP ${res.status} ${text.trim().slice(0, 200)}`);
    } catch (err) {
      problems.push(`${e.endpoint}: ${(err as Error).message}`);
    }
  }
  return problems;
}

export function outputExists(outDir: string, devices: Device[]): string[] {
  return [...devices.map((d) => `${d.profile.endpoint}.json`), LESHAN_IMPORT].filter((n) => existsSync(join(outDir, n)));
}
