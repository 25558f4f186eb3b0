// Device Management and Information Reporting from a registered server: Read, Write, Execute,
// Create, Delete, Discover, Write-Attributes, Observe/Notify. /0 is never reachable here.
import { Scheduler } from "../lib/scheduler";
import { pathStartsWith, NO_ID } from "../formats/model";
import { CF_LINK } from "../formats/content-format";
import { Link } from "../formats/link-format";
import { Exchange } from "../coap/endpoint";
import {
  GET, PUT, POST, DELETE, CHANGED, CONTENT, CREATED, BAD_REQUEST, UNAUTHORIZED, NOT_FOUND,
  METHOD_NOT_ALLOWED, ACCEPT, CONTENT_FORMAT, OBSERVE, LOCATION_PATH, uriQuery, getUintOption,
} from "../coap/message";
import { utf8Decode, bytesEqual, copyBytes } from "../lib/bytes";
import { Registry, W_REPLACE, W_UPDATE, E, MULTI } from "./registry";
import { Session, setting } from "./registration";
import { uintOpt, strOpt } from "./conn";
import { requestPath, decodeRequest, encodeRead, respondRead, respondLinks, plainLink } from "./content";
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

let reg: Registry;
let sched: Scheduler;
let obs: Observation[] = [];
/** Attributes [pmin, pmax] (-1 = unset) per server and path. */
let attrs: { [key: string]: number[] } = {};
let obsSeq = 1;

export function dmInit(r: Registry, s: Scheduler): void {
  reg = r;
  sched = s;
  obs = [];
  attrs = {};
}

export function dmHandle(ex: Exchange, s: Session): void {
  const req = ex.request;
  const path = requestPath(req);
  if (!path) return ex.respond(NOT_FOUND);
  const n = path.length;
  const oid = path[0];
  if (n === 0) return ex.respond(METHOD_NOT_ALLOWED);
  if (oid === 0) return ex.respond(UNAUTHORIZED);
  if (!reg.obj(oid)) return ex.respond(NOT_FOUND);
  let code = METHOD_NOT_ALLOWED;
  switch (req.code) {
    case GET:
      return read(ex, s, path);
    case PUT:
      if (!req.payload && uriQuery(req).length > 0) code = writeAttributes(s, path, uriQuery(req));
      else if (n > 1) code = write(path, ex, W_REPLACE);
      break;
    case POST:
      if (n === 3) code = reg.execute(path, req.payload ? utf8Decode(req.payload) : "");
      else if (n === 2) code = write(path, ex, W_UPDATE);
      else if (n === 1) return create(ex, oid);
      break;
    case DELETE:
      if (n === 2 && oid !== 1 && oid !== 3) code = reg.remove(oid, path[1]);
  }
  ex.respond(code);
}

function write(path: number[], ex: Exchange, mode: number): number {
  const entries = decodeRequest(reg, path, ex.request);
  return typeof entries === "number" ? entries : reg.write(path, entries, mode);
}

function create(ex: Exchange, oid: number): void {
  const entries = decodeRequest(reg, [oid], ex.request);
  if (typeof entries === "number") return ex.respond(entries);
  let iid = -1;
  for (const e of entries) {
    const id = e.path[1];
    if (id === NO_ID) continue;
    if (iid >= 0 && id !== iid) return ex.respond(BAD_REQUEST);
    iid = id;
  }
  if (iid < 0) iid = reg.freeInstanceId(oid);
  const code = reg.create(oid, iid, entries);
  ex.respond(code, code === CREATED ? [strOpt(LOCATION_PATH, "" + oid), strOpt(LOCATION_PATH, "" + iid)] : []);
}

function read(ex: Exchange, s: Session, path: number[]): void {
  const req = ex.request;
  const accept = getUintOption(req, ACCEPT);
  if (accept === CF_LINK) return respondLinks(ex, discover(s, path));
  const observe = getUintOption(req, OBSERVE);
  if (observe >= 0) dmCancel(req.token);
  if (observe !== 0) return respondRead(ex, reg, path, accept, true);
  const r = encodeRead(reg, path, accept, true);
  if (r.code !== CONTENT) return ex.respond(r.code);
  const o: Observation = { s: s, token: copyBytes(req.token), path: path, format: r.format, last: sched.now(), timer: 0, fire: function () {} };
  o.fire = function () {
    notify(o);
  };
  obs.push(o);
  ex.respond(CONTENT, [uintOpt(OBSERVE, obsSeq++), uintOpt(CONTENT_FORMAT, r.format)], r.payload);
  arm(o, -1);
}

// ---- attributes ----

function attrKey(s: Session, path: number[]): string {
  return s.ssid + "/" + path.join("/");
}

function writeAttributes(s: Session, path: number[], query: string[]): number {
  const a = (attrs[attrKey(s, path)] || [-1, -1]).slice(0);
  for (const q of query) {
    const eq = q.indexOf("=");
    const name = eq < 0 ? q : q.substring(0, eq);
    const idx = name === "pmin" ? 0 : name === "pmax" ? 1 : -1;
    const text = q.substring(eq + 1);
    const v = eq < 0 ? -1 : parseInt(text, 10);
    if (idx < 0 || (eq >= 0 && !(v >= 0 && "" + v === text))) return BAD_REQUEST;
    a[idx] = v;
  }
  if (a[0] >= 0 && a[1] >= 0 && a[1] < a[0]) return BAD_REQUEST;
  attrs[attrKey(s, path)] = a;
  for (const o of obs) if (o.s === s && pathStartsWith(o.path, path)) arm(o, -1);
  return CHANGED;
}

/** Effective pmin (which 0) or pmax (1) in seconds: the nearest path level that sets it, else the server's. */
function period(s: Session, path: number[], which: number): number {
  for (let n = path.length; n >= 1; n--) {
    const a = attrs[attrKey(s, path.slice(0, n))];
    if (a && a[which] >= 0) return a[which];
  }
  return setting(s, which ? SRV_PMAX : SRV_PMIN, which ? -1 : 0);
}

function discover(s: Session, path: number[]): Link[] {
  const links: Link[] = [];
  const oid = path[0];
  const o = reg.obj(oid);
  if (!o) return links;
  if (path.length === 1) links.push(link(s, [oid]));
  for (const inst of o.insts) {
    if (path.length > 1 && inst.id !== path[1]) continue;
    if (path.length <= 2) links.push(link(s, [oid, inst.id]));
    for (const d of o.def.res) {
      if (path.length > 2 && d[0] !== path[2]) continue;
      const v = reg.get(oid, inst.id, d[0]);
      if (v === undefined && !(d[2] & E)) continue;
      const l = link(s, [oid, inst.id, d[0]]);
      if (d[2] & MULTI && v !== undefined) l.attrs.push(["dim", Object.keys(v as object).length]);
      links.push(l);
    }
  }
  return links;
}

function link(s: Session, path: number[]): Link {
  const l = plainLink(path);
  const a = attrs[attrKey(s, path)];
  if (a && a[0] >= 0) l.attrs.push(["pmin", a[0]]);
  if (a && a[1] >= 0) l.attrs.push(["pmax", a[1]]);
  return l;
}

// ---- observe ----

/** Ends the observations with this token (Observe deregister, RST to a notification). */
export function dmCancel(token: Uint8Array): void {
  for (let i = obs.length - 1; i >= 0; i--) if (bytesEqual(obs[i].token, token)) drop(i);
}

/** Forgets the observations of a server (de-registered, re-registered or gone). */
export function dmCancelSession(s: Session): void {
  for (let i = obs.length - 1; i >= 0; i--) if (obs[i].s === s) drop(i);
}

function drop(i: number): void {
  sched.cancel(obs[i].timer);
  obs.splice(i, 1);
}

/** changedAt: ms of a value change (-1: none), to notify no sooner than pmin after the last one. */
function arm(o: Observation, changedAt: number): void {
  sched.cancel(o.timer);
  o.timer = 0;
  const pmin = period(o.s, o.path, 0) * 1000;
  const pmax = period(o.s, o.path, 1) * 1000;
  const latest = o.last + Math.max(pmax, pmin);
  let at = changedAt < 0 ? -1 : Math.max(changedAt, o.last + pmin);
  if (pmax > 0 && (at < 0 || latest < at)) at = latest;
  if (at >= 0) o.timer = sched.after(at - sched.now(), o.fire);
}

function notify(o: Observation): void {
  const ep = o.s.conn ? o.s.conn.ep : null;
  const r = encodeRead(reg, o.path, o.format, true);
  const i = obs.indexOf(o);
  if (!ep || i < 0 || r.code !== CONTENT) {
    if (i >= 0) drop(i);
    return;
  }
  o.last = sched.now();
  ep.notify(o.token, [uintOpt(OBSERVE, obsSeq++ & 0xffffff), uintOpt(CONTENT_FORMAT, r.format)], r.payload, true);
  arm(o, -1);
}

/** Registry change hook: schedules notifications for observations covering path. */
export function dmChanged(path: number[]): void {
  const now = sched.now();
  for (const o of obs) if (pathStartsWith(o.path, path) || pathStartsWith(path, o.path)) arm(o, now);
}
