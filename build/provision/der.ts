// PEM/DER helpers and fingerprints for provisioning. A fingerprint is the first 8 bytes of
// SHA-256 over the exact bytes stored on the meter, printed as 16 lowercase hex characters:
// the meter prints the same for every credential part (for the secret part the C store
// computes it, so the secret itself never reaches the firmware's JavaScript).
import { createHash } from "node:crypto";

export function fingerprint(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

/** True when b is exactly one DER SEQUENCE (tag 0x30, definite length covering all of b). */
export function isDerSequence(b: Uint8Array): boolean {
  if (b.length < 2 || b[0] !== 0x30) return false;
  let len = b[1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || b.length < 2 + n) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[2 + i];
    hdr += n;
  }
  return hdr + len === b.length;
}

export interface PemBlock {
  label: string;
  der: Buffer;
}

/** Every PEM block in text (labels as written, e.g. "CERTIFICATE", "EC PRIVATE KEY"). */
export function parsePem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const body = m[2];
    if (/^[ \t]*[A-Za-z-]+:/m.test(body)) throw new Error(`PEM ${m[1]} has headers (encrypted keys are not supported)`);
    const b64 = body.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error(`PEM ${m[1]}: bad base64`);
    out.push({ label: m[1], der: Buffer.from(b64, "base64") });
  }
  return out;
}

export function toPem(label: string, der: Uint8Array): string[] {
  const b64 = Buffer.from(der).toString("base64");
  const lines = [`-----BEGIN ${label}-----`];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  lines.push(`-----END ${label}-----`);
  return lines;
}

export type DerKind = "certificate" | "key";

/**
 * A certificate or private key given as PEM text or DER bytes, as the DER bytes the meter
 * stores. Keys: PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") as written.
 */
export function loadDer(content: Buffer, kind: DerKind, what: string): { der: Buffer; label: string } {
  const text = content.toString("latin1");
  let der: Buffer;
  let label: string;
  if (text.includes("-----BEGIN ")) {
    const blocks = parsePem(text);
    const want = kind === "certificate" ? (l: string) => l === "CERTIFICATE" : (l: string) => l === "PRIVATE KEY" || l === "EC PRIVATE KEY" || l === "RSA PRIVATE KEY";
    const found = blocks.filter((b) => want(b.label));
    if (found.length === 0) {
      const labels = blocks.map((b) => b.label).join(", ") || "none";
      throw new Error(`${what}: no ${kind === "certificate" ? "CERTIFICATE" : "PRIVATE KEY / EC PRIVATE KEY"} PEM block (found: ${labels})`);
    }
    if (found.length > 1) throw new Error(`${what}: more than one ${found[0].label} block (give exactly one)`);
    der = found[0].der;
    label = found[0].label;
  } else {
    der = content;
    label = kind === "certificate" ? "CERTIFICATE" : derKeyLabel(der);
  }
  if (!isDerSequence(der)) throw new Error(`${what}: not a DER SEQUENCE`);
  if (der.length > 2048) throw new Error(`${what}: ${der.length} bytes, the meter stores at most 2048`);
  return { der, label };
}

/** PKCS#8 starts SEQUENCE { INTEGER 0, SEQUENCE {...} }; SEC1 EC keys SEQUENCE { INTEGER 1, OCTET STRING }. */
function derKeyLabel(der: Buffer): string {
  const hdr = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
  const v = der[hdr] === 0x02 && der[hdr + 1] === 1 ? der[hdr + 2] : -1;
  return v === 1 ? "EC PRIVATE KEY" : "PRIVATE KEY";
}

export function isHex(s: string): boolean {
  return s.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(s);
}
