// Registration client (LwM2M 1.1 section 6.2): one session per configured management server.
// Register, Update before the lifetime runs out, retry per /1/x/17..20, De-register. Requests
// from a registered server go to the DM interface.
import { Scheduler } from "../lib/scheduler";
import { logInf, logWrn } from "../lib/log";
import { CF_LINK } from "../formats/content-format";
import { Link, encodeLinks } from "../formats/link-format";
import { Exchange } from "../coap/endpoint";
import { CoapMessage, POST, DELETE, CREATED, CHANGED, DELETED, LOCATION_PATH, getStringOptions, codeToString } from "../coap/message";
import { utf8Encode } from "../lib/bytes";
import { Registry } from "./registry";
import { Conn } from "./conn";
import { plainLink } from "./content";
import { dmHandle, dmCancel, dmCancelSession } from "./dm";
import { securityForSsid, bootstrapAccount, SEC_URI } from "./objects/security";
import {
  SRV_SSID, SRV_LIFETIME, SRV_BINDING, SRV_INITIAL_DELAY, SRV_BS_ON_FAILURE, SRV_RETRY_COUNT, SRV_RETRY_TIMER,
  SRV_SEQ_DELAY, SRV_SEQ_RETRY,
} from "./objects/server";

const IDLE = 0;
const REGISTERING = 1;
const REGISTERED = 2;
const UPDATING = 3;
const FAILED = 4;
const STATE_NAMES = ["idle", "registering", "registered", "updating", "failed"];
const MOD = "registration";

export interface Session {
  ssid: number;
  srvIid: number;
  uri: string;
  secIid: number;
  state: number;
  conn: Conn | null;
  /** Location path from the server ("rd", "5a3f"). */
  loc: string[];
  tries: number;
  seqs: number;
  timer: number;
  sentLifetime: number;
  sentBinding: string;
  objectsChanged: boolean;
  /** Timer callback: Update when registered, else Register. */
  tick: () => void;
}

let reg: Registry;
let sched: Scheduler;
let endpoint: () => string;
/** Every server failed and one allows it: the app falls back to bootstrap. */
let onAllFailed: () => void;
export const sessions: Session[] = [];
let pendingDereg = 0;
let deregDone: (() => void) | null = null;

export function registrationInit(r: Registry, s: Scheduler, endpointName: () => string, allFailed: () => void): void {
  reg = r;
  sched = s;
  endpoint = endpointName;
  onAllFailed = allFailed;
  sessions.length = 0;
  deregDone = null;
}

export function sessionState(s: Session): string {
  return STATE_NAMES[s.state];
}

/** A /1 resource of the session's server, or dflt. */
export function setting(s: Session, rid: number, dflt: number): number {
  return reg.num(1, s.srvIid, rid, dflt);
}

function binding(s: Session): string {
  return reg.str(1, s.srvIid, SRV_BINDING) || "U";
}

function later(s: Session, seconds: number): void {
  sched.cancel(s.timer);
  s.timer = sched.after(seconds * 1000, s.tick);
}

/** Builds a session per Server instance that has a Security instance and starts them. */
export function startAll(): number {
  stopAll();
  const srv = reg.obj(1);
  for (const inst of srv ? srv.insts : []) addSession(inst.id);
  return sessions.length;
}

function addSession(srvIid: number): void {
  const ssid = reg.num(1, srvIid, SRV_SSID, -1);
  const sec = securityForSsid(reg, ssid);
  if (sec < 0) return;
  const s: Session = {
    ssid: ssid, srvIid: srvIid, secIid: sec, uri: reg.str(0, sec, SEC_URI), state: IDLE, conn: null, loc: [],
    tries: 0, seqs: 0, timer: 0, sentLifetime: 0, sentBinding: "", objectsChanged: false, tick: function () {},
  };
  s.tick = function () {
    if (s.state === REGISTERED) update(s);
    else register(s);
  };
  sessions.push(s);
  later(s, setting(s, SRV_INITIAL_DELAY, 0));
}

export function stopAll(): void {
  for (const s of sessions) {
    dmCancelSession(s);
    sched.cancel(s.timer);
    closeConn(s);
    s.state = IDLE;
  }
  sessions.length = 0;
}

function closeConn(s: Session): void {
  if (s.conn) s.conn.close();
  s.conn = null;
}

/** Registration payload: every object and instance except Security. */
function objectLinks(): Uint8Array {
  const links: Link[] = [{ uri: "/", attrs: [["rt", "oma.lwm2m"], ["ct", 11542]] }];
  for (const o of reg.objs) {
    const oid = o.def.id;
    if (oid === 0) continue;
    if (o.insts.length === 0) links.push(plainLink([oid]));
    for (const inst of o.insts) links.push(plainLink([oid, inst.id]));
  }
  return utf8Encode(encodeLinks(links));
}

function register(s: Session): void {
  dmCancelSession(s);
  closeConn(s);
  s.state = REGISTERING;
  s.loc = [];
  const conn = (s.conn = new Conn(sched, s.uri, s.secIid + 2 /* credential handle of /0/iid */));
  conn.ep.onRequest = function (ex: Exchange) {
    dmHandle(ex, s);
  };
  conn.ep.onObserveCancel = dmCancel;
  conn.onUp = function (ok: boolean) {
    if (!ok) return failed(s, "secure session failed");
    const lt = (s.sentLifetime = setting(s, SRV_LIFETIME, 86400));
    const b = (s.sentBinding = binding(s));
    s.objectsChanged = false;
    const q = ["ep=" + endpoint(), "lt=" + lt, "lwm2m=1.1", "b=" + b];
    conn.request(POST, ["rd"], q, CF_LINK, objectLinks(), function (res, err) {
      registered(s, res, err);
    });
  };
  if (!conn.open()) failed(s, "cannot open link");
}

function outcome(res: CoapMessage | null, err: string | null): string {
  return res ? codeToString(res.code) : (err as string);
}

function registered(s: Session, res: CoapMessage | null, err: string | null): void {
  if (s.state !== REGISTERING) return;
  if (!res || res.code !== CREATED) return failed(s, "register " + outcome(res, err));
  s.loc = getStringOptions(res, LOCATION_PATH);
  s.state = REGISTERED;
  s.tries = s.seqs = 0;
  logInf(MOD, "registered with " + s.uri + " as /" + s.loc.join("/") + " (ep=" + endpoint() + ")");
  scheduleUpdate(s);
}

function scheduleUpdate(s: Session): void {
  const lt = setting(s, SRV_LIFETIME, 86400);
  later(s, Math.max(1, lt > 20 ? Math.min(lt * 0.9, lt - 10) : lt / 2));
}

/** Sends an Update now (Execute /1/x/8, changed objects or lifetime, or the timer). */
function update(s: Session): void {
  if (s.state !== REGISTERED || !s.conn) return;
  sched.cancel(s.timer);
  const q: string[] = [];
  const lt = setting(s, SRV_LIFETIME, 86400);
  const b = binding(s);
  if (lt !== s.sentLifetime) q.push("lt=" + lt);
  if (b !== s.sentBinding) q.push("b=" + b);
  s.sentLifetime = lt;
  s.sentBinding = b;
  const body = s.objectsChanged ? objectLinks() : null;
  s.objectsChanged = false;
  s.state = UPDATING;
  s.conn.request(POST, s.loc, q, body ? CF_LINK : -1, body, function (res, err) {
    updated(s, res, err);
  });
}

function updated(s: Session, res: CoapMessage | null, err: string | null): void {
  if (s.state !== UPDATING) return;
  s.state = REGISTERED;
  if (res && res.code === CHANGED) {
    logInf(MOD, "update ok (" + s.uri + ")");
    return s.objectsChanged ? update(s) : scheduleUpdate(s);
  }
  // Never straight to bootstrap: register again, with the usual retry pacing.
  logWrn(MOD, "update failed (" + outcome(res, err) + "), registering again");
  register(s);
}

/** Schedules an Update to every registered server (or one SSID) as soon as possible. */
export function updateSoon(ssid: number, objectsChanged: boolean): boolean {
  let found = false;
  for (const s of sessions) {
    if (ssid >= 0 && s.ssid !== ssid) continue;
    found = true;
    if (objectsChanged) s.objectsChanged = true;
    if (s.state === REGISTERED) later(s, 0);
  }
  return found;
}

function failed(s: Session, why: string): void {
  closeConn(s);
  s.tries++;
  let delay: number;
  if (s.tries < setting(s, SRV_RETRY_COUNT, 5)) {
    delay = setting(s, SRV_RETRY_TIMER, 60) * Math.pow(2, s.tries - 1);
  } else {
    s.tries = 0;
    s.seqs++;
    if (s.seqs >= setting(s, SRV_SEQ_RETRY, 1)) {
      s.seqs = 0;
      s.state = FAILED;
      logWrn(MOD, "registration with " + s.uri + " failed (" + why + ")");
      return checkAllFailed(s);
    }
    delay = setting(s, SRV_SEQ_DELAY, 86400);
  }
  s.state = IDLE;
  logWrn(MOD, why + " (" + s.uri + "), retry in " + delay + " s");
  later(s, delay);
}

function checkAllFailed(s: Session): void {
  let allowBs = false;
  for (const x of sessions) {
    if (x.state !== FAILED) {
      // Others still running: retry this one after its sequence delay.
      return later(s, setting(s, SRV_SEQ_DELAY, 86400));
    }
    if (setting(x, SRV_BS_ON_FAILURE, 1)) allowBs = true;
  }
  if (allowBs && bootstrapAccount(reg) >= 0) {
    stopAll();
    return onAllFailed();
  }
  for (const x of sessions) {
    x.state = IDLE;
    later(x, setting(x, SRV_SEQ_DELAY, 86400));
  }
}

/** De-registers from every registered server, then calls done (at most 10 s later). */
export function deregisterAll(done: () => void): void {
  deregDone = done;
  pendingDereg = 0;
  for (const s of sessions) deregister(s);
  sched.after(10000, deregTimeout);
  if (pendingDereg === 0) deregistered();
}

function deregister(s: Session): void {
  sched.cancel(s.timer);
  if ((s.state !== REGISTERED && s.state !== UPDATING) || !s.conn) return;
  pendingDereg++;
  s.state = IDLE;
  s.conn.request(DELETE, s.loc, [], -1, null, function (res: CoapMessage | null) {
    if (res && res.code === DELETED) logInf(MOD, "deregistered from " + s.uri);
    else logWrn(MOD, "de-register from " + s.uri + " failed");
    deregistered();
  });
}

function deregTimeout(): void {
  pendingDereg = 0;
  deregistered();
}

function deregistered(): void {
  if (pendingDereg > 0) pendingDereg--;
  const done = deregDone;
  if (pendingDereg > 0 || !done) return;
  deregDone = null;
  stopAll();
  done();
}
