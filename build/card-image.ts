// Smartcard images for the host board's emulated UICC (boards/host/host_card.c), built from a
// bootstrap profile:
//
//   npx tsx build/card-image.ts profile.json out.card [--pad N] [--ef out.bin]
//
// --pad N makes EF LwM2M_Bootstrap N bytes long (0xFF after the data, as a card issuer's
// fixed-size file would be); --ef also writes the bare EF LwM2M_Bootstrap bytes.
//
// Profile (JSON, the shape of a factory provisioning profile; unknown keys inside an instance
// are refused so that a typo does not silently drop a resource):
//   { "endpoint"?: "...",                       (not stored on the card: not an object)
//     "security": [{ "instanceId", "uri", "bootstrap", "mode" (0-4 or psk|rpk|certificate|nosec|est),
//                    "ssid"?, "identity"? (text) | "identityHex"?, "serverPublicKeyHex"?,
//                    "secretKeyHex"?, "holdOffTime"?, "bootstrapAccountTimeout"? }],
//     "server":   [{ "instanceId", "ssid", "lifetime", "binding"? ("U"), "notificationStoring"? (false),
//                    "defaultMinPeriod"?, "defaultMaxPeriod"?, "registrationPriorityOrder"?,
//                    "initialRegistrationDelay"?, "registrationFailureBlock"?,
//                    "bootstrapOnRegistrationFailure"?, "communicationRetryCount"?,
//                    "communicationRetryTimer"?, "communicationSequenceDelayTimer"?,
//                    "communicationSequenceRetryCount"? }] }
//
// EF LwM2M_Bootstrap (LwM2M 1.1 Core, appendix G.3.3), big-endian:
//   numObjects(u16) size(u16) { objectId(u16) version(0x00 | major minor) length(u16) TLV }*
// where size counts the bytes after the 4-byte header and each object's TLV holds its object
// instances (OMA TLV, Core 7.4.3). At most 32 KB. /0 and /1 are written with version 0x00
// (defined in the enabler). The TLV encoder here is written apart from the firmware's codec
// (firmware/formats/tlv.ts) so that each checks the other.
//
// Where the meter finds it (appendix G.1-G.2, as on a real UICC): the PKCS#15 application
// (AID A0 00 00 00 63 50 4B 43 53 2D 31 35) holds
//   EF(ODF)  5031: A7 06 30 04 04 02 64 30         dataObjects -> Path 6430
//   EF(DODF) 6430: A1 { CommonObjectAttributes, CommonDataObjectAttributes(label),
//                       [1] { PKCS15OidDO { OID 2.23.43.9.1, Path 6432 } } }
//   EF LwM2M_Bootstrap 6432
// The meter opens a logical channel, selects the application by AID, reads the ODF, the DODF,
// and then the file the DODF points to. (EF DIR under the MF is not written: the meter uses the
// standard PKCS#15 AID directly, as other LwM2M clients do.)
//
// Card image file (ours, read by boards/host/host_card.c):
//   "UICC" 0x01 aidLength(u8) aid fileCount(u8) { dir(u8: 0 MF, 1 application) fid(u16) size(u16) data }*
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const PKCS15_AID = Uint8Array.from([0xa0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4b, 0x43, 0x53, 0x2d, 0x31, 0x35]);
export const FID_ODF = 0x5031;
export const FID_DODF = 0x6430;
export const FID_BOOTSTRAP = 0x6432;
export const BOOTSTRAP_MAX = 32768;
const LWM2M_BOOTSTRAP_OID = [0x67, 0x2b, 0x09, 0x01]; // 2.23.43.9.1
const IMAGE_MAX = 40 * 1024; // what the host emulation accepts

export interface SecurityProfile {
  instanceId: number;
  uri: string;
  bootstrap: boolean;
  mode: number | string;
  ssid?: number;
  identity?: string;
  identityHex?: string;
  serverPublicKeyHex?: string;
  secretKeyHex?: string;
  holdOffTime?: number;
  bootstrapAccountTimeout?: number;
}

export interface ServerProfile {
  instanceId: number;
  ssid: number;
  lifetime: number;
  binding?: string;
  notificationStoring?: boolean;
  [resource: string]: unknown;
}

export interface BootstrapProfile {
  endpoint?: string;
  security: SecurityProfile[];
  server?: ServerProfile[];
}

// ---------------------------------------------------------------- OMA TLV

type Kind = "string" | "bool" | "int" | "hex" | "text";

function bytesOfInt(v: number): Uint8Array {
  for (const n of [1, 2, 4]) {
    const lim = 2 ** (8 * n - 1);
    if (v >= -lim && v < lim) {
      const b = new Uint8Array(n);
      let x = v < 0 ? v + 2 ** (8 * n) : v;
      for (let i = n - 1; i >= 0; i--) {
        b[i] = x % 256;
        x = Math.floor(x / 256);
      }
      return b;
    }
  }
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(v));
  return b;
}

function valueBytes(kind: Kind, v: unknown, where: string): Uint8Array {
  switch (kind) {
    case "string":
    case "text":
      if (typeof v !== "string") throw new Error(`${where}: want a string`);
      return new TextEncoder().encode(v);
    case "bool":
      if (typeof v !== "boolean") throw new Error(`${where}: want true or false`);
      return Uint8Array.of(v ? 1 : 0);
    case "int":
      if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new Error(`${where}: want an integer`);
      return bytesOfInt(v);
    case "hex":
      if (typeof v !== "string" || !/^([0-9a-fA-F]{2})*$/.test(v)) throw new Error(`${where}: want an even number of hex digits`);
      return Uint8Array.from(Buffer.from(v, "hex"));
  }
}

/** One TLV element: type is 0x00 object instance, 0x40 resource instance, 0x80 multiple resource, 0xC0 resource. */
export function tlvElement(type: number, id: number, value: Uint8Array): Uint8Array {
  if (!(id >= 0 && id <= 0xffff)) throw new Error(`TLV identifier ${id} out of range`);
  const len = value.length;
  if (len > 0xffffff) throw new Error("TLV value too long");
  const head: number[] = [];
  const lengthType = len < 8 ? 0 : len < 0x100 ? 1 : len < 0x10000 ? 2 : 3;
  head.push(type | (id > 0xff ? 0x20 : 0) | (lengthType << 3) | (lengthType === 0 ? len : 0));
  if (id > 0xff) head.push(id >> 8, id & 0xff);
  else head.push(id);
  for (let k = lengthType - 1; k >= 0; k--) head.push((len >> (8 * k)) & 0xff);
  const out = new Uint8Array(head.length + len);
  out.set(head);
  out.set(value, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------- profile -> objects

const MODES: Record<string, number> = { psk: 0, rpk: 1, certificate: 2, nosec: 3, est: 4 };

/** [field, resource id, kind] per object; resources are written in id order. */
const SECURITY_FIELDS: [string, number, Kind][] = [
  ["uri", 0, "string"], ["bootstrap", 1, "bool"], ["mode", 2, "int"], ["identity", 3, "text"],
  ["identityHex", 3, "hex"], ["serverPublicKeyHex", 4, "hex"], ["secretKeyHex", 5, "hex"], ["ssid", 10, "int"],
  ["holdOffTime", 11, "int"], ["bootstrapAccountTimeout", 12, "int"],
];
const SERVER_FIELDS: [string, number, Kind][] = [
  ["ssid", 0, "int"], ["lifetime", 1, "int"], ["defaultMinPeriod", 2, "int"], ["defaultMaxPeriod", 3, "int"],
  ["notificationStoring", 6, "bool"], ["binding", 7, "string"], ["registrationPriorityOrder", 13, "int"],
  ["initialRegistrationDelay", 14, "int"], ["registrationFailureBlock", 15, "bool"],
  ["bootstrapOnRegistrationFailure", 16, "bool"], ["communicationRetryCount", 17, "int"],
  ["communicationRetryTimer", 18, "int"], ["communicationSequenceDelayTimer", 19, "int"],
  ["communicationSequenceRetryCount", 20, "int"],
];

function checkInstanceId(list: { instanceId: number }[], what: string): void {
  const seen = new Set<number>();
  for (const inst of list) {
    const id = inst.instanceId;
    if (!Number.isInteger(id) || id < 0 || id > 65534) throw new Error(`${what}: bad instanceId ${id}`);
    if (seen.has(id)) throw new Error(`${what}: instanceId ${id} twice`);
    seen.add(id);
  }
}

function ssidOk(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65534;
}

/** The TLV object instance of one profile entry; `defaults` fill absent mandatory resources. */
function encodeInstance(where: string, inst: Record<string, unknown>, fields: [string, number, Kind][], defaults: [number, Uint8Array][]): Uint8Array {
  const resources = new Map<number, Uint8Array>(defaults);
  for (const key of Object.keys(inst)) {
    if (key === "instanceId") continue;
    const f = fields.find((x) => x[0] === key);
    if (!f) throw new Error(`${where}: unknown field "${key}"`);
    resources.set(f[1], valueBytes(f[2], inst[key], `${where}.${key}`));
  }
  const ids = [...resources.keys()].sort((a, b) => a - b);
  const body = concat(ids.map((rid) => tlvElement(0xc0, rid, resources.get(rid)!)));
  return tlvElement(0x00, inst.instanceId as number, body);
}

function securityInstance(s: SecurityProfile, i: number): Uint8Array {
  const where = `security[${i}]`;
  if (typeof s.uri !== "string" || !/^coaps?:\/\//.test(s.uri)) throw new Error(`${where}: uri must be coap:// or coaps://`);
  if (typeof s.bootstrap !== "boolean") throw new Error(`${where}: bootstrap must be true or false`);
  const mode = typeof s.mode === "string" ? MODES[s.mode] : s.mode;
  if (mode === undefined || !Number.isInteger(mode) || mode < 0 || mode > 4) throw new Error(`${where}: bad mode ${JSON.stringify(s.mode)}`);
  if (!s.bootstrap && !ssidOk(s.ssid)) throw new Error(`${where}: a server account needs ssid 1..65534`);
  if (s.identity !== undefined && s.identityHex !== undefined) throw new Error(`${where}: identity and identityHex both given`);
  const empty = new Uint8Array(0);
  return encodeInstance(where, { ...s, mode } as Record<string, unknown>, SECURITY_FIELDS, [[3, empty], [4, empty], [5, empty]]);
}

function serverInstance(s: ServerProfile, i: number): Uint8Array {
  const where = `server[${i}]`;
  if (!ssidOk(s.ssid)) throw new Error(`${where}: ssid must be 1..65534`);
  if (typeof s.lifetime !== "number" || s.lifetime <= 0) throw new Error(`${where}: lifetime must be positive`);
  return encodeInstance(where, s as Record<string, unknown>, SERVER_FIELDS, [[6, Uint8Array.of(0)], [7, new TextEncoder().encode("U")]]);
}

/** One object of the EF: objectId, version 0x00 (or major, minor), length, its instances. */
export function bootstrapObject(objectId: number, instances: Uint8Array[], version?: [number, number]): Uint8Array {
  const body = concat(instances);
  if (body.length > 0xffff) throw new Error(`object /${objectId}: ${body.length} bytes, more than a u16 length`);
  const head = [objectId >> 8, objectId & 0xff, ...(version ? version : [0]), body.length >> 8, body.length & 0xff];
  return concat([Uint8Array.from(head), body]);
}

/** EF LwM2M_Bootstrap from already encoded objects. */
export function bootstrapFile(objects: Uint8Array[]): Uint8Array {
  const body = concat(objects);
  if (4 + body.length > BOOTSTRAP_MAX) throw new Error(`bootstrap data of ${4 + body.length} bytes exceeds 32 KB`);
  return concat([Uint8Array.from([objects.length >> 8, objects.length & 0xff, body.length >> 8, body.length & 0xff]), body]);
}

/** EF LwM2M_Bootstrap for a profile: /0 then /1 (left out when the profile has no server). */
export function encodeBootstrapFile(p: BootstrapProfile): Uint8Array {
  if (!p || !Array.isArray(p.security) || p.security.length === 0) throw new Error("profile: security must list at least one account");
  const servers = p.server ?? [];
  if (!Array.isArray(servers)) throw new Error("profile: server must be a list");
  checkInstanceId(p.security, "security");
  checkInstanceId(servers, "server");
  const objects = [bootstrapObject(0, p.security.map(securityInstance))];
  if (servers.length > 0) objects.push(bootstrapObject(1, servers.map(serverInstance)));
  return bootstrapFile(objects);
}

// ---------------------------------------------------------------- PKCS#15 and the image

function der(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(content);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concat([Uint8Array.from([tag, ...len]), body]);
}

function fidBytes(fid: number): Uint8Array {
  return Uint8Array.of(fid >> 8, fid & 0xff);
}

/** EF(ODF): one dataObjects [7] entry pointing at the DODF. */
export function odf(): Uint8Array {
  return der(0xa7, der(0x30, der(0x04, fidBytes(FID_DODF))));
}

/** EF(DODF): one oidDO [1] data object, OID 2.23.43.9.1, pointing at EF LwM2M_Bootstrap. */
export function dodf(): Uint8Array {
  const label = der(0x0c, new TextEncoder().encode("LwM2M Bootstrap"));
  const oidDo = der(0x30, der(0x06, Uint8Array.from(LWM2M_BOOTSTRAP_OID)), der(0x30, der(0x04, fidBytes(FID_BOOTSTRAP))));
  return der(0xa1, der(0x30, label), der(0x30), der(0xa1, oidDo));
}

export interface CardFile {
  dir: "mf" | "app";
  fid: number;
  data: Uint8Array;
}

/** The image file the host board reads (format in the header comment). */
export function cardImage(files: CardFile[], aid: Uint8Array = PKCS15_AID): Uint8Array {
  if (files.length > 16) throw new Error("at most 16 files");
  const parts: Uint8Array[] = [new TextEncoder().encode("UICC"), Uint8Array.of(1, aid.length), aid, Uint8Array.of(files.length)];
  for (const f of files) {
    if (f.data.length > 0xffff) throw new Error(`file ${f.fid.toString(16)} too large`);
    parts.push(Uint8Array.of(f.dir === "mf" ? 0 : 1, f.fid >> 8, f.fid & 0xff, f.data.length >> 8, f.data.length & 0xff), f.data);
  }
  const image = concat(parts);
  if (image.length > IMAGE_MAX) throw new Error(`card image of ${image.length} bytes exceeds ${IMAGE_MAX}`);
  return image;
}

/** The card for an EF LwM2M_Bootstrap, the EF padded with 0xFF to `pad` bytes when given. */
export function bootstrapCard(ef: Uint8Array, pad?: number): Uint8Array {
  let data = ef;
  if (pad !== undefined) {
    if (!Number.isInteger(pad) || pad < ef.length || pad > 0xffff) throw new Error(`--pad must be ${ef.length}..65535`);
    data = new Uint8Array(pad).fill(0xff);
    data.set(ef);
  }
  return cardImage([
    { dir: "app", fid: FID_ODF, data: odf() },
    { dir: "app", fid: FID_DODF, data: dodf() },
    { dir: "app", fid: FID_BOOTSTRAP, data },
  ]);
}

/** 32-bit FNV-1a, the fingerprint the meter keeps of the card's bootstrap data. */
export function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const x of b) h = Math.imul(h ^ x, 16777619) >>> 0;
  return h;
}

// ---------------------------------------------------------------- CLI

function main(argv: string[]): void {
  const args: string[] = [];
  let pad: number | undefined;
  let efOut: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--pad") pad = Number(argv[++i]);
    else if (argv[i] === "--ef") efOut = argv[++i];
    else args.push(argv[i]);
  }
  if (args.length !== 2 || (efOut !== undefined && !efOut)) {
    console.error("usage: npx tsx build/card-image.ts profile.json out.card [--pad N] [--ef out.bin]");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(args[0], "utf8")) as BootstrapProfile;
  const ef = encodeBootstrapFile(profile);
  writeFileSync(args[1], bootstrapCard(ef, pad));
  if (efOut) writeFileSync(efOut, ef);
  const fp = fnv1a(ef).toString(16).padStart(8, "0");
  console.log(`${args[1]}: EF LwM2M_Bootstrap ${ef.length} bytes, ${profile.security.length} security and ${(profile.server ?? []).length} server instance(s), fingerprint ${fp}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`card-image: ${(e as Error).message}`);
    process.exit(1);
  }
}
