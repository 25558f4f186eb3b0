// Client-initiated bootstrap (LwM2M 1.1 section 6.1.3) as an explicit state machine. Every
// write goes to a staged copy of /0 /1 /2; only a Finish that validates commits it.
import { Scheduler } from "../lib/scheduler";
import { logInf, logWrn } from "../lib/log";
import { Cf } from "../formats/content-format";
import { Exchange } from "../coap/endpoint";
import { CoapMessage, getStringOptions, getUintOption, codeToString, Coap } from "../coap/message";
import { utf8Encode } from "../lib/bytes";
import { wallSeconds } from "../hal/timer";
import { random } from "../hal/rng";
import { Registry, ObjectStore, Reg } from "./registry";
import { Conn, openConn, connRequest, closeConn, uintOpt } from "./conn";
import { requestPath, decodeRequest, respondRead, respondLinks } from "./content";
import { loadFlags, Flag } from "./persist";
import { validateConfig } from "./validate";
import { commitConfig } from "./credentials";
import { bootstrapAccount, purge, Sec } from "./objects/security";
import { Srv } from "./objects/server";

const enum K {
  IDLE = 0,
  WAIT = 1, // hold-off or backoff before the next request
  REQUEST = 2, // Bootstrap-Request sent
  SESSION = 3, // taking commands from the bootstrap server
  DONE = 4,
  EXCHANGE_LIFETIME = 247000,
  BACKOFF_BASE = 60000,
  BACKOFF_CAP = 86400000,
}

const BS_STATES = ["idle", "waiting", "requesting", "in session", "done"];

/** The state's name, for status. */
export function bootstrapState(): string {
  return BS_STATES[state];
}

const MOD = "bootstrap";

let reg: Registry;
let sched: Scheduler;
/** The endpoint name is read at each request. */
let app: { endpoint: string };
/** Called after a committed Finish. */
/** Starts registration with the configured servers; returns how many it started. */
let onDone: () => number;
let state = K.IDLE;
/** Failed attempts since the last success; drives the backoff. */
let failures = 0;
let conn: Conn | null = null;
let staged: Registry | null = null;
let timer = 0;
let uri = "";

export function bootstrapInit(r: Registry, s: Scheduler, a: { endpoint: string }, done: () => number): void {
  reg = r;
  sched = s;
  app = a;
  onDone = done;
  state = K.IDLE;
  failures = 0;
  conn = staged = null;
  timer = 0;
}

/** Schedules a bootstrap: hold-off (/0/x/11) first, or at once when now is set. */
export function startBootstrap(now?: boolean): boolean {
  const bs = bootstrapAccount(reg);
  if (bs < 0) {
    logWrn(MOD, "no bootstrap account");
    return false;
  }
  teardown();
  failures = 0;
  state = K.WAIT;
  timer = sched.after(now ? 0 : reg.num(0, bs, Sec.SEC_HOLD_OFF, 0) * 1000, attempt);
  return true;
}

function teardown(): void {
  sched.cancel(timer);
  staged = null;
  if (conn) closeConn(conn);
  conn = null;
  closeLingering();
}

/** The link of the last finished bootstrap, kept open a moment after Finish; a new
 * bootstrap closes it first, so two bootstrap links never hold memory at once. */
let lingering: Conn | null = null;

function closeLingering(): void {
  if (lingering) closeConn(lingering);
  lingering = null;
}

function attempt(): void {
  const bs = bootstrapAccount(reg);
  if (bs < 0) {
    state = K.IDLE;
    return;
  }
  uri = reg.str(0, bs, Sec.SEC_URI);
  staged = reg.stage([0, 1, 2]);
  // The "wipe" reading of a re-bootstrap: nothing of the old server accounts is offered to
  // the bootstrap server; by default it keeps them unless the server deletes them.
  if (loadFlags() & Flag.WIPE_ON_REBOOTSTRAP) for (const o of staged.objs) purge(staged, o.def.id);
  state = K.REQUEST;
  conn = openConn(sched, uri, 1 /* BS_CREDENTIAL */, null, sendRequest, command);
  if (!conn) fail("cannot reach " + uri);
}

function sendRequest(ok: boolean, c: Conn): void {
  if (!ok) return fail("secure session failed");
  const ep = app.endpoint;
  connRequest(c, Coap.POST, ["bs"], ["ep=" + ep, "pct=" + Cf.CF_SENML_CBOR], -1, null, requestDone);
  logInf(MOD, "Bootstrap-Request sent to " + uri + " (ep=" + ep + ")");
}

function requestDone(res: CoapMessage | null, err: string | null): void {
  if (state !== K.REQUEST && state !== K.SESSION) return;
  if (!res || res.code !== Coap.CHANGED) return fail("Bootstrap-Request " + (res ? "refused (" + codeToString(res.code) + ")" : err));
  if (state === K.REQUEST) session();
}

/** (Re)starts the EXCHANGE_LIFETIME window in which Finish must arrive. */
function session(): void {
  state = K.SESSION;
  sched.cancel(timer);
  timer = sched.after(K.EXCHANGE_LIFETIME, fail, "no Finish within 247 s");
}

function fail(reason: string): void {
  teardown();
  // The previous configuration is untouched: its servers come first. When they fail too,
  // registration falls back to bootstrap again, paced by /1/x/17-20.
  if (onDone() > 0) {
    state = K.IDLE;
    logWrn(MOD, reason + "; back to the configured servers");
    return;
  }
  failures++;
  const base = Math.min(K.BACKOFF_BASE * Math.pow(2, failures - 1), K.BACKOFF_CAP);
  // Jitter in [base/2, 3*base/2) spreads a whole city of meters after a power cut.
  const delay = Math.floor(base / 2 + random() * base);
  logWrn(MOD, reason + "; retry in " + Math.round(delay / 1000) + " s");
  state = K.WAIT;
  timer = sched.after(delay, attempt);
}

// ---- commands from the bootstrap server ----

function command(ex: Exchange): void {
  const s = staged;
  if (!s || (state !== K.REQUEST && state !== K.SESSION)) return ex.respond(Coap.METHOD_NOT_ALLOWED);
  session();
  const req = ex.request;
  const code = req.code;
  const segs = getStringOptions(req, Coap.URI_PATH);
  if (code === Coap.POST && segs.length === 1 && segs[0] === "bs") return finish(ex, s);
  const path = requestPath(req);
  if (!path) return ex.respond(Coap.NOT_FOUND);
  if (code === Coap.GET) return read(ex, s, path);
  ex.respond(code === Coap.PUT ? write(s, path, req) : code === Coap.DELETE ? remove(s, path) : Coap.METHOD_NOT_ALLOWED);
}

function write(s: Registry, path: number[], req: CoapMessage): number {
  if (path.length === 0) return Coap.METHOD_NOT_ALLOWED;
  // 4.05 for objects outside the configuration (Device), 4.04 for unknown ones
  if (!s.obj(path[0])) return reg.obj(path[0]) ? Coap.METHOD_NOT_ALLOWED : Coap.NOT_FOUND;
  const entries = decodeRequest(reg, path, req);
  return typeof entries === "number" ? entries : s.write(path, entries, Reg.W_BOOT);
}

function remove(s: Registry, path: number[]): number {
  const oid = path[0];
  if (path.length > 2) return Coap.BAD_REQUEST;
  if (path.length === 0) {
    for (const o of s.objs) purge(s, o.def.id);
  } else if (!s.obj(oid)) {
    // The Device instance (and any object outside the configuration) is never deleted.
    if (!reg.obj(oid)) return Coap.NOT_FOUND;
    if (path.length === 2) return Coap.BAD_REQUEST;
  } else if (path.length === 1) purge(s, oid);
  else if (oid === 0 && s.get(0, path[1], Sec.SEC_BOOTSTRAP) === true) return Coap.BAD_REQUEST;
  else s.remove(oid, path[1]);
  return Coap.DELETED;
}

function read(ex: Exchange, s: Registry, path: number[]): void {
  const accept = getUintOption(ex.request, Coap.ACCEPT);
  if (accept === Cf.CF_LINK) {
    if (path.length > 1) return ex.respond(Coap.BAD_REQUEST);
    if (path.length === 1 && !reg.obj(path[0])) return ex.respond(Coap.NOT_FOUND);
    return respondLinks(ex, discover(s, path));
  }
  if (path.length === 0 || path[0] === 0) return ex.respond(Coap.UNAUTHORIZED);
  if (!s.obj(path[0])) return ex.respond(reg.obj(path[0]) ? Coap.METHOD_NOT_ALLOWED : Coap.NOT_FOUND);
  respondRead(ex, s, path, accept, false, -1);
}

/** Bootstrap-Discover: the staged configuration plus the other objects, with ssid and uri. */
function discover(s: Registry, path: number[]): string {
  let t = path.length ? "" : ',</>;lwm2m="1.1"';
  for (const live of reg.objs) {
    const oid = live.def.id;
    if (path.length > 0 && path[0] !== oid) continue;
    const o = s.obj(oid) || live;
    if (o.insts.length === 0) t += ",</" + oid + ">";
    for (const inst of o.insts) {
      const v = inst.v;
      const ssid = oid === 0 ? v[Sec.SEC_SSID] : oid === 1 ? v[0] : undefined;
      const u = v[Sec.SEC_URI];
      t += ",</" + oid + "/" + inst.id + ">";
      if (typeof ssid === "number" && !(oid === 0 && v[Sec.SEC_BOOTSTRAP] === true)) t += ";ssid=" + ssid;
      if (oid === 0 && typeof u === "string") t += ';uri="' + u.split("\\").join("\\\\").split('"').join('\\"') + '"';
    }
  }
  return t.substring(1);
}

function finish(ex: Exchange, s: Registry): void {
  const reason = validateConfig(s);
  if (reason) {
    ex.respond(Coap.NOT_ACCEPTABLE, [uintOpt(Coap.CONTENT_FORMAT, 0)], utf8Encode(reason));
    logWrn(MOD, "rejected at Finish: " + reason);
    return fail("bootstrap failed");
  }
  const srv = s.obj(1) as ObjectStore; // validated
  const now = wallSeconds();
  if (now > 0) for (const inst of srv.insts) inst.v[Srv.SRV_LAST_BS] = now;
  const rc = commitConfig(s, reg);
  if (rc < 0) {
    ex.respond(Coap.INTERNAL_SERVER_ERROR);
    return fail("store commit failed (" + rc + ")");
  }
  ex.respond(Coap.CHANGED);
  logInf(MOD, "finished, configuration committed (" + srv.insts.length + " server(s))");
  // Keep the link a moment so a retransmitted Finish still gets its 2.04 from the dedup cache.
  const c = conn as Conn;
  conn = null;
  teardown();
  lingering = c;
  state = K.DONE;
  failures = 0;
  sched.after(30000, closeLingering);
  onDone();
  armAccountTimeout();
}

let accountTimer = 0;

/** Bootstrap-Server Account Timeout (/0/x/12): the account is purged that many seconds after
 * a successful bootstrap (or, for a meter already configured, after start-up). */
export function armAccountTimeout(): void {
  const bs = bootstrapAccount(reg);
  const t = bs < 0 ? 0 : reg.num(0, bs, Sec.SEC_BS_TIMEOUT, 0);
  sched.cancel(accountTimer);
  if (t > 0) accountTimer = sched.after(t * 1000, purgeAccount);
}

function purgeAccount(): void {
  const bs = bootstrapAccount(reg);
  if (bs < 0 || state === K.REQUEST || state === K.SESSION) return;
  const s = reg.stage([0, 1, 2]);
  s.remove(0, bs);
  const rc = commitConfig(s, reg);
  if (rc < 0) return logWrn(MOD, "purging the bootstrap account failed (" + rc + ")");
  logInf(MOD, "bootstrap account purged (account timeout /0/" + bs + "/12)");
}
