// Client-initiated bootstrap (LwM2M 1.1 section 6.1.3) as an explicit state machine. Every
// write goes to a staged copy of /0 /1 /2; only a Finish that validates commits it.
import { Scheduler } from "../lib/scheduler";
import { logInf, logWrn } from "../lib/log";
import { CF_LINK, CF_SENML_CBOR } from "../formats/content-format";
import { Exchange } from "../coap/endpoint";
import {
  CoapMessage, GET, PUT, POST, DELETE, CHANGED, DELETED, BAD_REQUEST, UNAUTHORIZED, NOT_FOUND,
  METHOD_NOT_ALLOWED, NOT_ACCEPTABLE, INTERNAL_SERVER_ERROR, ACCEPT, CONTENT_FORMAT, URI_PATH, getStringOptions,
  getUintOption, codeToString,
} from "../coap/message";
import { utf8Encode } from "../lib/bytes";
import { wallSeconds } from "../hal/timer";
import { random } from "../hal/rng";
import { Registry, ObjectStore, W_BOOT } from "./registry";
import { Conn, openConn, connRequest, closeConn, uintOpt } from "./conn";
import { requestPath, decodeRequest, respondRead, respondLinks } from "./content";
import { saveConfig } from "./persist";
import { validateConfig } from "./validate";
import { bootstrapAccount, purge, SEC_URI, SEC_BOOTSTRAP, SEC_HOLD_OFF, SEC_SSID } from "./objects/security";
import { SRV_LAST_BS } from "./objects/server";

const IDLE = 0;
const WAIT = 1; // hold-off or backoff before the next request
const REQUEST = 2; // Bootstrap-Request sent
const SESSION = 3; // taking commands from the bootstrap server
const DONE = 4;
/** Names of the states, for status. */
export const BS_STATES = ["idle", "waiting", "requesting", "in session", "done"];

const MOD = "bootstrap";
const EXCHANGE_LIFETIME = 247000;
const BACKOFF_BASE = 60000;
const BACKOFF_CAP = 86400000;

let reg: Registry;
let sched: Scheduler;
/** The endpoint name is read at each request. */
let app: { endpoint: string };
/** Called after a committed Finish. */
let onDone: () => void;
export let state = IDLE;
/** Failed attempts since the last success; drives the backoff. */
let failures = 0;
let conn: Conn | null = null;
let staged: Registry | null = null;
let timer = 0;
let uri = "";

export function bootstrapInit(r: Registry, s: Scheduler, a: { endpoint: string }, done: () => void): void {
  reg = r;
  sched = s;
  app = a;
  onDone = done;
  state = IDLE;
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
  state = WAIT;
  timer = sched.after(now ? 0 : reg.num(0, bs, SEC_HOLD_OFF, 0) * 1000, attempt);
  return true;
}

function teardown(): void {
  sched.cancel(timer);
  staged = null;
  if (conn) closeConn(conn);
  conn = null;
}

function attempt(): void {
  const bs = bootstrapAccount(reg);
  if (bs < 0) {
    state = IDLE;
    return;
  }
  uri = reg.str(0, bs, SEC_URI);
  staged = reg.stage([0, 1, 2]);
  state = REQUEST;
  conn = openConn(sched, uri, 1 /* BS_CREDENTIAL */, null, sendRequest, command);
  if (!conn) fail("cannot reach " + uri);
}

function sendRequest(ok: boolean, c: Conn): void {
  if (!ok) return fail("secure session failed");
  const ep = app.endpoint;
  connRequest(c, POST, ["bs"], ["ep=" + ep, "pct=" + CF_SENML_CBOR], -1, null, requestDone);
  logInf(MOD, "Bootstrap-Request sent to " + uri + " (ep=" + ep + ")");
}

function requestDone(res: CoapMessage | null, err: string | null): void {
  if (state !== REQUEST && state !== SESSION) return;
  if (!res || res.code !== CHANGED) return fail("Bootstrap-Request " + (res ? "refused (" + codeToString(res.code) + ")" : err));
  if (state === REQUEST) session();
}

/** (Re)starts the EXCHANGE_LIFETIME window in which Finish must arrive. */
function session(): void {
  state = SESSION;
  sched.cancel(timer);
  timer = sched.after(EXCHANGE_LIFETIME, fail, "no Finish within 247 s");
}

function fail(reason: string): void {
  teardown();
  failures++;
  const base = Math.min(BACKOFF_BASE * Math.pow(2, failures - 1), BACKOFF_CAP);
  // Jitter in [base/2, 3*base/2) spreads a whole city of meters after a power cut.
  const delay = Math.floor(base / 2 + random() * base);
  logWrn(MOD, reason + "; retry in " + Math.round(delay / 1000) + " s");
  state = WAIT;
  timer = sched.after(delay, attempt);
}

// ---- commands from the bootstrap server ----

function command(ex: Exchange): void {
  const s = staged;
  if (!s || (state !== REQUEST && state !== SESSION)) return ex.respond(METHOD_NOT_ALLOWED);
  session();
  const req = ex.request;
  const code = req.code;
  const segs = getStringOptions(req, URI_PATH);
  if (code === POST && segs.length === 1 && segs[0] === "bs") return finish(ex, s);
  const path = requestPath(req);
  if (!path) return ex.respond(NOT_FOUND);
  if (code === GET) return read(ex, s, path);
  ex.respond(code === PUT ? write(s, path, req) : code === DELETE ? remove(s, path) : METHOD_NOT_ALLOWED);
}

function write(s: Registry, path: number[], req: CoapMessage): number {
  if (path.length === 0) return METHOD_NOT_ALLOWED;
  // 4.05 for objects outside the configuration (Device), 4.04 for unknown ones
  if (!s.obj(path[0])) return reg.obj(path[0]) ? METHOD_NOT_ALLOWED : NOT_FOUND;
  const entries = decodeRequest(reg, path, req);
  return typeof entries === "number" ? entries : s.write(path, entries, W_BOOT);
}

function remove(s: Registry, path: number[]): number {
  const oid = path[0];
  if (path.length > 2) return BAD_REQUEST;
  if (path.length === 0) {
    for (const o of s.objs) purge(s, o.def.id);
  } else if (!s.obj(oid)) {
    // The Device instance (and any object outside the configuration) is never deleted.
    if (!reg.obj(oid)) return NOT_FOUND;
    if (path.length === 2) return BAD_REQUEST;
  } else if (path.length === 1) purge(s, oid);
  else if (oid === 0 && s.get(0, path[1], SEC_BOOTSTRAP) === true) return BAD_REQUEST;
  else s.remove(oid, path[1]);
  return DELETED;
}

function read(ex: Exchange, s: Registry, path: number[]): void {
  const accept = getUintOption(ex.request, ACCEPT);
  if (accept === CF_LINK) {
    if (path.length > 1) return ex.respond(BAD_REQUEST);
    if (path.length === 1 && !reg.obj(path[0])) return ex.respond(NOT_FOUND);
    return respondLinks(ex, discover(s, path));
  }
  if (path.length === 0 || path[0] === 0) return ex.respond(UNAUTHORIZED);
  if (!s.obj(path[0])) return ex.respond(reg.obj(path[0]) ? METHOD_NOT_ALLOWED : NOT_FOUND);
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
      const ssid = oid === 0 ? v[SEC_SSID] : oid === 1 ? v[0] : undefined;
      const u = v[SEC_URI];
      t += ",</" + oid + "/" + inst.id + ">";
      if (typeof ssid === "number" && !(oid === 0 && v[SEC_BOOTSTRAP] === true)) t += ";ssid=" + ssid;
      if (oid === 0 && typeof u === "string") t += ';uri="' + u.split("\\").join("\\\\").split('"').join('\\"') + '"';
    }
  }
  return t.substring(1);
}

function finish(ex: Exchange, s: Registry): void {
  const reason = validateConfig(s);
  if (reason) {
    ex.respond(NOT_ACCEPTABLE, [uintOpt(CONTENT_FORMAT, 0)], utf8Encode(reason));
    logWrn(MOD, "rejected at Finish: " + reason);
    return fail("bootstrap failed");
  }
  const srv = s.obj(1) as ObjectStore; // validated
  const now = wallSeconds();
  if (now > 0) for (const inst of srv.insts) inst.v[SRV_LAST_BS] = now;
  const rc = saveConfig(s);
  if (rc < 0) {
    ex.respond(INTERNAL_SERVER_ERROR);
    return fail("store commit failed (" + rc + ")");
  }
  reg.adopt(s);
  ex.respond(CHANGED);
  logInf(MOD, "finished, configuration committed (" + srv.insts.length + " server(s))");
  // Keep the link a moment so a retransmitted Finish still gets its 2.04 from the dedup cache.
  const c = conn as Conn;
  conn = null;
  teardown();
  state = DONE;
  failures = 0;
  sched.after(30000, closeConn, c);
  onDone();
}
