// Device Management and Information Reporting from a registered server: Read, Write, Execute,
// Create, Delete, Discover, Write-Attributes, Observe/Notify. /0 is never reachable here.
import { Scheduler } from "../lib/scheduler";
import { Value, pathStartsWith, Model } from "../formats/model";
import { Cf } from "../formats/content-format";
import { Exchange } from "../coap/endpoint";
import { getStringOptions, getUintOption, Coap } from "../coap/message";
import { utf8Decode, bytesEqual } from "../lib/bytes";
import { Registry, Instance, MultiValue, resDef, Reg } from "./registry";
import { Session, setting } from "./registration";
import { uintOpt, strOpt } from "./conn";
import { requestPath, decodeRequest, encodeRead, respondRead, respondLinks } from "./content";
import { Srv } from "./objects/server";

interface Observation {
  s: Session;
  token: Uint8Array;
  path: number[];
  format: number;
  last: number;
  timer: number;
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
  if (!path) return ex.respond(Coap.NOT_FOUND);
  const n = path.length;
  const oid = path[0];
  if (n === 0) return ex.respond(Coap.METHOD_NOT_ALLOWED);
  if (oid === 0) return ex.respond(Coap.UNAUTHORIZED);
  const o = reg.obj(oid);
  if (!o) return ex.respond(Coap.NOT_FOUND);
  let code = Coap.METHOD_NOT_ALLOWED;
  let mode = -1;
  switch (req.code) {
    case Coap.GET: {
      const accept = getUintOption(req, Coap.ACCEPT);
      if (accept === Cf.CF_LINK) return respondLinks(ex, discover(s, path));
      const observe = getUintOption(req, Coap.OBSERVE);
      if (observe >= 0) dmCancel(req.token);
      const r = respondRead(ex, reg, path, accept, true, observe === 0 ? obsSeq : -1);
      if (observe !== 0 || r.code !== Coap.CONTENT) return;
      obsSeq++;
      const o: Observation = { s: s, token: new Uint8Array(req.token), path: path, format: r.format, last: sched.now(), timer: 0 };
      obs.push(o);
      return arm(o, -1);
    }
    case Coap.PUT: {
      const query = getStringOptions(req, Coap.URI_QUERY);
      if (!req.payload && query.length > 0) code = writeAttributes(s, path, query);
      else if (n > 1) mode = Reg.W_REPLACE;
      break;
    }
    case Coap.POST:
      if (n === 3) {
        const d = reg.inst(oid, path[1]) ? resDef(o.def, path[2]) : 0;
        code = !d ? Coap.NOT_FOUND : !(d & Reg.E) || !o.def.exec ? Coap.METHOD_NOT_ALLOWED : o.def.exec(path[1], path[2], req.payload ? utf8Decode(req.payload) : "");
      }
      else if (n === 2) mode = Reg.W_UPDATE;
      else if (n === 1) {
        // Create
        const entries = decodeRequest(reg, path, req);
        if (typeof entries === "number") return ex.respond(entries);
        let iid = -1;
        for (const e of entries) {
          const id = e.path[1];
          if (id === Model.NO_ID) continue;
          if (iid >= 0 && id !== iid) return ex.respond(Coap.BAD_REQUEST);
          iid = id;
        }
        if (iid < 0) iid = reg.freeInstanceId(oid);
        if (reg.inst(oid, iid) || (!o.def.multi && o.insts.length > 0)) return ex.respond(Coap.BAD_REQUEST);
        for (const e of entries) {
          const d = e.path.length < 3 ? 0 : resDef(o.def, e.path[2]);
          if (e.path.length > 2 && !(d & Reg.W)) return ex.respond(d ? Coap.METHOD_NOT_ALLOWED : Coap.NOT_FOUND);
        }
        const inst = reg.createInst(oid, iid) as Instance;
        for (const e of entries) {
          const p = e.path;
          if (p.length === 3) inst.v[p[2]] = e.value as Value;
          else if (p.length === 4) ((inst.v[p[2]] || (inst.v[p[2]] = {})) as MultiValue)[p[3]] = e.value as Value;
        }
        if (reg.onChange) reg.onChange([oid, iid], true);
        return ex.respond(Coap.CREATED, [strOpt(Coap.LOCATION_PATH, "" + oid), strOpt(Coap.LOCATION_PATH, "" + iid)]);
      }
      break;
    case Coap.DELETE:
      if (n === 2 && oid !== 1 && oid !== 3) code = reg.remove(oid, path[1]);
  }
  if (mode >= 0) {
    const entries = decodeRequest(reg, path, req);
    code = typeof entries === "number" ? entries : reg.write(path, entries, mode);
  }
  ex.respond(code);
}

// ---- attributes ----

function writeAttributes(s: Session, path: number[], query: string[]): number {
  const key = s.ssid + "/" + path.join("/");
  const a = (attrs[key] || [-1, -1]).slice(0);
  for (const q of query) {
    const eq = q.indexOf("=");
    const name = eq < 0 ? q : q.substring(0, eq);
    const idx = name === "pmin" ? 0 : name === "pmax" ? 1 : -1;
    const text = q.substring(eq + 1);
    const v = eq < 0 ? -1 : parseInt(text, 10);
    if (idx < 0 || (eq >= 0 && !(v >= 0 && "" + v === text))) return Coap.BAD_REQUEST;
    a[idx] = v;
  }
  if (a[0] >= 0 && a[1] >= 0 && a[1] < a[0]) return Coap.BAD_REQUEST;
  attrs[key] = a;
  for (const o of obs) if (o.s === s && pathStartsWith(o.path, path)) arm(o, -1);
  return Coap.CHANGED;
}

/** Effective pmin (which 0) or pmax (1) in seconds: the nearest path level that sets it, else the server's. */
function period(s: Session, path: number[], which: number): number {
  for (let n = path.length; n >= 1; n--) {
    const a = attrs[s.ssid + "/" + path.slice(0, n).join("/")];
    if (a && a[which] >= 0) return a[which];
  }
  return setting(s, which ? Srv.SRV_PMAX : Srv.SRV_PMIN, which ? -1 : 0);
}

/** DM Discover: the object, instances and resources under path, with their attributes. */
function discover(s: Session, path: number[]): string {
  let t = "";
  const oid = path[0];
  const o = reg.obj(oid);
  if (!o) return t;
  // one link per listed path: the object itself (path /o), instances (up to /o/i), resources
  for (let i = path.length === 1 ? -1 : 0; i < o.insts.length; i++) {
    const inst = o.insts[i];
    if (i >= 0 && path.length > 1 && inst.id !== path[1]) continue;
    for (let r = i < 0 || path.length <= 2 ? -1 : 0; r < (i < 0 ? 0 : o.def.res.length); r++) {
      const d = o.def.res[r];
      const p = i < 0 ? [oid] : r < 0 ? [oid, inst.id] : [oid, inst.id, d >> 9];
      let dim = "";
      if (r >= 0) {
        if (path.length > 2 && d >> 9 !== path[2]) continue;
        const v = reg.get(oid, inst.id, d >> 9);
        if (v === undefined && !(d & Reg.E)) continue;
        if (d & Reg.MULTI && v !== undefined) dim = ";dim=" + Object.keys(v as object).length;
      }
      const a = attrs[s.ssid + "/" + p.join("/")];
      t += ",</" + p.join("/") + ">" + (a && a[0] >= 0 ? ";pmin=" + a[0] : "") + (a && a[1] >= 0 ? ";pmax=" + a[1] : "") + dim;
    }
  }
  return t.substring(1);
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
  if (at >= 0) o.timer = sched.after(at - sched.now(), notify, o);
}

function notify(o: Observation): void {
  const ep = o.s.conn ? o.s.conn.ep : null;
  const r = encodeRead(reg, o.path, o.format, true);
  const i = obs.indexOf(o);
  if (!ep || i < 0 || r.code !== Coap.CONTENT) {
    if (i >= 0) drop(i);
    return;
  }
  o.last = sched.now();
  ep.notify(o.token, [uintOpt(Coap.OBSERVE, obsSeq++ & 0xffffff), uintOpt(Coap.CONTENT_FORMAT, r.format)], r.payload, true);
  arm(o, -1);
}

/** Registry change hook: schedules notifications for observations covering path. */
export function dmChanged(path: number[]): void {
  const now = sched.now();
  for (const o of obs) if (pathStartsWith(o.path, path) || pathStartsWith(path, o.path)) arm(o, now);
}
