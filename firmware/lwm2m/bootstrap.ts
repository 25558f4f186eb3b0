// Client-initiated bootstrap (LwM2M 1.1 section 6.1.3) as an explicit state machine. Every
// write goes to a staged copy of /0 /1 /2; only a Finish that validates commits it.
import { Scheduler } from "../lib/scheduler";
import { logInf, logWrn } from "../lib/log";
import { parsePath } from "../formats/model";
import { CF_LINK, CF_SENML_CBOR, decodeContent, isSupportedFormat } from "../formats/content-format";
import { Link, encodeLinks } from "../formats/link-format";
import { Exchange } from "../coap/endpoint";
import {
  CoapMessage, GET, PUT, POST, DELETE, CHANGED, DELETED, BAD_REQUEST, UNAUTHORIZED, NOT_FOUND,
  METHOD_NOT_ALLOWED, NOT_ACCEPTABLE, UNSUPPORTED_CONTENT_FORMAT, INTERNAL_SERVER_ERROR, CONTENT,
  ACCEPT, CONTENT_FORMAT, uriPath, getUintOption, codeToString,
} from "../coap/message";
import { utf8Encode } from "../lib/bytes";
import { wallSeconds } from "../hal/timer";
import { random } from "../hal/rng";
import { Registry, W_BOOT } from "./registry";
import { Conn, uintOpt } from "./conn";
import { respondRead } from "./content";
import { saveConfig } from "./persist";
import { validateConfig, countServers } from "./validate";
import { bootstrapAccount, isBootstrapAccount, purge, SEC_URI, SEC_HOLD_OFF, SEC_SSID } from "./objects/security";
import { SRV_LAST_BS } from "./objects/server";

export const BS_IDLE = 0;
export const BS_WAIT = 1; // hold-off or backoff before the next request
export const BS_REQUEST = 2; // Bootstrap-Request sent
export const BS_SESSION = 3; // taking commands from the bootstrap server
export const BS_DONE = 4;
const STATE_NAMES = ["idle", "waiting", "requesting", "in session", "done"];

const MOD = "bootstrap";
const EXCHANGE_LIFETIME = 247000;
const BACKOFF_BASE = 60000;
const BACKOFF_CAP = 86400000;
const STAGED_OBJECTS = [0, 1, 2];

export class Bootstrap {
  state = BS_IDLE;
  /** Failed attempts since the last success; drives the backoff. */
  failures = 0;
  /** Called after a committed Finish. */
  onDone: () => void = function () {};
  private conn: Conn | null = null;
  private staged: Registry | null = null;
  private timer = 0;
  private uri = "";
  private readonly fire: () => void;
  private readonly expire: () => void;
  private readonly onResponse: (res: CoapMessage | null, err: string | null) => void;

  constructor(private reg: Registry, private sched: Scheduler, private endpoint: () => string) {
    const self = this;
    this.fire = function () {
      self.attempt();
    };
    this.expire = function () {
      self.fail("no Finish within 247 s, discarded");
    };
    this.onResponse = function (res, err) {
      self.requestDone(res, err);
    };
  }

  stateName(): string {
    return STATE_NAMES[this.state];
  }

  /** Schedules a bootstrap: hold-off (/0/x/11) first, or at once when now is set. */
  start(now?: boolean): boolean {
    const bs = bootstrapAccount(this.reg);
    if (bs < 0) {
      logWrn(MOD, "no bootstrap account");
      return false;
    }
    this.teardown();
    this.failures = 0;
    const holdOff = now ? 0 : this.reg.num(0, bs, SEC_HOLD_OFF, 0);
    this.wait(holdOff * 1000);
    return true;
  }

  stop(): void {
    this.teardown();
    this.state = BS_IDLE;
  }

  private wait(ms: number): void {
    this.state = BS_WAIT;
    this.timer = this.sched.after(ms, this.fire);
  }

  private teardown(): void {
    if (this.timer) this.sched.cancel(this.timer);
    this.timer = 0;
    this.staged = null;
    if (this.conn) this.conn.close();
    this.conn = null;
  }

  private attempt(): void {
    this.timer = 0;
    const bs = bootstrapAccount(this.reg);
    if (bs < 0) {
      this.state = BS_IDLE;
      logWrn(MOD, "no bootstrap account");
      return;
    }
    this.uri = this.reg.str(0, bs, SEC_URI);
    const conn = new Conn(this.sched, this.uri, bs);
    const self = this;
    conn.onRequest = function (ex: Exchange) {
      self.command(ex);
    };
    conn.onUp = function (ok: boolean) {
      if (ok) self.sendRequest();
      else self.fail("secure session failed");
    };
    this.conn = conn;
    this.staged = this.reg.stage(STAGED_OBJECTS);
    this.state = BS_REQUEST;
    if (!conn.open()) this.fail("cannot reach " + this.uri);
  }

  private sendRequest(): void {
    if (!this.conn) return;
    const ep = this.endpoint();
    this.conn.request(POST, ["bs"], ["ep=" + ep, "pct=" + CF_SENML_CBOR], -1, null, this.onResponse);
    logInf(MOD, "Bootstrap-Request sent to " + this.uri + " (ep=" + ep + ")");
  }

  private requestDone(res: CoapMessage | null, err: string | null): void {
    if (this.state !== BS_REQUEST && this.state !== BS_SESSION) return;
    if (!res) return this.fail("Bootstrap-Request " + err);
    if (res.code !== CHANGED) return this.fail("Bootstrap-Request refused (" + codeToString(res.code) + ")");
    if (this.state === BS_REQUEST) this.session();
  }

  /** (Re)starts the EXCHANGE_LIFETIME window in which Finish must arrive. */
  private session(): void {
    this.state = BS_SESSION;
    if (this.timer) this.sched.cancel(this.timer);
    this.timer = this.sched.after(EXCHANGE_LIFETIME, this.expire);
  }

  private fail(reason: string): void {
    this.teardown();
    this.failures++;
    const base = Math.min(BACKOFF_BASE * Math.pow(2, this.failures - 1), BACKOFF_CAP);
    // Jitter in [base/2, 3*base/2) spreads a whole city of meters after a power cut.
    const delay = Math.floor(base / 2 + random() * base);
    logWrn(MOD, reason + "; retry in " + Math.round(delay / 1000) + " s");
    this.wait(delay);
  }

  // ---- commands from the bootstrap server ----

  private command(ex: Exchange): void {
    const staged = this.staged;
    if (!staged || (this.state !== BS_REQUEST && this.state !== BS_SESSION)) return ex.respond(METHOD_NOT_ALLOWED);
    this.session();
    const req = ex.request;
    const segs = uriPath(req);
    if (req.code === POST && segs.length === 1 && segs[0] === "bs") return this.finish(ex, staged);
    let path: number[];
    try {
      path = parsePath("/" + segs.join("/"));
    } catch (e) {
      return ex.respond(NOT_FOUND);
    }
    if (req.code === PUT) return ex.respond(this.write(staged, path, req));
    if (req.code === DELETE) return ex.respond(this.remove(staged, path));
    if (req.code === GET) return this.read(ex, staged, path);
    ex.respond(METHOD_NOT_ALLOWED);
  }

  private write(staged: Registry, path: number[], req: CoapMessage): number {
    if (path.length === 0) return METHOD_NOT_ALLOWED;
    if (!staged.obj(path[0])) return this.reg.obj(path[0]) ? METHOD_NOT_ALLOWED : NOT_FOUND;
    const cf = getUintOption(req, CONTENT_FORMAT);
    if (cf < 0 || !req.payload) return BAD_REQUEST;
    if (!isSupportedFormat(cf) || cf === CF_LINK) return UNSUPPORTED_CONTENT_FORMAT;
    try {
      return staged.write(path, decodeContent(cf, path, req.payload, this.reg.types), W_BOOT);
    } catch (e) {
      logWrn(MOD, "write " + path.join("/") + ": " + (e as Error).message);
      return BAD_REQUEST;
    }
  }

  private remove(staged: Registry, path: number[]): number {
    if (path.length > 2) return BAD_REQUEST;
    if (path.length === 0) {
      for (let i = 0; i < staged.objs.length; i++) purge(staged, staged.objs[i].def.id);
      return DELETED;
    }
    const oid = path[0];
    if (!staged.obj(oid)) {
      // The Device instance (and any object outside the configuration) is never deleted.
      if (!this.reg.obj(oid)) return NOT_FOUND;
      return path.length === 2 ? BAD_REQUEST : DELETED;
    }
    if (path.length === 1) {
      purge(staged, oid);
      return DELETED;
    }
    if (oid === 0 && isBootstrapAccount(staged, path[1])) return BAD_REQUEST;
    staged.removeInst(oid, path[1]);
    return DELETED;
  }

  private read(ex: Exchange, staged: Registry, path: number[]): void {
    const accept = getUintOption(ex.request, ACCEPT);
    if (accept === CF_LINK) {
      if (path.length > 1) return ex.respond(BAD_REQUEST);
      if (path.length === 1 && !this.reg.obj(path[0])) return ex.respond(NOT_FOUND);
      return ex.respond(CONTENT, [uintOpt(CONTENT_FORMAT, CF_LINK)], utf8Encode(this.discover(staged, path)));
    }
    if (path.length === 0 || path[0] === 0) return ex.respond(UNAUTHORIZED);
    if (!staged.obj(path[0])) return ex.respond(this.reg.obj(path[0]) ? METHOD_NOT_ALLOWED : NOT_FOUND);
    respondRead(ex, staged, path, accept, false);
  }

  discover(staged: Registry, path: number[]): string {
    const links: Link[] = [];
    if (path.length === 0) links.push({ uri: "/", attrs: [["lwm2m", "1.1"]] });
    const live = this.reg.objs;
    for (let k = 0; k < live.length; k++) {
      const oid = live[k].def.id;
      if (path.length > 0 && path[0] !== oid) continue;
      const o = staged.obj(oid) || live[k];
      if (o.insts.length === 0) links.push({ uri: "/" + oid, attrs: [] });
      for (let i = 0; i < o.insts.length; i++) {
        const inst = o.insts[i];
        const link: Link = { uri: "/" + oid + "/" + inst.id, attrs: [] };
        const ssid = oid === 0 ? inst.v[SEC_SSID] : oid === 1 ? inst.v[0] : undefined;
        if (typeof ssid === "number" && !(oid === 0 && isBootstrapAccount(staged, inst.id))) link.attrs.push(["ssid", ssid]);
        if (oid === 0 && typeof inst.v[SEC_URI] === "string") link.attrs.push(["uri", inst.v[SEC_URI] as string]);
        links.push(link);
      }
    }
    return encodeLinks(links);
  }

  private finish(ex: Exchange, staged: Registry): void {
    const reason = validateConfig(staged);
    if (reason) {
      ex.respond(NOT_ACCEPTABLE, [uintOpt(CONTENT_FORMAT, 0)], utf8Encode(reason));
      logWrn(MOD, "rejected at Finish: " + reason);
      return this.fail("bootstrap failed");
    }
    const srv = staged.obj(1);
    const now = wallSeconds();
    if (srv && now > 0) for (let i = 0; i < srv.insts.length; i++) srv.insts[i].v[SRV_LAST_BS] = now;
    const rc = saveConfig(staged);
    if (rc < 0) {
      ex.respond(INTERNAL_SERVER_ERROR);
      return this.fail("store commit failed (" + rc + ")");
    }
    this.reg.adopt(staged);
    ex.respond(CHANGED);
    logInf(MOD, "finished, configuration committed (" + countServers(staged) + " server(s))");
    // Keep the link a moment so a retransmitted Finish still gets its 2.04 from the dedup cache.
    const conn = this.conn;
    this.conn = null;
    this.teardown();
    this.state = BS_DONE;
    this.failures = 0;
    if (conn) this.sched.after(30000, function () { conn.close(); });
    this.onDone();
  }
}
