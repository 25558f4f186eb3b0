// Eclipse Leshan as the independent peer: the LwM2M server demo (its own CLI flags and
// REST API) and Leshan's bootstrap server library behind our launcher
// test/rig/leshan/LeshanBootstrapRig.java (configured through the launcher's HTTP API).
// Both run on loopback with ports picked free at run time and are stopped by PID.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, statSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, LOOPBACK } from "./ports.ts";
import { repoRoot, spawnLogged, type RigProcess } from "./processes.ts";

export const LESHAN_VERSION = "2.0.0-M4";
export const LESHAN_ARTIFACT = `org.eclipse.leshan:leshan-server-demo:${LESHAN_VERSION}:jar:jar-with-dependencies`;

const launcherSource = join(repoRoot, "test", "rig", "leshan", "LeshanBootstrapRig.java");
const classesDir = join(repoRoot, "out", "rig", "classes");
/** A fresh working directory per Java process: Californium writes Californium.properties
 * there and the server demo keeps its security store in data/security.data, which must not
 * leak from one run (say, the factory line's import) into the next. */
function javaWorkDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `leshan-${name.replace(/[^A-Za-z0-9_-]/g, "_")}-`));
}

export function leshanJarPath(): string {
  if (process.env.LESHAN_JAR) return process.env.LESHAN_JAR;
  return join(
    homedir(),
    ".m2/repository/org/eclipse/leshan/leshan-server-demo",
    LESHAN_VERSION,
    `leshan-server-demo-${LESHAN_VERSION}-jar-with-dependencies.jar`,
  );
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { cwd: repoRoot, encoding: "utf8" });
  if (r.error) throw new Error(`${what}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

/**
 * Makes sure the Leshan jar is in the local Maven repository (fetched from Maven
 * Central by Maven itself when missing) and that the bootstrap launcher is compiled
 * and newer than its source.
 */
export function ensureLeshan(): { jar: string; classes: string } {
  const jar = leshanJarPath();
  if (!existsSync(jar)) {
    run("mvn", ["-q", "dependency:get", `-Dartifact=${LESHAN_ARTIFACT}`, "-Dtransitive=false"], `fetching ${LESHAN_ARTIFACT}`);
    if (!existsSync(jar)) throw new Error(`Maven reported success but ${jar} is missing`);
  }
  const cls = join(classesDir, "LeshanBootstrapRig.class");
  if (!existsSync(cls) || statSync(cls).mtimeMs < statSync(launcherSource).mtimeMs) {
    mkdirSync(classesDir, { recursive: true });
    run("javac", ["-nowarn", "-d", classesDir, "-cp", jar, launcherSource], "compiling LeshanBootstrapRig.java");
  }
  return { jar, classes: classesDir };
}

async function httpJson<T>(method: string, url: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; json: T }> {
  const init: RequestInit = { method, headers: {} };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = contentType;
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json: json as T };
}

async function waitHttp(url: string, proc: RigProcess, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    if (!proc.running) throw new Error(`${proc.name} exited (code=${proc.exitInfo?.code}) before ${url} answered (see ${proc.logPath})`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${proc.name}: ${url} did not answer within ${timeoutMs} ms (${last}; see ${proc.logPath})`);
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The M4 demo serialises with a Gson that reflects into JDK classes; Java 17 refuses
 * that unless the packages are opened (otherwise GET /api/clients answers 500).
 */
const JAVA17_OPENS = ["java.util", "java.lang", "java.net", "java.time", "java.text"].flatMap((p) => ["--add-opens", `java.base/${p}=ALL-UNNAMED`]);

// ---------------------------------------------------------------------------
// Leshan server demo (REST API of leshan-server-demo 2.0.0-M4, as used by its web UI)

export interface Link {
  url: string;
  attributes: Record<string, string>;
}

/** A registration as the demo's GET /api/clients returns it (fields we use; more exist). */
export interface Registration {
  endpoint: string;
  registrationId: string;
  registrationDate: string;
  lastUpdate: string;
  address: string;
  lwM2mVersion: string;
  lifetime: number;
  bindingMode: string;
  rootPath: string;
  objectLinks: Link[];
  secure: boolean;
  additionalRegistrationAttributes: Record<string, string>;
  [more: string]: unknown;
}

export interface LwM2mResource {
  id: number;
  kind?: "singleResource" | "multiResource";
  type?: string;
  value?: unknown;
  values?: Record<string, unknown>;
}

export interface LwM2mContent {
  id: number;
  kind?: string;
  resources?: LwM2mResource[];
  instances?: LwM2mContent[];
  value?: unknown;
  values?: Record<string, unknown>;
  type?: string;
}

/** What the demo answers for read/write/execute/observe/delete. */
export interface ResponseResult {
  status: string; // e.g. "CONTENT", "CHANGED", "NOT_FOUND"
  valid: boolean;
  success: boolean;
  failure: boolean;
  content?: LwM2mContent;
  errormessage?: string;
  [more: string]: unknown;
}

export type ContentFormatName = "TLV" | "CBOR" | "TEXT" | "OPAQUE" | "SENML_JSON" | "SENML_CBOR" | "JSON";

export interface RequestOptions {
  format?: ContentFormatName;
  /** Leshan's request timeout in seconds (default 10). */
  timeoutS?: number;
}

export class LeshanServer {
  constructor(
    readonly process: RigProcess,
    readonly coapPort: number,
    readonly coapsPort: number,
    readonly webPort: number,
  ) {}

  get coapUri(): string {
    return `coap://${LOOPBACK}:${this.coapPort}`;
  }
  get coapsUri(): string {
    return `coaps://${LOOPBACK}:${this.coapsPort}`;
  }
  /** Base URL of the REST API (…/api). */
  get api(): string {
    return `http://${LOOPBACK}:${this.webPort}/api`;
  }

  private url(ep: string, path: string, opts: RequestOptions = {}, extra = ""): string {
    const p = path.startsWith("/") ? path : `/${path}`;
    const q = [`timeout=${opts.timeoutS ?? 10}`];
    if (opts.format) q.push(`format=${opts.format}`);
    return `${this.api}/clients/${encodeURIComponent(ep)}${p === "/" ? "" : p}${extra}?${q.join("&")}`;
  }

  /** GET /api/clients */
  async clients(): Promise<Registration[]> {
    const r = await httpJson<Registration[]>("GET", `${this.api}/clients`);
    if (r.status !== 200) throw new Error(`GET /api/clients: HTTP ${r.status}`);
    return r.json;
  }

  /** GET /api/clients/<ep>, undefined when not registered. */
  async client(ep: string): Promise<Registration | undefined> {
    const r = await httpJson<Registration>("GET", `${this.api}/clients/${encodeURIComponent(ep)}`);
    // The demo answers 400 "no registered client with id '<ep>'" for an unknown endpoint.
    if (r.status === 404 || (r.status === 200 && r.json == null)) return undefined;
    if (r.status === 400 && /no registered client/i.test(JSON.stringify(r.json))) return undefined;
    if (r.status !== 200) throw new Error(`GET /api/clients/${ep}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

  /** Waits until `ep` is registered (a hang guard, not a timing assertion). */
  waitForClient(ep: string, opts: { timeoutMs?: number; notRegistrationId?: string } = {}): Promise<Registration> {
    return poll(
      `${ep} to register with Leshan`,
      async () => {
        const c = await this.client(ep);
        return c && c.registrationId !== opts.notRegistrationId ? c : undefined;
      },
      opts.timeoutMs ?? 120_000,
    );
  }

  /** Waits until `ep` is no longer registered. */
  waitForNoClient(ep: string, opts: { timeoutMs?: number } = {}): Promise<true> {
    return poll(`${ep} to de-register from Leshan`, async () => ((await this.client(ep)) ? undefined : true), opts.timeoutMs ?? 120_000);
  }

  /** GET /api/clients/<ep>/<path>?format=…&timeout=… (a Read sent to the device). */
  async read(ep: string, path: string, format?: ContentFormatName | RequestOptions): Promise<ResponseResult> {
    const opts = typeof format === "string" ? { format } : format ?? {};
    const r = await httpJson<ResponseResult>("GET", this.url(ep, path, opts));
    return checked(`read ${ep}${path}`, r);
  }

  /**
   * PUT /api/clients/<ep>/<path>: a Write. For a resource the body is
   * {id, value}; for an instance {id, resources:[{id, value}]}; `replace`
   * chooses Replace (true) or Partial Update (false) for instances.
   */
  async write(ep: string, path: string, body: unknown, opts: RequestOptions & { replace?: boolean } = {}): Promise<ResponseResult> {
    let url = this.url(ep, path, opts);
    if (opts.replace !== undefined) url += `&replace=${opts.replace}`;
    const r = await httpJson<ResponseResult>("PUT", url, body);
    return checked(`write ${ep}${path}`, r);
  }

  /** POST /api/clients/<ep>/<path>: an Execute, with optional plain-text arguments. */
  async execute(ep: string, path: string, args = "", opts: RequestOptions = {}): Promise<ResponseResult> {
    const r = await httpJson<ResponseResult>("POST", this.url(ep, path, opts), args, "text/plain");
    return checked(`execute ${ep}${path}`, r);
  }

  /** POST /api/clients/<ep>/<path>/observe */
  async observe(ep: string, path: string, opts: RequestOptions = {}): Promise<ResponseResult> {
    const r = await httpJson<ResponseResult>("POST", this.url(ep, path, opts, "/observe"));
    return checked(`observe ${ep}${path}`, r);
  }

  /** DELETE /api/clients/<ep>/<path>/observe (passive cancel in Leshan). */
  async cancelObserve(ep: string, path: string): Promise<void> {
    const p = path.startsWith("/") ? path : `/${path}`;
    const r = await httpJson<unknown>("DELETE", `${this.api}/clients/${encodeURIComponent(ep)}${p}/observe`);
    if (r.status >= 300) throw new Error(`cancel observe ${ep}${path}: HTTP ${r.status}`);
  }

  /** GET /api/clients/<ep>/<path>/discover: a Discover; the answer carries `objectLinks`
   * (each {url, attributes}: the link's attributes as the client sent them, e.g. pmin, dim). */
  async discover(ep: string, path: string, opts: RequestOptions = {}): Promise<ResponseResult & { objectLinks?: Link[] }> {
    const r = await httpJson<ResponseResult & { objectLinks?: Link[] }>("GET", this.url(ep, path, opts, "/discover"));
    return checked(`discover ${ep}${path}`, r) as ResponseResult & { objectLinks?: Link[] };
  }

  /**
   * PUT /api/clients/<ep>/<path>/attributes?pmin=…&pmax=…: a Write-Attributes. The demo parses the
   * whole query string as the attribute set (Leshan's AttributeSet.parse), so no timeout or
   * format parameter goes with it (its default timeout applies).
   */
  async writeAttributes(ep: string, path: string, attributes: Record<string, number | string>): Promise<ResponseResult> {
    const p = path.startsWith("/") ? path : `/${path}`;
    const q = Object.entries(attributes).map(([k, v]) => `${k}=${v}`).join("&");
    const r = await httpJson<ResponseResult>("PUT", `${this.api}/clients/${encodeURIComponent(ep)}${p}/attributes?${q}`);
    return checked(`write-attributes ${ep}${path}?${q}`, r);
  }

  /** PUT /api/clients/<ep>/<resource path> with a text/plain body: the demo makes it a String
   * resource and Leshan encodes it in `format` (a Write whose value the client has to parse). */
  async writeText(ep: string, path: string, text: string, opts: RequestOptions = {}): Promise<ResponseResult> {
    const r = await httpJson<ResponseResult>("PUT", this.url(ep, path, opts), text, "text/plain");
    return checked(`write ${ep}${path} (text)`, r);
  }

  /** POST /api/clients/<ep>/<object path> with an object instance {id, resources: [...]}: a Create. */
  async create(ep: string, path: string, instance: unknown, opts: RequestOptions = {}): Promise<ResponseResult> {
    const r = await httpJson<ResponseResult>("POST", this.url(ep, path, opts), instance);
    return checked(`create ${ep}${path}`, r);
  }

  /** GET /api/event?ep=<ep>: the demo's server-sent events for one endpoint (REGISTRATION,
   * UPDATED, DEREGISTRATION, NOTIFICATION, and COAPLOG for every CoAP message to or from it). */
  async events(ep: string): Promise<LeshanEvents> {
    const ev = new LeshanEvents(`${this.api}/event?ep=${encodeURIComponent(ep)}`);
    await ev.open();
    return ev;
  }

  /** DELETE /api/clients/<ep>/<path>: a Delete of an object instance. */
  async delete(ep: string, path: string, opts: RequestOptions = {}): Promise<ResponseResult> {
    const r = await httpJson<ResponseResult>("DELETE", this.url(ep, path, opts));
    return checked(`delete ${ep}${path}`, r);
  }

  /** PUT /api/security/clients/: adds (or replaces) the endpoint's entry in the demo's
   * security store. PSK keys are hex; an x509 entry trusts any certificate that chains to
   * the server's truststore and whose CN is the endpoint name. */
  async addSecurity(info: LeshanSecurityInfo): Promise<void> {
    const r = await httpJson<unknown>("PUT", `${this.api}/security/clients/`, info);
    if (r.status >= 300) throw new Error(`PUT /api/security/clients/ for ${info.endpoint}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  }

  /** GET /api/security/clients: the demo's security store. */
  async securityInfos(): Promise<LeshanSecurityInfo[]> {
    const r = await httpJson<LeshanSecurityInfo[]>("GET", `${this.api}/security/clients`);
    if (r.status !== 200) throw new Error(`GET /api/security/clients: HTTP ${r.status}`);
    return r.json;
  }

  /** DELETE /api/security/clients/<ep>. */
  async removeSecurity(ep: string): Promise<void> {
    const r = await httpJson<unknown>("DELETE", `${this.api}/security/clients/${encodeURIComponent(ep)}`);
    if (r.status >= 300 && r.status !== 404) throw new Error(`DELETE /api/security/clients/${ep}: HTTP ${r.status}`);
  }

  /** GET /api/security/server: the demo's own credential ({certificate: {...}} with -cert, else {pubkey: {...}}). */
  async serverSecurity(): Promise<Record<string, unknown>> {
    const r = await httpJson<Record<string, unknown>>("GET", `${this.api}/security/server`);
    if (r.status !== 200) throw new Error(`GET /api/security/server: HTTP ${r.status}`);
    return r.json;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

/** One server-sent event of the demo (`data` parsed as JSON). `receivedAt`: rig clock, for
 * diagnostics only (assertions use Leshan's own COAPLOG timestamps or the meter's values). */
export interface LeshanEvent {
  type: string;
  data: any;
  receivedAt: number;
}

/** A CoAP message as the demo reports it in a COAPLOG event (Californium's view). */
export interface CoapLogEntry {
  /** Leshan's clock, ms since the epoch, when the message was received or sent. */
  timestamp: number;
  /** true: from the client to Leshan. */
  incoming: boolean;
  type: string; // CON, NON, ACK, RST
  code: string;
  mId: number;
  token: string;
  options: string;
  payload: string;
  ep: string;
}

/** The demo's event stream for one endpoint, collected from open() until close(). */
export class LeshanEvents {
  readonly all: LeshanEvent[] = [];
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  private done: Promise<void> | undefined;

  constructor(readonly url: string) {}

  async open(): Promise<void> {
    const res = await fetch(this.url, { signal: this.abort.signal, headers: { Accept: "text/event-stream" } });
    if (!res.ok || !res.body) throw new Error(`GET ${this.url}: HTTP ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    this.done = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let end: number;
          while ((end = buf.indexOf("\n\n")) >= 0) {
            this.dispatch(buf.slice(0, end));
            buf = buf.slice(end + 2);
          }
        }
      } catch {
        // aborted by close(), or the demo went away
      }
    })();
  }

  private dispatch(block: string): void {
    let type = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) type = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return;
    let parsed: unknown = data.join("\n");
    try {
      parsed = JSON.parse(parsed as string);
    } catch {
      // kept as text
    }
    this.all.push({ type, data: parsed, receivedAt: Date.now() });
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Events of one type so far. */
  of(type: string): LeshanEvent[] {
    return this.all.filter((e) => e.type === type);
  }

  /** The CoAP messages so far (COAPLOG events). */
  coap(): CoapLogEntry[] {
    return this.of("COAPLOG").map((e) => e.data as CoapLogEntry);
  }

  /** Index the next event will have. */
  mark(): number {
    return this.all.length;
  }

  /** Resolves with the events from `since` on once `pred` holds for them (a hang guard, not a timing assertion). */
  async waitFor(what: string, pred: (events: LeshanEvent[]) => boolean, opts: { since?: number; timeoutMs?: number } = {}): Promise<LeshanEvent[]> {
    const end = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      const list = this.all.slice(opts.since ?? 0);
      if (pred(list)) return list;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for Leshan events: ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

/** An entry of the server demo's security store (M4 JSON: SecurityDeserializer). */
export type LeshanSecurityInfo =
  | { endpoint: string; psk: { identity: string; key: string } }
  | { endpoint: string; x509: true };

function checked(what: string, r: { status: number; json: ResponseResult }): ResponseResult {
  // The demo answers 200 with {status, valid, success, ...} when the device answered,
  // and 4xx/5xx with a plain message when the request could not be sent or timed out.
  if (r.status !== 200) {
    const msg = typeof r.json === "object" && r.json ? JSON.stringify(r.json) : String(r.json);
    throw new Error(`Leshan ${what}: HTTP ${r.status} ${msg}`);
  }
  return r.json;
}

/** Value of resource `id` in a Read result of an object instance. */
export function resourceValue(res: ResponseResult, id: number): unknown {
  const r = res.content?.resources?.find((x) => x.id === id);
  return r?.value ?? r?.values;
}

/** The server demo's own X.509 identity (its -cert/-prik/-truststore options). Without it the
 * demo uses its embedded self-signed certificate and trusts every client certificate. */
export interface LeshanX509Options {
  /** Certificate or chain, PEM or DER. */
  certFile: string;
  /** Private key, PKCS#8 DER. */
  keyFile: string;
  /** A root certificate to trust (DER), a folder of them, or a PKCS#12 trust store URI. */
  truststore: string;
}

export async function startLeshanServer(opts: { name?: string; timeoutMs?: number; x509?: LeshanX509Options } = {}): Promise<LeshanServer> {
  const { jar } = ensureLeshan();
  const coap = await freePort("udp");
  const coaps = await freePort("udp");
  const web = await freePort("tcp");
  const x509 = opts.x509 ? ["-cert", opts.x509.certFile, "-prik", opts.x509.keyFile, "-truststore", opts.x509.truststore] : [];
  const proc = spawnLogged(opts.name ?? "leshan-server", [
    "java",
    ...JAVA17_OPENS,
    "-jar",
    jar,
    "-lh", LOOPBACK, "-lp", String(coap),
    "-slh", LOOPBACK, "-slp", String(coaps),
    "-wh", LOOPBACK, "-wp", String(web),
    ...x509,
  ], { cwd: javaWorkDir(opts.name ?? "leshan-server") });
  const server = new LeshanServer(proc, coap, coaps, web);
  try {
    await waitHttp(`${server.api}/clients`, proc, opts.timeoutMs ?? 90_000);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return server;
}

// ---------------------------------------------------------------------------
// Bootstrap server (our launcher around Leshan's LeshanBootstrapServer)

export type SecurityModeName = "PSK" | "RPK" | "X509" | "NO_SEC" | "EST";

/** Server object /1 instance (fields of Leshan's BootstrapConfig.ServerConfig). */
export interface BsServerConfig {
  shortId: number;
  lifetime?: number;
  defaultMinPeriod?: number;
  defaultMaxPeriod?: number;
  disableTimeout?: number;
  notifIfDisabled?: boolean;
  binding?: string; // "U", "UQ", ...
  apnLink?: number;
  trigger?: boolean;
  preferredTransport?: "U" | "T" | "S" | "N" | "Q";
  muteSend?: boolean;
}

/** Security object /0 instance. Byte fields are hex strings. */
export interface BsSecurityConfig {
  uri?: string;
  bootstrapServer?: boolean;
  securityMode?: SecurityModeName;
  publicKeyOrId?: string;
  serverPublicKey?: string;
  secretKey?: string;
  serverId?: number;
  clientHoldOffTime?: number;
  bootstrapServerAccountTimeout?: number;
  matchingType?: "EXACT_MATCH" | "SHA256" | "SHA384" | "SHA512";
  sni?: string;
  certificateUsage?: "CA_CONSTRAINT" | "SERVICE_CERTIFICATE_CONSTRAINT" | "TRUST_ANCHOR_ASSERTION" | "DOMAIN_ISSUER_CERTIFICATE";
  cipherSuite?: number;
  oscoreSecurityMode?: number;
}

/** Access Control object /2 instance. */
export interface BsAclConfig {
  objectId: number;
  objectInstanceId: number;
  acls?: Record<string, number>; // ssid -> access bits
  accessControlOwner?: number;
}

/** Requests the launcher sends after Leshan's own, before Bootstrap-Finish. */
export type BsExtraRequest =
  | { op: "discover"; path?: string }
  | { op: "read"; path: string; contentFormat?: ContentFormatName }
  | { op: "delete"; path?: string }
  | { op: "write-server"; instance: number; server: BsServerConfig; contentFormat?: ContentFormatName }
  | { op: "write-security"; instance: number; security: BsSecurityConfig; contentFormat?: ContentFormatName }
  | { op: "write-acl"; instance: number; acl: BsAclConfig; contentFormat?: ContentFormatName }
  /** A single resource, e.g. /1/0/17 (Leshan's ServerConfig has no 13..20); the value's JSON type picks integer, boolean or string. */
  | { op: "write-resource"; path: string; value: number | boolean | string; contentFormat?: ContentFormatName };

/** A per-endpoint bootstrap configuration (Leshan's BootstrapConfig, plus rig options). */
export interface BootstrapConfig {
  /** Paths deleted first, e.g. ["/0", "/1"]. */
  toDelete?: string[];
  /** Security /0 instances by instance id (include the bootstrap account if wanted). */
  security?: Record<number, BsSecurityConfig>;
  /** Server /1 instances by instance id. */
  servers?: Record<number, BsServerConfig>;
  /** Access Control /2 instances by instance id. */
  acls?: Record<number, BsAclConfig>;
  /** Format of the Bootstrap-Writes (default: what the client asked with pct, else TLV). */
  contentFormat?: ContentFormatName;
  /** Leshan discovers /0 first and writes the bootstrap account where the client has it. */
  autoIdForSecurityObject?: boolean;
  /** Skip Leshan's ConfigurationChecker: send a deliberately inconsistent configuration. */
  unchecked?: boolean;
  extraRequests?: BsExtraRequest[];
  /** The credentials the meter must present to the bootstrap server when the configuration does
   * not write the bootstrap account (by default: the bootstrap account in `security`). */
  clientSecurity?: BsSecurityConfig;
  /** Replaces this configuration for the endpoint once a session served with it finishes
   * (or, with withholdFinish, has sent its last request): the next Bootstrap-Request gets it,
   * e.g. a fallback bootstrap after a broken first one. */
  then?: BootstrapConfig;
  /** Send every request of the configuration but never Bootstrap-Finish. Leshan keeps the
   * session open (a new Bootstrap-Request from the endpoint cancels it); the recorded session
   * gets state "withheld" once the last request has its answer. */
  withholdFinish?: boolean;
}

export interface BsRequestRecord {
  kind: "write" | "delete" | "discover" | "read" | "finish";
  path: string | null;
  contentFormat?: string;
  node?: string;
  /** CoAP response code the client returned, e.g. "2.04"; absent if no response. */
  code?: string;
  codeName?: string;
  success?: boolean;
  errorMessage?: string;
  /** Request failure without a response (timeout, ...). */
  error?: string;
  links?: string;
  content?: string;
}

export interface BsSession {
  id: string;
  endpoint: string | null;
  preferredContentFormat: string | null;
  peer: string;
  secure: boolean;
  pskIdentity?: string;
  /** CN of the client certificate of an X.509 session. */
  x509CommonName?: string;
  authorized: boolean;
  contentFormat?: string | null;
  /** "withheld": every request sent and answered, Bootstrap-Finish deliberately not sent
   * (configuration with withholdFinish). */
  state: "started" | "finished" | "failed" | "withheld";
  finishWithheld?: boolean;
  /** Leshan's BootstrapFailureCause when failed. */
  failure?: "UNAUTHORIZED" | "NO_BOOTSTRAP_CONFIG" | "REQUEST_FAILED" | "FINISH_FAILED" | "CANCELLED" | "INTERNAL_SERVER_ERROR";
  noConfig?: boolean;
  requests: BsRequestRecord[];
}

export class LeshanBootstrap {
  constructor(
    readonly process: RigProcess,
    readonly coapPort: number,
    readonly coapsPort: number,
    readonly httpPort: number,
  ) {}

  get coapUri(): string {
    return `coap://${LOOPBACK}:${this.coapPort}`;
  }
  get coapsUri(): string {
    return `coaps://${LOOPBACK}:${this.coapsPort}`;
  }
  /** Base URL of the launcher's HTTP API. */
  get api(): string {
    return `http://${LOOPBACK}:${this.httpPort}`;
  }

  /** PUT /config/<ep>. Throws with Leshan's reason when it rejects the configuration. */
  async setConfig(ep: string, cfg: BootstrapConfig): Promise<void> {
    const r = await httpJson<{ error?: string }>("PUT", `${this.api}/config/${encodeURIComponent(ep)}`, cfg);
    if (r.status !== 200) throw new Error(`bootstrap config for ${ep}: HTTP ${r.status} ${r.json?.error ?? ""}`);
  }

  async deleteConfig(ep: string): Promise<void> {
    const r = await httpJson<unknown>("DELETE", `${this.api}/config/${encodeURIComponent(ep)}`);
    if (r.status !== 200 && r.status !== 404) throw new Error(`DELETE /config/${ep}: HTTP ${r.status}`);
  }

  /** GET /sessions: every bootstrap session so far, oldest first. */
  async sessions(ep?: string): Promise<BsSession[]> {
    const r = await httpJson<BsSession[]>("GET", `${this.api}/sessions`);
    if (r.status !== 200) throw new Error(`GET /sessions: HTTP ${r.status}`);
    return ep === undefined ? r.json : r.json.filter((s) => s.endpoint === ep);
  }

  async clearSessions(): Promise<void> {
    await httpJson<unknown>("DELETE", `${this.api}/sessions`);
  }

  /** Waits until the sessions of `ep` satisfy `pred`; resolves with them. */
  waitForSessions(ep: string, pred: (sessions: BsSession[]) => boolean, opts: { timeoutMs?: number } = {}): Promise<BsSession[]> {
    return poll(
      `bootstrap sessions of ${ep} to match ${pred.toString().slice(0, 80)}`,
      async () => {
        const s = await this.sessions(ep);
        return pred(s) ? s : undefined;
      },
      opts.timeoutMs ?? 120_000,
    );
  }

  /** Waits for the `index`-th (0-based) session of `ep` to end (finished, failed or withheld). */
  waitForSessionEnd(ep: string, opts: { index?: number; timeoutMs?: number } = {}): Promise<BsSession> {
    const index = opts.index ?? 0;
    return poll(
      `bootstrap session #${index} of ${ep} to end`,
      async () => {
        const s = (await this.sessions(ep))[index];
        return s && s.state !== "started" ? s : undefined;
      },
      opts.timeoutMs ?? 300_000,
    );
  }

  /** `x509`: subject of the launcher's own certificate (absent when it serves PSK only). */
  async health(): Promise<{ ok: boolean; coap: number; coaps: number; x509?: string }> {
    return (await httpJson<{ ok: boolean; coap: number; coaps: number; x509?: string }>("GET", `${this.api}/health`)).json;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

/** The launcher's X.509 identity for its CoAPS endpoint, and the certificates it trusts for
 * clients (an X509 bootstrap account then accepts a certificate chaining to one of them whose
 * CN is the endpoint name). */
export interface BootstrapX509Options {
  /** Own certificate or chain (own first), PEM or DER. */
  certFile: string;
  /** Private key, PKCS#8 DER or PEM. */
  keyFile: string;
  /** Trusted certificates (CA or the clients' own), PEM or DER. */
  trust: string[];
}

export async function startLeshanBootstrap(opts: { name?: string; timeoutMs?: number; x509?: BootstrapX509Options } = {}): Promise<LeshanBootstrap> {
  const { jar, classes } = ensureLeshan();
  const coap = await freePort("udp");
  const coaps = await freePort("udp");
  const http = await freePort("tcp");
  const x509 = opts.x509 ? ["--cert", opts.x509.certFile, "--key", opts.x509.keyFile, ...opts.x509.trust.flatMap((t) => ["--trust", t])] : [];
  const proc = spawnLogged(opts.name ?? "leshan-bootstrap", [
    "java",
    "-cp",
    `${jar}:${classes}`,
    "LeshanBootstrapRig",
    "--host", LOOPBACK,
    "--coap-port", String(coap),
    "--coaps-port", String(coaps),
    "--http-port", String(http),
    ...x509,
  ], { cwd: javaWorkDir(opts.name ?? "leshan-bootstrap") });
  try {
    await proc.waitForLine(/^rig-bs ready /, { timeoutMs: opts.timeoutMs ?? 90_000 });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  const bs = new LeshanBootstrap(proc, coap, coaps, http);
  await waitHttp(`${bs.api}/health`, proc, 30_000);
  return bs;
}

/** Hex of a UTF-8 string (PSK identities, keys given as text). */
export function hex(text: string | Uint8Array): string {
  return Buffer.from(text).toString("hex");
}

/**
 * The usual NoSec configuration: delete /0 and /1, write the bootstrap account
 * (unless `bootstrapAccount: false`), one management server account and its /1 instance.
 */
export function nosecConfig(o: {
  bootstrapUri: string;
  serverUri: string;
  ssid?: number;
  lifetime?: number;
  bootstrapAccount?: boolean;
  binding?: string;
}): BootstrapConfig {
  const ssid = o.ssid ?? 101;
  const security: Record<number, BsSecurityConfig> = {};
  if (o.bootstrapAccount !== false) security[0] = { uri: o.bootstrapUri, bootstrapServer: true, securityMode: "NO_SEC" };
  security[1] = { uri: o.serverUri, bootstrapServer: false, securityMode: "NO_SEC", serverId: ssid };
  return {
    toDelete: ["/0", "/1"],
    security,
    servers: { 0: { shortId: ssid, lifetime: o.lifetime ?? 60, binding: o.binding ?? "U", notifIfDisabled: true } },
  };
}

/** Credentials of one account, as the rig hands them to the meter and to Leshan. */
export type AccountCredential =
  | { mode: "nosec" }
  /** identity: UTF-8 text (Leshan requires a UTF-8 PSK identity); key: raw bytes. */
  | { mode: "psk"; identity: string; key: Uint8Array }
  /** DER: own certificate, own private key (PKCS#8, what Leshan's checker wants), the server's
   * certificate; usage: /0/x/15 (default DOMAIN_ISSUER_CERTIFICATE = 3, the server's certificate pinned). */
  | { mode: "x509"; cert: Uint8Array; key: Uint8Array; serverCert: Uint8Array; usage?: BsSecurityConfig["certificateUsage"] };

/** A /0 instance for `uri` with credential `c` (byte fields hex, as the launcher wants them). */
export function securityConfig(uri: string, c: AccountCredential, o: { bootstrapServer?: boolean; serverId?: number } = {}): BsSecurityConfig {
  const base: BsSecurityConfig = { uri, bootstrapServer: o.bootstrapServer ?? false };
  if (o.serverId !== undefined) base.serverId = o.serverId;
  if (c.mode === "nosec") return { ...base, securityMode: "NO_SEC" };
  if (c.mode === "psk") return { ...base, securityMode: "PSK", publicKeyOrId: hex(c.identity), secretKey: Buffer.from(c.key).toString("hex") };
  return {
    ...base,
    securityMode: "X509",
    publicKeyOrId: Buffer.from(c.cert).toString("hex"),
    serverPublicKey: Buffer.from(c.serverCert).toString("hex"),
    secretKey: Buffer.from(c.key).toString("hex"),
    certificateUsage: c.usage ?? "DOMAIN_ISSUER_CERTIFICATE",
  };
}

/**
 * Like nosecConfig, with credentials: delete /0 and /1 (the meter keeps its bootstrap account),
 * write the bootstrap account (unless `bootstrapAccount: false`) with `bootstrap` credentials,
 * one management account with `server` credentials and its /1 instance. The launcher requires
 * the `bootstrap` credentials from the meter either way (PSK identity and key, or a certificate
 * chaining to its --trust whose CN is the endpoint).
 */
export function securedConfig(o: {
  bootstrapUri: string;
  bootstrap: AccountCredential;
  serverUri: string;
  server: AccountCredential;
  ssid?: number;
  lifetime?: number;
  bootstrapAccount?: boolean;
  binding?: string;
}): BootstrapConfig {
  const ssid = o.ssid ?? 101;
  const security: Record<number, BsSecurityConfig> = {};
  const account = securityConfig(o.bootstrapUri, o.bootstrap, { bootstrapServer: true });
  if (o.bootstrapAccount !== false) security[0] = account;
  security[1] = securityConfig(o.serverUri, o.server, { serverId: ssid });
  return {
    toDelete: ["/0", "/1"],
    security,
    servers: { 0: { shortId: ssid, lifetime: o.lifetime ?? 60, binding: o.binding ?? "U", notifIfDisabled: true } },
    // without the bootstrap account in the writes, the launcher still requires its credentials
    ...(o.bootstrapAccount === false && o.bootstrap.mode !== "nosec" ? { clientSecurity: account } : {}),
  };
}

/** The server demo's security-store entry for an endpoint with credential c (none for NoSec). */
export function leshanSecurityFor(endpoint: string, c: AccountCredential): LeshanSecurityInfo | undefined {
  if (c.mode === "psk") return { endpoint, psk: { identity: c.identity, key: Buffer.from(c.key).toString("hex") } };
  if (c.mode === "x509") return { endpoint, x509: true };
  return undefined;
}
