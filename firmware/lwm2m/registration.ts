// Registration client (LwM2M 1.1 section 6.2): one session per configured management server.
// Register, Update before the lifetime runs out, retry per /1/x/17..20, De-register. Requests
// from a registered server go to the DM interface.
import { Scheduler } from "../lib/scheduler";
import { logInf, logWrn } from "../lib/log";
import { Cf } from "../formats/content-format";
import { CoapMessage, getStringOptions, codeToString, Coap } from "../coap/message";
import { utf8Encode } from "../lib/bytes";
import { Registry } from "./registry";
import { Conn, openConn, connRequest, closeConn } from "./conn";
import { dmHandle, dmCancel, dmCancelSession } from "./dm";
import { securityForSsid, bootstrapAccount, Sec } from "./objects/security";
import { Srv } from "./objects/server";

const enum K {
  IDLE = 0,
  REGISTERING = 1,
  REGISTERED = 2,
  UPDATING = 3,
  FAILED = 4,
  QUEUED = 5, // waits for the servers before it in Registration Priority Order (/1/x/13)
}

/** Names of the states, for status. */
export const REG_STATES = ["idle", "registering", "registered", "updating", "failed", "queued"];
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
  /** In Registration Priority Order: its first success or failure decides on the next one. */
  gate: boolean;
}

let reg: Registry;
let sched: Scheduler;
/** The endpoint name is read at each request. */
let app: { endpoint: string };
/** Every server failed and one allows it: the app falls back to bootstrap. */
let onAllFailed: () => void;
/** Runs before every Register and Update (app/boot.ts: the smartcard check). */
let onContact: () => void;
export const sessions: Session[] = [];
let pendingDereg = 0;
let deregDone: ((arg?: any) => void) | null = null;
let deregArg: any;

export function registrationInit(r: Registry, s: Scheduler, a: { endpoint: string }, allFailed: () => void, contact: () => void): void {
  reg = r;
  onContact = contact;
  sched = s;
  app = a;
  onAllFailed = allFailed;
  sessions.length = 0;
  deregDone = null;
}

/** A /1 resource of the session's server, or dflt. */
export function setting(s: Session, rid: number, dflt: number): number {
  return reg.num(1, s.srvIid, rid, dflt);
}

/** The timer: Update when registered, else Register. */
function tick(s: Session): void {
  if (s.state === K.REGISTERED) update(s);
  else register(s);
}

function later(s: Session, seconds: number): void {
  sched.cancel(s.timer);
  s.timer = sched.after(seconds * 1000, tick, s);
}

/** Builds a session per Server instance that has a Security instance and starts them. */
export function startAll(): number {
  stopAll();
  const srv = reg.obj(1);
  for (const inst of srv ? srv.insts : []) {
    const ssid = reg.num(1, inst.id, Srv.SRV_SSID, -1);
    const sec = securityForSsid(reg, ssid);
    if (sec < 0) continue;
    const s: Session = {
      ssid: ssid, srvIid: inst.id, secIid: sec, uri: reg.str(0, sec, Sec.SEC_URI), state: K.IDLE, conn: null, loc: [],
      tries: 0, seqs: 0, timer: 0, sentLifetime: 0, sentBinding: "", objectsChanged: false, gate: false,
    };
    sessions.push(s);
    if (setting(s, Srv.SRV_PRIORITY, -1) < 0) later(s, setting(s, Srv.SRV_INITIAL_DELAY, 0));
    else s.state = K.QUEUED;
  }
  startNext();
  return sessions.length;
}

/** Starts the queued server first in Registration Priority Order. */
function startNext(): void {
  let n: Session | null = null;
  for (const x of sessions) if (x.state === K.QUEUED && (!n || setting(x, Srv.SRV_PRIORITY, 0) < setting(n, Srv.SRV_PRIORITY, 0))) n = x;
  if (!n) return;
  n.state = K.IDLE;
  n.gate = true;
  later(n, setting(n, Srv.SRV_INITIAL_DELAY, 0));
}

export function stopAll(): void {
  for (const s of sessions) {
    dmCancelSession(s);
    sched.cancel(s.timer);
    dropConn(s);
    s.state = K.IDLE;
  }
  sessions.length = 0;
}

function dropConn(s: Session): void {
  if (s.conn) closeConn(s.conn);
  s.conn = null;
}

/** Registration payload: every object and instance except Security. */
function objectLinks(): Uint8Array {
  let t = '</>;rt="oma.lwm2m";ct=11542';
  for (const o of reg.objs) {
    const oid = o.def.id;
    if (oid === 0) continue;
    if (o.insts.length === 0) t += ",</" + oid + ">";
    for (const inst of o.insts) t += ",</" + oid + "/" + inst.id + ">";
  }
  return utf8Encode(t);
}

function register(s: Session): void {
  onContact();
  dmCancelSession(s);
  dropConn(s);
  s.state = K.REGISTERING;
  s.loc = [];
  const c = openConn(sched, s.uri, s.secIid + 2 /* credential handle of /0/iid */, s, connUp, dmHandle);
  if (!c) return failed(s, "cannot open link");
  s.conn = c;
  c.ep.onObserveCancel = dmCancel;
}

function connUp(ok: boolean, c: Conn, alert?: number): void {
  const s: Session = c.ep.ctx;
  if (!ok) {
    const inst = reg.inst(1, s.srvIid);
    if (inst && (alert as number) >= 0) inst.v[Srv.SRV_ALERT] = alert as number;
    return failed(s, "secure session failed (alert " + alert + ")");
  }
  const lt = (s.sentLifetime = setting(s, Srv.SRV_LIFETIME, 86400));
  const b = (s.sentBinding = reg.str(1, s.srvIid, Srv.SRV_BINDING) || "U");
  s.objectsChanged = false;
  connRequest(c, Coap.POST, ["rd"], ["ep=" + app.endpoint, "lt=" + lt, "lwm2m=1.1", "b=" + b], Cf.CF_LINK, objectLinks(), registered);
}

function registered(res: CoapMessage | null, err: string | null, s: Session): void {
  if (s.state !== K.REGISTERING) return;
  if (!res || res.code !== Coap.CREATED) return failed(s, "register " + (res ? codeToString(res.code) : err));
  s.loc = getStringOptions(res, Coap.LOCATION_PATH);
  s.state = K.REGISTERED;
  s.tries = s.seqs = 0;
  if (s.gate) {
    s.gate = false;
    startNext();
  }
  logInf(MOD, "registered with " + s.uri + " as /" + s.loc.join("/") + " (ep=" + app.endpoint + ")");
  scheduleUpdate(s);
}

function scheduleUpdate(s: Session): void {
  const lt = setting(s, Srv.SRV_LIFETIME, 86400);
  later(s, Math.max(1, lt > 20 ? Math.min(lt * 0.9, lt - 10) : lt / 2));
}

/** Sends an Update now (Execute /1/x/8, changed objects or lifetime, or the timer). */
function update(s: Session): void {
  if (s.state !== K.REGISTERED || !s.conn) return;
  onContact();
  sched.cancel(s.timer);
  const q: string[] = [];
  const lt = setting(s, Srv.SRV_LIFETIME, 86400);
  const b = reg.str(1, s.srvIid, Srv.SRV_BINDING) || "U";
  if (lt !== s.sentLifetime) q.push("lt=" + lt);
  if (b !== s.sentBinding) q.push("b=" + b);
  s.sentLifetime = lt;
  s.sentBinding = b;
  const body = s.objectsChanged ? objectLinks() : null;
  s.objectsChanged = false;
  s.state = K.UPDATING;
  connRequest(s.conn, Coap.POST, s.loc, q, body ? Cf.CF_LINK : -1, body, updated);
}

function updated(res: CoapMessage | null, err: string | null, s: Session): void {
  if (s.state !== K.UPDATING) return;
  s.state = K.REGISTERED;
  if (res && res.code === Coap.CHANGED) {
    logInf(MOD, "update ok (" + s.uri + ")");
    return s.objectsChanged ? update(s) : scheduleUpdate(s);
  }
  // Never straight to bootstrap: register again, with the usual retry pacing.
  logWrn(MOD, "update failed (" + (res ? codeToString(res.code) : err) + "), registering again");
  register(s);
}

/** Schedules an Update to every registered server (or one SSID) as soon as possible. */
export function updateSoon(ssid: number, objectsChanged: boolean): boolean {
  let found = false;
  for (const s of sessions) {
    if (ssid >= 0 && s.ssid !== ssid) continue;
    found = true;
    if (objectsChanged) s.objectsChanged = true;
    if (s.state === K.REGISTERED) later(s, 0);
  }
  return found;
}

function failed(s: Session, why: string): void {
  dropConn(s);
  s.tries++;
  let delay: number;
  if (s.tries < setting(s, Srv.SRV_RETRY_COUNT, 5)) {
    delay = setting(s, Srv.SRV_RETRY_TIMER, 60) * Math.pow(2, s.tries - 1);
  } else {
    s.tries = 0;
    s.seqs++;
    delay = setting(s, Srv.SRV_SEQ_DELAY, 86400);
    if (s.seqs >= setting(s, Srv.SRV_SEQ_RETRY, 1)) {
      s.seqs = 0;
      s.state = K.FAILED;
      logWrn(MOD, "registration with " + s.uri + " failed (" + why + ")");
      if (s.gate) {
        s.gate = false;
        // Registration Failure Block (/1/x/15): the servers after this one are not tried.
        if (setting(s, Srv.SRV_FAILURE_BLOCK, 0)) {
          for (const x of sessions) if (x.state === K.QUEUED) x.state = K.FAILED;
        } else startNext();
      }
      let allowBs = false;
      for (const x of sessions) {
        // Others still running: retry this one after its sequence delay.
        if (x.state !== K.FAILED) return later(s, delay);
        if (setting(x, Srv.SRV_BS_ON_FAILURE, 1)) allowBs = true;
      }
      if (allowBs && bootstrapAccount(reg) >= 0) {
        stopAll();
        return onAllFailed();
      }
      for (const x of sessions) {
        x.state = K.IDLE;
        later(x, setting(x, Srv.SRV_SEQ_DELAY, 86400));
      }
      return;
    }
  }
  s.state = K.IDLE;
  logWrn(MOD, why + " (" + s.uri + "), retry in " + delay + " s");
  later(s, delay);
}

/** De-registers from every registered server, then calls done(arg) (at most 10 s later). */
export function deregisterAll(done: (arg?: any) => void, arg?: any): void {
  deregDone = done;
  deregArg = arg;
  pendingDereg = 0;
  for (const s of sessions) {
    sched.cancel(s.timer);
    if ((s.state !== K.REGISTERED && s.state !== K.UPDATING) || !s.conn) continue;
    pendingDereg++;
    s.state = K.IDLE;
    connRequest(s.conn, Coap.DELETE, s.loc, [], -1, null, deregistered);
  }
  sched.after(10000, deregistered);
  if (pendingDereg === 0) deregistered(null, null, null);
}

/** A de-register answer (s set), or the 10 s limit (s undefined), or none was needed (null). */
function deregistered(res?: CoapMessage | null, err?: string | null, s?: Session | null): void {
  if (s) {
    if (res && res.code === Coap.DELETED) logInf(MOD, "deregistered from " + s.uri);
    else logWrn(MOD, "de-register from " + s.uri + " failed");
  }
  if (s === undefined) pendingDereg = 0;
  else if (pendingDereg > 0) pendingDereg--;
  const done = deregDone;
  if (pendingDereg > 0 || !done) return;
  deregDone = null;
  stopAll();
  done(deregArg);
}
