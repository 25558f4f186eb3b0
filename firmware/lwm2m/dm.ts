// Device Management and Information Reporting from a registered server: Read, Write, Execute,
// Create, Delete, Discover, Write-Attributes, Observe/Notify. /0 is never reachable here.
import { Scheduler } from "../lib/scheduler";
import { logWrn } from "../lib/log";
import { Entry, parsePath, pathStartsWith, NO_ID } from "../formats/model";
import { CF_LINK, decodeContent, isSupportedFormat } from "../formats/content-format";
import { Link, encodeLinks } from "../formats/link-format";
import { Exchange } from "../coap/endpoint";
import {
  CoapMessage, GET, PUT, POST, DELETE, CHANGED, CONTENT, CREATED, BAD_REQUEST, UNAUTHORIZED, NOT_FOUND,
  METHOD_NOT_ALLOWED, UNSUPPORTED_CONTENT_FORMAT, ACCEPT, CONTENT_FORMAT, OBSERVE, LOCATION_PATH,
  uriPath, uriQuery, getUintOption,
} from "../coap/message";
import { utf8Decode, utf8Encode, bytesEqual } from "../lib/bytes";
import { Registry, W_REPLACE, W_UPDATE, MULTI, resDef } from "./registry";
import { Session } from "./registration";
import { uintOpt, strOpt } from "./conn";
import { encodeRead, respondRead } from "./content";
import { SRV_PMIN, SRV_PMAX } from "./objects/server";

interface Observation {
  s: Session;
  token: Uint8Array;
  path: number[];
  format: number;
  last: number;
  timer: number;
  fire: () => void;
}

/** Attributes [pmin, pmax] (-1 = unset) per server and path. */
type AttrTable = { [key: string]: number[] };

let obsSeq = 1;

export class Dm {
  obs: Observation[] = [];
  private attrs: AttrTable = {};

  constructor(private reg: Registry, private sched: Scheduler) {}

  handle(ex: Exchange, s: Session): void {
    const req = ex.request;
    let path: number[];
    try {
      path = parsePath("/" + uriPath(req).join("/"));
    } catch (e) {
      return ex.respond(NOT_FOUND);
    }
    if (path.length > 0 && path[0] === 0) return ex.respond(UNAUTHORIZED);
    if (path.length === 0 || !this.reg.obj(path[0])) return ex.respond(path.length === 0 ? METHOD_NOT_ALLOWED : NOT_FOUND);
    switch (req.code) {
      case GET:
        return this.get(ex, s, path);
      case PUT:
        if (!req.payload && uriQuery(req).length > 0) return ex.respond(this.writeAttributes(s, path, uriQuery(req)));
        if (path.length < 2) return ex.respond(METHOD_NOT_ALLOWED);
        return ex.respond(this.write(path, req, W_REPLACE));
      case POST:
        if (path.length === 3) return ex.respond(this.reg.execute(path, req.payload ? utf8Decode(req.payload) : ""));
        if (path.length === 2) return ex.respond(this.write(path, req, W_UPDATE));
        if (path.length === 1) return this.create(ex, path[0], req);
        return ex.respond(METHOD_NOT_ALLOWED);
      case DELETE:
        if (path.length !== 2 || path[0] === 1 || path[0] === 3) return ex.respond(METHOD_NOT_ALLOWED);
        return ex.respond(this.reg.remove(path[0], path[1]));
    }
    ex.respond(METHOD_NOT_ALLOWED);
  }

  private decode(path: number[], req: CoapMessage): Entry[] | number {
    const cf = getUintOption(req, CONTENT_FORMAT);
    if (cf < 0 || !req.payload) return BAD_REQUEST;
    if (!isSupportedFormat(cf) || cf === CF_LINK) return UNSUPPORTED_CONTENT_FORMAT;
    try {
      return decodeContent(cf, path, req.payload, this.reg.types);
    } catch (e) {
      logWrn("dm", "bad payload for " + path.join("/") + ": " + (e as Error).message);
      return BAD_REQUEST;
    }
  }

  private write(path: number[], req: CoapMessage, mode: number): number {
    const entries = this.decode(path, req);
    if (typeof entries === "number") return entries;
    return this.reg.write(path, entries, mode);
  }

  private create(ex: Exchange, oid: number, req: CoapMessage): void {
    const entries = this.decode([oid], req);
    if (typeof entries === "number") return ex.respond(entries);
    let iid = -1;
    for (let i = 0; i < entries.length; i++) {
      const id = entries[i].path[1];
      if (id === NO_ID) continue;
      if (iid >= 0 && id !== iid) return ex.respond(BAD_REQUEST);
      iid = id;
    }
    if (iid < 0) iid = this.reg.freeInstanceId(oid);
    const code = this.reg.create(oid, iid, entries);
    if (code !== CREATED) return ex.respond(code);
    ex.respond(CREATED, [strOpt(LOCATION_PATH, "" + oid), strOpt(LOCATION_PATH, "" + iid)]);
  }

  private get(ex: Exchange, s: Session, path: number[]): void {
    const req = ex.request;
    const accept = getUintOption(req, ACCEPT);
    if (accept === CF_LINK) return ex.respond(CONTENT, [uintOpt(CONTENT_FORMAT, CF_LINK)], utf8Encode(this.discover(s, path)));
    const observe = getUintOption(req, OBSERVE);
    if (observe === 1) this.cancel(req.token);
    if (observe !== 0) return respondRead(ex, this.reg, path, accept, true);
    const r = encodeRead(this.reg, path, accept, true);
    if (r.code !== CONTENT) return ex.respond(r.code);
    this.cancel(req.token);
    const o = this.observe(s, req.token, path, r.format);
    ex.respond(CONTENT, [uintOpt(OBSERVE, obsSeq++), uintOpt(CONTENT_FORMAT, r.format)], r.payload);
    this.arm(o, -1);
  }

  // ---- attributes ----

  private key(s: Session, path: number[]): string {
    return s.ssid + "/" + path.join("/");
  }

  private writeAttributes(s: Session, path: number[], query: string[]): number {
    const a = (this.attrs[this.key(s, path)] || [-1, -1]).slice(0);
    for (let i = 0; i < query.length; i++) {
      const eq = query[i].indexOf("=");
      const name = eq < 0 ? query[i] : query[i].substring(0, eq);
      const idx = name === "pmin" ? 0 : name === "pmax" ? 1 : -1;
      if (idx < 0) return BAD_REQUEST;
      let v = -1;
      if (eq >= 0) {
        v = parseInt(query[i].substring(eq + 1), 10);
        if (isNaN(v) || v < 0 || "" + v !== query[i].substring(eq + 1)) return BAD_REQUEST;
      }
      a[idx] = v;
    }
    if (a[0] >= 0 && a[1] >= 0 && a[1] < a[0]) return BAD_REQUEST;
    this.attrs[this.key(s, path)] = a;
    for (let i = 0; i < this.obs.length; i++) if (this.obs[i].s === s && pathStartsWith(this.obs[i].path, path)) this.arm(this.obs[i], -1);
    return CHANGED;
  }

  /** Effective pmin/pmax (seconds): the nearest path level that sets it, else the server defaults. */
  private period(s: Session, path: number[], which: number): number {
    for (let n = path.length; n >= 1; n--) {
      const a = this.attrs[this.key(s, path.slice(0, n))];
      if (a && a[which] >= 0) return a[which];
    }
    return s.setting(which === 0 ? SRV_PMIN : SRV_PMAX, which === 0 ? 0 : -1);
  }

  private discover(s: Session, path: number[]): string {
    const links: Link[] = [];
    const o = this.reg.obj(path[0]);
    if (!o) return "";
    if (path.length === 1) links.push(this.link(s, [path[0]]));
    for (let i = 0; i < o.insts.length; i++) {
      const inst = o.insts[i];
      if (path.length > 1 && inst.id !== path[1]) continue;
      if (path.length <= 2) links.push(this.link(s, [path[0], inst.id]));
      for (let k = 0; k < o.def.res.length; k++) {
        const d = o.def.res[k];
        if (path.length > 2 && d[0] !== path[2]) continue;
        const v = this.reg.get(path[0], inst.id, d[0]);
        if (v === undefined && !(d[2] & 4)) continue;
        const l = this.link(s, [path[0], inst.id, d[0]]);
        if (d[2] & MULTI && v !== undefined) l.attrs.push(["dim", Object.keys(v as object).length]);
        links.push(l);
      }
    }
    return encodeLinks(links);
  }

  private link(s: Session, path: number[]): Link {
    const l: Link = { uri: "/" + path.join("/"), attrs: [] };
    const a = this.attrs[this.key(s, path)];
    if (a && a[0] >= 0) l.attrs.push(["pmin", a[0]]);
    if (a && a[1] >= 0) l.attrs.push(["pmax", a[1]]);
    return l;
  }

  // ---- observe ----

  private observe(s: Session, token: Uint8Array, path: number[], format: number): Observation {
    const self = this;
    const t = new Uint8Array(token.length);
    t.set(token);
    const o: Observation = { s: s, token: t, path: path, format: format, last: this.sched.now(), timer: 0, fire: function () {} };
    o.fire = function () {
      o.timer = 0;
      self.notify(o);
    };
    this.obs.push(o);
    return o;
  }

  cancel(token: Uint8Array): void {
    for (let i = this.obs.length - 1; i >= 0; i--) {
      if (bytesEqual(this.obs[i].token, token)) this.drop(i);
    }
  }

  /** Forgets the observations of a server (de-registered, re-registered or gone). */
  cancelSession(s: Session): void {
    for (let i = this.obs.length - 1; i >= 0; i--) if (this.obs[i].s === s) this.drop(i);
  }

  private drop(i: number): void {
    if (this.obs[i].timer) this.sched.cancel(this.obs[i].timer);
    this.obs.splice(i, 1);
  }

  /** changedAt: ms of a value change (-1: none), to notify no sooner than pmin after the last one. */
  private arm(o: Observation, changedAt: number): void {
    if (o.timer) this.sched.cancel(o.timer);
    o.timer = 0;
    const pmin = this.period(o.s, o.path, 0) * 1000;
    const pmax = this.period(o.s, o.path, 1) * 1000;
    let at = -1;
    if (changedAt >= 0) at = Math.max(changedAt, o.last + pmin);
    if (pmax > 0 && (at < 0 || o.last + Math.max(pmax, pmin) < at)) at = o.last + Math.max(pmax, pmin);
    if (at >= 0) o.timer = this.sched.after(at - this.sched.now(), o.fire);
  }

  private notify(o: Observation): void {
    const ep = o.s.conn ? o.s.conn.ep : null;
    const r = encodeRead(this.reg, o.path, o.format, true);
    const i = this.obs.indexOf(o);
    if (!ep || i < 0 || r.code !== CONTENT) {
      if (i >= 0) this.drop(i);
      return;
    }
    o.last = this.sched.now();
    ep.notify(o.token, [uintOpt(OBSERVE, obsSeq++ & 0xffffff), uintOpt(CONTENT_FORMAT, r.format)], r.payload, true);
    this.arm(o, -1);
  }

  /** Registry change hook: schedules notifications for observations covering path. */
  changed(path: number[]): void {
    const now = this.sched.now();
    for (let i = 0; i < this.obs.length; i++) {
      const o = this.obs[i];
      if (pathStartsWith(o.path, path) || pathStartsWith(path, o.path)) this.arm(o, now);
    }
  }
}
