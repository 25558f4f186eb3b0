// Registration client (LwM2M 1.1 section 6.2): one session per configured management server.
// Register, Update before the lifetime runs out, retry per /1/x/17..20, De-register.
import { Scheduler } from "../lib/scheduler";
import { logInf, logWrn } from "../lib/log";
import { CF_LINK } from "../formats/content-format";
import { Link, encodeLinks } from "../formats/link-format";
import { Exchange } from "../coap/endpoint";
import { CoapMessage, POST, DELETE, CREATED, CHANGED, DELETED, LOCATION_PATH, getStringOptions, codeToString } from "../coap/message";
import { utf8Encode } from "../lib/bytes";
import { Registry } from "./registry";
import { Conn } from "./conn";
import { securityForSsid, bootstrapAccount, SEC_URI } from "./objects/security";
import {
  SRV_SSID, SRV_LIFETIME, SRV_BINDING, SRV_INITIAL_DELAY, SRV_BS_ON_FAILURE, SRV_RETRY_COUNT, SRV_RETRY_TIMER,
  SRV_SEQ_DELAY, SRV_SEQ_RETRY,
} from "./objects/server";

export const RS_IDLE = 0;
export const RS_REGISTERING = 1;
export const RS_REGISTERED = 2;
export const RS_UPDATING = 3;
export const RS_FAILED = 4;
const STATE_NAMES = ["idle", "registering", "registered", "updating", "failed"];
const MOD = "registration";

export class Session {
  state = RS_IDLE;
  conn: Conn | null = null;
  loc: string[] = [];
  uri: string;
  tries = 0;
  seqs = 0;
  timer = 0;
  sentLifetime = 0;
  sentBinding = "";
  objectsChanged = false;
  readonly tick: () => void;
  readonly onRegistered: (res: CoapMessage | null, err: string | null) => void;
  readonly onUpdated: (res: CoapMessage | null, err: string | null) => void;

  constructor(private rc: Registration, readonly ssid: number, readonly srvIid: number, readonly secIid: number) {
    const self = this;
    this.uri = rc.reg.str(0, secIid, SEC_URI);
    this.tick = function () {
      self.timer = 0;
      if (self.state === RS_REGISTERED) rc.update(self);
      else rc.register(self);
    };
    this.onRegistered = function (res, err) {
      rc.registered(self, res, err);
    };
    this.onUpdated = function (res, err) {
      rc.updated(self, res, err);
    };
  }

  stateName(): string {
    return STATE_NAMES[this.state];
  }

  location(): string {
    return "/" + this.loc.join("/");
  }

  setting(rid: number, dflt: number): number {
    return this.rc.reg.num(1, this.srvIid, rid, dflt);
  }

  lifetime(): number {
    return this.setting(SRV_LIFETIME, 86400);
  }

  binding(): string {
    return this.rc.reg.str(1, this.srvIid, SRV_BINDING) || "U";
  }
}

export class Registration {
  sessions: Session[] = [];
  /** Every server failed and one allows it: the app falls back to bootstrap. */
  onAllFailed: () => void = function () {};
  /** Requests from a server (DM). */
  onRequest: (ex: Exchange, s: Session) => void = function () {};
  /** A session's transport is replaced or closed: its observations end. */
  onReset: (s: Session) => void = function () {};
  onCancel: (token: Uint8Array) => void = function () {};
  private pendingDereg = 0;
  private deregDone: (() => void) | null = null;
  private deregTimer = 0;

  constructor(readonly reg: Registry, private sched: Scheduler, private endpoint: () => string) {}

  /** Builds a session per Server instance that has a Security instance and starts them. */
  startAll(): number {
    this.stopAll();
    const srv = this.reg.obj(1);
    if (!srv) return 0;
    for (let i = 0; i < srv.insts.length; i++) {
      const ssid = this.reg.num(1, srv.insts[i].id, SRV_SSID, -1);
      const sec = securityForSsid(this.reg, ssid);
      if (sec < 0) continue;
      const s = new Session(this, ssid, srv.insts[i].id, sec);
      this.sessions.push(s);
      s.timer = this.sched.after(s.setting(SRV_INITIAL_DELAY, 0) * 1000, s.tick);
    }
    return this.sessions.length;
  }

  stopAll(): void {
    for (let i = 0; i < this.sessions.length; i++) this.drop(this.sessions[i]);
    this.sessions = [];
  }

  private drop(s: Session): void {
    this.onReset(s);
    if (s.timer) this.sched.cancel(s.timer);
    s.timer = 0;
    if (s.conn) s.conn.close();
    s.conn = null;
    s.state = RS_IDLE;
  }

  /** Registration payload: every object and instance except Security. */
  objectLinks(): string {
    const links: Link[] = [{ uri: "/", attrs: [["rt", "oma.lwm2m"], ["ct", 11542]] }];
    const objs = this.reg.objs;
    for (let k = 0; k < objs.length; k++) {
      const o = objs[k];
      if (o.def.id === 0) continue;
      if (o.insts.length === 0) links.push({ uri: "/" + o.def.id, attrs: [] });
      for (let i = 0; i < o.insts.length; i++) links.push({ uri: "/" + o.def.id + "/" + o.insts[i].id, attrs: [] });
    }
    return encodeLinks(links);
  }

  register(s: Session): void {
    this.onReset(s);
    if (s.conn) s.conn.close();
    s.state = RS_REGISTERING;
    s.loc = [];
    const conn = new Conn(this.sched, s.uri, s.secIid);
    const self = this;
    conn.onRequest = function (ex: Exchange) {
      self.onRequest(ex, s);
    };
    conn.onObserveCancel = function (token: Uint8Array) {
      self.onCancel(token);
    };
    conn.onUp = function (ok: boolean) {
      if (!ok) return self.failed(s, "secure session failed");
      const lt = s.lifetime();
      const b = s.binding();
      const q = ["ep=" + self.endpoint(), "lt=" + lt, "lwm2m=1.1", "b=" + b];
      s.sentLifetime = lt;
      s.sentBinding = b;
      s.objectsChanged = false;
      conn.request(POST, ["rd"], q, CF_LINK, utf8Encode(self.objectLinks()), s.onRegistered);
    };
    s.conn = conn;
    if (!conn.open()) this.failed(s, "cannot open link");
  }

  registered(s: Session, res: CoapMessage | null, err: string | null): void {
    if (s.state !== RS_REGISTERING) return;
    if (!res || res.code !== CREATED) return this.failed(s, "register " + (res ? codeToString(res.code) : err));
    s.loc = getStringOptions(res, LOCATION_PATH);
    s.state = RS_REGISTERED;
    s.tries = 0;
    s.seqs = 0;
    logInf(MOD, "registered with " + s.uri + " as " + s.location() + " (ep=" + this.endpoint() + ")");
    this.scheduleUpdate(s);
  }

  private scheduleUpdate(s: Session): void {
    const lt = s.lifetime();
    const at = lt > 20 ? Math.min(lt * 0.9, lt - 10) : lt / 2;
    if (s.timer) this.sched.cancel(s.timer);
    s.timer = this.sched.after(Math.max(1, at) * 1000, s.tick);
  }

  /** Sends an Update now (Execute /1/x/8, changed objects or lifetime, or the timer). */
  update(s: Session): void {
    if (s.state !== RS_REGISTERED || !s.conn) return;
    if (s.timer) this.sched.cancel(s.timer);
    s.timer = 0;
    const q: string[] = [];
    const lt = s.lifetime();
    const b = s.binding();
    if (lt !== s.sentLifetime) q.push("lt=" + lt);
    if (b !== s.sentBinding) q.push("b=" + b);
    s.sentLifetime = lt;
    s.sentBinding = b;
    const body = s.objectsChanged ? utf8Encode(this.objectLinks()) : null;
    s.objectsChanged = false;
    s.state = RS_UPDATING;
    s.conn.request(POST, s.loc, q, body ? CF_LINK : -1, body, s.onUpdated);
  }

  updated(s: Session, res: CoapMessage | null, err: string | null): void {
    if (s.state !== RS_UPDATING) return;
    s.state = RS_REGISTERED;
    if (res && res.code === CHANGED) {
      logInf(MOD, "update ok (" + s.uri + ")");
      if (s.objectsChanged) return this.update(s);
      return this.scheduleUpdate(s);
    }
    // Never straight to bootstrap: register again, with the usual retry pacing.
    logWrn(MOD, "update failed (" + (res ? codeToString(res.code) : err) + "), registering again");
    this.register(s);
  }

  /** Schedules an Update to every registered server (or one SSID) as soon as possible. */
  updateSoon(ssid: number, objectsChanged: boolean): boolean {
    let found = false;
    for (let i = 0; i < this.sessions.length; i++) {
      const s = this.sessions[i];
      if (ssid >= 0 && s.ssid !== ssid) continue;
      found = true;
      if (objectsChanged) s.objectsChanged = true;
      if (s.state !== RS_REGISTERED) continue;
      if (s.timer) this.sched.cancel(s.timer);
      s.timer = this.sched.after(0, s.tick);
    }
    return found;
  }

  private failed(s: Session, why: string): void {
    if (s.conn) s.conn.close();
    s.conn = null;
    s.tries++;
    let delay: number;
    if (s.tries < s.setting(SRV_RETRY_COUNT, 5)) {
      delay = s.setting(SRV_RETRY_TIMER, 60) * Math.pow(2, s.tries - 1);
    } else {
      s.tries = 0;
      s.seqs++;
      if (s.seqs >= s.setting(SRV_SEQ_RETRY, 1)) {
        s.seqs = 0;
        s.state = RS_FAILED;
        logWrn(MOD, "registration with " + s.uri + " failed (" + why + ")");
        return this.checkAllFailed(s);
      }
      delay = s.setting(SRV_SEQ_DELAY, 86400);
    }
    s.state = RS_IDLE;
    logWrn(MOD, why + " (" + s.uri + "), retry in " + delay + " s");
    s.timer = this.sched.after(delay * 1000, s.tick);
  }

  private checkAllFailed(s: Session): void {
    let allowBs = false;
    for (let i = 0; i < this.sessions.length; i++) {
      const x = this.sessions[i];
      if (x.state !== RS_FAILED) {
        // Others still running: retry this one after its sequence delay.
        s.timer = this.sched.after(s.setting(SRV_SEQ_DELAY, 86400) * 1000, s.tick);
        return;
      }
      if (x.setting(SRV_BS_ON_FAILURE, 1)) allowBs = true;
    }
    if (allowBs && bootstrapAccount(this.reg) >= 0) {
      this.stopAll();
      return this.onAllFailed();
    }
    for (let i = 0; i < this.sessions.length; i++) {
      const x = this.sessions[i];
      x.state = RS_IDLE;
      x.timer = this.sched.after(x.setting(SRV_SEQ_DELAY, 86400) * 1000, x.tick);
    }
  }

  /** De-registers from every registered server, then calls done (at most 10 s later). */
  deregisterAll(done: () => void): void {
    this.deregDone = done;
    this.pendingDereg = 0;
    const self = this;
    for (let i = 0; i < this.sessions.length; i++) {
      const s = this.sessions[i];
      if (s.timer) this.sched.cancel(s.timer);
      s.timer = 0;
      if ((s.state !== RS_REGISTERED && s.state !== RS_UPDATING) || !s.conn) continue;
      this.pendingDereg++;
      s.state = RS_IDLE;
      s.conn.request(DELETE, s.loc, [], -1, null, function (res: CoapMessage | null) {
        if (res && res.code === DELETED) logInf(MOD, "deregistered from " + s.uri);
        else logWrn(MOD, "de-register from " + s.uri + " failed");
        self.deregistered();
      });
    }
    this.deregTimer = this.sched.after(10000, function () {
      self.pendingDereg = 0;
      self.deregistered();
    });
    if (this.pendingDereg === 0) this.deregistered();
  }

  private deregistered(): void {
    if (this.pendingDereg > 0) this.pendingDereg--;
    if (this.pendingDereg > 0 || !this.deregDone) return;
    const done = this.deregDone;
    this.deregDone = null;
    this.sched.cancel(this.deregTimer);
    this.stopAll();
    done();
  }
}
