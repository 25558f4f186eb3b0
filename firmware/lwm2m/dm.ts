// Device Management and Information Reporting from a registered server: Read, Write, Execute,
// Create, Delete, Discover, Write-Attributes, Observe/Notify. /0 is never reachable here.
// With several management servers, the Access Control object (/2) decides who may do what.
import { Scheduler } from "../lib/scheduler";
import { pathStartsWith, Model } from "../formats/model";
import { Cf } from "../formats/content-format";
import { Exchange } from "../coap/endpoint";
import { getStringOptions, getUintOption, Coap } from "../coap/message";
import { utf8Decode, bytesEqual } from "../lib/bytes";
import { Registry, ObjectStore, resDef, Reg } from "./registry";
import { Session, setting } from "./registration";
import { uintOpt, strOpt } from "./conn";
import { requestPath, decodeRequest, encodeRead, respondRead, respondLinks } from "./content";
import { Srv } from "./objects/server";
import { saveConfig } from "./persist";
import { logWrn } from "../lib/log";
import { aclAllows, aclCreated, aclDeleted, Acl } from "./objects/access-control";

const enum K {
  /** dmHandle's mode for a Create, past the registry's W_* write modes */
  CREATE = 3,
}

interface Observation {
  s: Session;
  token: Uint8Array;
  path: number[];
  format: number;
  last: number;
  timer: number;
  /** Which instances the server may read. */
  may: (iid: number) => boolean;
}

let reg: Registry;
let sched: Scheduler;
let obs: Observation[] = [];
/** Attributes [pmin, pmax] (-1 = unset) per server and path. */
let attrs: { [key: string]: number[] } = {};
let obsSeq = 1;
/** The attribute names, by index in attrs' values. */
const ATTRS = ["pmin", "pmax"];

export function dmInit(r: Registry, s: Scheduler): void {
  reg = r;
  sched = s;
  obs = [];
  attrs = {};
}

export function dmHandle(ex: Exchange, s: Session): void {
  const req = ex.request;
  // not an LwM2M path: as an unknown object
  const path = requestPath(req) || [-1];
  const n = path.length;
  const oid = path[0];
  const o = oid ? reg.obj(oid) : null;
  if (!o) return ex.respond(!n ? Coap.METHOD_NOT_ALLOWED : oid === 0 ? Coap.UNAUTHORIZED : Coap.NOT_FOUND);
  const c = req.code;
  const accept = getUintOption(req, Coap.ACCEPT);
  const query = getStringOptions(req, Coap.URI_QUERY);
  const wattr = c === Coap.PUT && !req.payload && query.length > 0;
  // Access rights (LwM2M 1.1 E.3): R for Read, Observe and Write-Attributes, W, E, D on the
  // instance, C on /oid/65535 for a Create; Discover is not subject to them. A Read or Observe
  // of the object gets only the instances the server may read.
  const right = c === Coap.GET ? (accept === Cf.CF_LINK ? 0 : Acl.R) : c === Coap.DELETE ? Acl.D
    : c === Coap.POST ? [Acl.C, Acl.W, Acl.E][n - 1] : wattr ? Acl.R : Acl.W;
  const may = function (iid: number): boolean {
    return aclAllows(reg, s.ssid, oid, iid, right);
  };
  if (right && (n > 1 || right === Acl.C) && !may(n > 1 ? path[1] : Acl.CREATE_IID)) return ex.respond(Coap.UNAUTHORIZED);
  let code = Coap.METHOD_NOT_ALLOWED;
  let mode = -1;
  switch (c) {
    case Coap.GET: {
      if (!right) return respondLinks(ex, discover(s, o, path));
      const observe = getUintOption(req, Coap.OBSERVE);
      if (observe >= 0) dmCancel(req.token);
      const r = respondRead(ex, reg, path, accept, may, observe === 0 ? obsSeq : -1);
      if (observe !== 0 || r.code !== Coap.CONTENT) return;
      obsSeq++;
      const x: Observation = { s: s, token: new Uint8Array(req.token), path: path, format: r.format, last: sched.now(), timer: 0, may: may };
      obs.push(x);
      return arm(x, -1);
    }
    case Coap.PUT:
      if (wattr) code = writeAttributes(s, path, query);
      else if (n > 1) mode = Reg.W_REPLACE;
      break;
    case Coap.POST:
      if (n === 3) {
        const d = reg.inst(oid, path[1]) ? resDef(o, path[2]) : 0;
        code = !d ? Coap.NOT_FOUND : !(d & Reg.E) || !o.def.exec ? Coap.METHOD_NOT_ALLOWED : o.def.exec(path[1], path[2], req.payload ? utf8Decode(req.payload) : "");
      }
      else if (n < 3) mode = n === 2 ? Reg.W_UPDATE : K.CREATE;
      break;
    case Coap.DELETE:
      if (n === 2 && oid !== 1 && oid !== 3) {
        code = reg.remove(oid, path[1]);
        aclDeleted(reg, oid, path[1]);
      }
  }
  if (mode >= 0) {
    const entries = decodeRequest(reg, path, req);
    if (typeof entries === "number") code = entries;
    else if (mode !== K.CREATE) code = reg.write(path, entries, mode);
    else {
      // Create: one instance id (or none); any resource but an executable one (a Create sets
      // read-only resources too), every mandatory one. The first problem in the order: mixed
      // ids, id in use (or a second instance of a single one), resources.
      let iid = -1;
      code = 0;
      for (const e of entries) {
        const p = e.path;
        const d = resDef(o, p[2]);
        if (!code && p.length > 2 && (!d || d & Reg.E)) code = d ? Coap.BAD_REQUEST : Coap.NOT_FOUND;
        if (p[1] === Model.NO_ID) continue;
        if (iid >= 0 && p[1] !== iid) return ex.respond(Coap.BAD_REQUEST);
        iid = p[1];
      }
      for (const d of o.def.res) {
        if ((d & (Reg.MAND | Reg.E)) === Reg.MAND && !entries.some((e) => e.path[2] === d >> 9)) code = code || Coap.BAD_REQUEST;
      }
      if (iid < 0) iid = reg.freeInstanceId(oid);
      // (an id the store can keep, for the objects it stores)
      if (reg.inst(oid, iid) || (!o.def.multi && o.insts.length) || (oid < 3 && iid > 253)) code = Coap.BAD_REQUEST;
      if (code) return ex.respond(code);
      const v = (reg.createInst(oid, iid) as { v: any }).v;
      for (const e of entries) {
        const p = e.path;
        if (p.length === 3) v[p[2]] = e.value;
        else if (p.length === 4) (v[p[2]] || (v[p[2]] = {}))[p[3]] = e.value;
      }
      aclCreated(reg, s.ssid, oid, iid);
      if (reg.onChange) reg.onChange([oid, iid], true);
      store();
      return ex.respond(Coap.CREATED, [strOpt(Coap.LOCATION_PATH, "" + oid), strOpt(Coap.LOCATION_PATH, "" + iid)]);
    }
  }
  // A change to /1 or /2, or a Delete (which may take an ACL instance along), is stored.
  if (code < Coap.BAD_REQUEST && (c === Coap.DELETE || (mode >= 0 && oid < 3))) store();
  ex.respond(code);
}

/** Stores the configuration a server changed; when the store fails the change stays in RAM
 * (and is stored with the next one). */
function store(): void {
  const rc = saveConfig(reg);
  if (rc < 0) logWrn("dm", "storing the change failed (" + rc + ")");
}

// ---- attributes ----

function attrsAt(s: Session, path: number[]): number[] | undefined {
  return attrs[s.ssid + "/" + path.join("/")];
}

function writeAttributes(s: Session, path: number[], query: string[]): number {
  const a = (attrsAt(s, path) || [-1, -1]).slice();
  for (const q of query) {
    const eq = q.indexOf("=");
    const idx = ATTRS.indexOf(eq < 0 ? q : q.substring(0, eq));
    const text = q.substring(eq + 1);
    // decimal digits only (what parseInt reads otherwise does not print back the same)
    const v = eq < 0 ? -1 : parseInt(text);
    if (idx < 0 || (eq >= 0 && !(v >= 0 && "" + v === text))) return Coap.BAD_REQUEST;
    a[idx] = v;
  }
  if (a[0] >= 0 && a[1] >= 0 && a[1] < a[0]) return Coap.BAD_REQUEST;
  attrs[s.ssid + "/" + path.join("/")] = a;
  for (const o of obs) if (o.s === s && pathStartsWith(o.path, path)) arm(o, -1);
  return Coap.CHANGED;
}

/** Effective pmin (which 0) or pmax (1) in seconds: the nearest path level that sets it, else the server's. */
function period(s: Session, path: number[], which: number): number {
  for (let n = path.length; n > 0; n--) {
    const a = attrsAt(s, path.slice(0, n));
    if (a && a[which] >= 0) return a[which];
  }
  // the server's, pmax unset by default (-1; -0 for pmin is 0 in every sum)
  return setting(s, Srv.SRV_PMIN + which, -which);
}

/** ",</path>" with the attributes set there, then more (";dim=2"). */
function link(s: Session, p: number[], more: string): string {
  const a = attrsAt(s, p);
  let t = ",</" + p.join("/") + ">";
  for (let i = 0; i < 2; i++) if (a && a[i] >= 0) t += ";" + ATTRS[i] + "=" + a[i];
  return t + more;
}

/** DM Discover: the object (path /o), instances (up to /o/i) and resources under path, with their attributes. */
function discover(s: Session, o: ObjectStore, path: number[]): string {
  const oid = path[0];
  const n = path.length;
  let t = n < 2 ? link(s, [oid], "") : "";
  for (const inst of o.insts) {
    if (n > 1 && inst.id !== path[1]) continue;
    if (n < 3) t += link(s, [oid, inst.id], "");
    for (const d of o.def.res) {
      const rid = d >> 9;
      if (n > 2 && rid !== path[2]) continue;
      const v = reg.get(oid, inst.id, rid);
      if (v === undefined && !(d & Reg.E)) continue;
      t += link(s, [oid, inst.id, rid], d & Reg.MULTI && v !== undefined ? ";dim=" + Object.keys(v as object).length : "");
    }
  }
  return t.substring(1);
}

// ---- observe ----

/** Ends the observations with this token (Observe deregister, RST to a notification) or of
 * this server (de-registered, re-registered or gone). */
export function dmCancel(by: Uint8Array | Session): void {
  for (let i = obs.length - 1; i >= 0; i--) if (by instanceof Uint8Array ? bytesEqual(obs[i].token, by) : obs[i].s === by) drop(i);
}

/** Forgets the observations of a server. */
export const dmCancelSession: (s: Session) => void = dmCancel;

function drop(i: number): void {
  sched.cancel(obs[i].timer);
  obs.splice(i, 1);
}

/** changedAt: ms of a value change (-1: none), to notify no sooner than pmin after the last one. */
function arm(o: Observation, changedAt: number): void {
  sched.cancel(o.timer);
  const pmin = period(o.s, o.path, 0) * 1000;
  const pmax = period(o.s, o.path, 1) * 1000;
  const latest = o.last + Math.max(pmax, pmin);
  let at = changedAt < 0 ? -1 : Math.max(changedAt, o.last + pmin);
  if (pmax > 0 && (at < 0 || latest < at)) at = latest;
  o.timer = at >= 0 ? sched.after(at - sched.now(), notify, o) : 0;
}

function notify(o: Observation): void {
  const ep = o.s.conn ? o.s.conn.ep : null;
  const r = encodeRead(reg, o.path, o.format, o.may);
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
