// Objects -> instances -> resources, with the operations the interfaces need. Operations
// return CoAP response codes so the bootstrap and DM handlers can answer them directly.
import { Value, Entry, TypeLookup, T_NONE } from "../formats/model";
import { CHANGED, CREATED, DELETED, CONTENT, BAD_REQUEST, NOT_FOUND, METHOD_NOT_ALLOWED } from "../coap/message";

// Resource flags: operations, multiple-instance, mandatory.
export const R = 1;
export const W = 2;
export const E = 4;
export const RW = 3;
export const MULTI = 8;
export const MAND = 16;

/** [resourceId, T_* type, flags] */
export type ResDef = [number, number, number];
export type MultiValue = { [riid: number]: Value };

export interface ObjectDef {
  id: number;
  multi: boolean;
  res: ResDef[];
  /** Value computed on read (current time, free memory); undefined = use the stored one. */
  read?: (iid: number, rid: number) => Value | undefined;
  exec?: (iid: number, rid: number, arg: string) => number;
  /** Fills defaults into a new instance. */
  init?: (inst: Instance) => void;
}

export interface Instance {
  id: number;
  v: { [rid: number]: Value | MultiValue };
}

export interface ObjectStore {
  def: ObjectDef;
  insts: Instance[];
}

// Write modes
export const W_REPLACE = 0; // DM PUT: replaces the instance's writable resources / the resource
export const W_UPDATE = 1; // DM POST: partial update
export const W_BOOT = 2; // Bootstrap-Write: creates if absent, ignores unknown resources, no op checks

function noChange(path: number[], structural: boolean): void {}

export function resDef(def: ObjectDef, rid: number): ResDef | null {
  for (let i = 0; i < def.res.length; i++) if (def.res[i][0] === rid) return def.res[i];
  return null;
}

function copyInstance(inst: Instance): Instance {
  const v: { [rid: number]: Value | MultiValue } = {};
  const keys = Object.keys(inst.v);
  for (let i = 0; i < keys.length; i++) {
    const x = inst.v[+keys[i]];
    v[+keys[i]] = isMulti(x) ? (Object.assign({}, x) as MultiValue) : x;
  }
  return { id: inst.id, v: v };
}

function isMulti(x: Value | MultiValue): x is MultiValue {
  // Multi values are plain maps; ObjLink has objectId and byte strings are Uint8Array.
  return typeof x === "object" && !(x instanceof Uint8Array) && !("objectId" in (x as object));
}

function sortedKeys(o: object): number[] {
  const keys = Object.keys(o);
  const out: number[] = [];
  for (let i = 0; i < keys.length; i++) out.push(+keys[i]);
  return out.sort(byNumber);
}

function byNumber(a: number, b: number): number {
  return a - b;
}

export class Registry {
  objs: ObjectStore[] = [];
  /** Called after a change; structural = instances were created or deleted. */
  onChange: (path: number[], structural: boolean) => void = noChange;
  readonly types: TypeLookup;

  constructor() {
    const self = this;
    this.types = function (oid: number, rid: number): number {
      const o = self.obj(oid);
      const d = o ? resDef(o.def, rid) : null;
      return d ? d[1] : T_NONE;
    };
  }

  add(def: ObjectDef): ObjectStore {
    const o: ObjectStore = { def: def, insts: [] };
    let i = this.objs.length;
    while (i > 0 && this.objs[i - 1].def.id > def.id) i--;
    this.objs.splice(i, 0, o);
    return o;
  }

  obj(oid: number): ObjectStore | null {
    for (let i = 0; i < this.objs.length; i++) if (this.objs[i].def.id === oid) return this.objs[i];
    return null;
  }

  inst(oid: number, iid: number): Instance | null {
    const o = this.obj(oid);
    if (!o) return null;
    for (let i = 0; i < o.insts.length; i++) if (o.insts[i].id === iid) return o.insts[i];
    return null;
  }

  /** Stored or computed value; undefined when absent. */
  get(oid: number, iid: number, rid: number): Value | MultiValue | undefined {
    const o = this.obj(oid);
    const inst = this.inst(oid, iid);
    if (!o || !inst) return undefined;
    const dyn = o.def.read ? o.def.read(iid, rid) : undefined;
    return dyn !== undefined ? dyn : inst.v[rid];
  }

  num(oid: number, iid: number, rid: number, dflt: number): number {
    const v = this.get(oid, iid, rid);
    return typeof v === "number" ? v : typeof v === "boolean" ? (v ? 1 : 0) : dflt;
  }

  str(oid: number, iid: number, rid: number): string {
    const v = this.get(oid, iid, rid);
    return typeof v === "string" ? v : "";
  }

  createInst(oid: number, iid: number): Instance | null {
    const o = this.obj(oid);
    if (!o || iid < 0 || iid > 65534) return null;
    const inst: Instance = { id: iid, v: {} };
    if (o.def.init) o.def.init(inst);
    let i = o.insts.length;
    while (i > 0 && o.insts[i - 1].id > iid) i--;
    if (i > 0 && o.insts[i - 1].id === iid) o.insts[i - 1] = inst;
    else o.insts.splice(i, 0, inst);
    return inst;
  }

  removeInst(oid: number, iid: number): boolean {
    const o = this.obj(oid);
    if (!o) return false;
    for (let i = 0; i < o.insts.length; i++) {
      if (o.insts[i].id === iid) {
        o.insts.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  freeInstanceId(oid: number): number {
    const o = this.obj(oid);
    let id = 0;
    if (o) for (let i = 0; i < o.insts.length && o.insts[i].id === id; i++) id++;
    return id;
  }

  /** A copy holding only the given objects (definitions shared, instances copied). */
  stage(oids: number[]): Registry {
    const r = new Registry();
    for (let i = 0; i < oids.length; i++) {
      const o = this.obj(oids[i]);
      if (!o) continue;
      const c = r.add(o.def);
      for (let k = 0; k < o.insts.length; k++) c.insts.push(copyInstance(o.insts[k]));
    }
    return r;
  }

  /** Takes over the instances of every object of a staged copy. */
  adopt(staged: Registry): void {
    for (let i = 0; i < staged.objs.length; i++) {
      const o = this.obj(staged.objs[i].def.id);
      if (o) {
        o.insts = staged.objs[i].insts;
        this.onChange([o.def.id], true);
      }
    }
  }

  // ---- operations returning CoAP codes ----

  /** Appends the entries under path; check = honour the R operation. */
  read(path: number[], out: Entry[], check: boolean): number {
    const o = this.obj(path[0]);
    if (!o) return NOT_FOUND;
    if (path.length === 1) {
      for (let i = 0; i < o.insts.length; i++) this.readInst(o, o.insts[i], out, check);
      return CONTENT;
    }
    const inst = this.inst(path[0], path[1]);
    if (!inst) return NOT_FOUND;
    if (path.length === 2) {
      this.readInst(o, inst, out, check);
      return CONTENT;
    }
    const d = resDef(o.def, path[2]);
    if (!d) return NOT_FOUND;
    if (check && !(d[2] & R)) return METHOD_NOT_ALLOWED;
    const n = out.length;
    this.readRes(o, inst, d, out);
    if (path.length === 4) {
      for (let i = out.length - 1; i >= n; i--) if (out[i].path[3] !== path[3]) out.splice(i, 1);
    }
    return out.length > n ? CONTENT : NOT_FOUND;
  }

  private readInst(o: ObjectStore, inst: Instance, out: Entry[], check: boolean): void {
    const n = out.length;
    for (let i = 0; i < o.def.res.length; i++) {
      const d = o.def.res[i];
      if (!check || d[2] & R) this.readRes(o, inst, d, out);
    }
    if (out.length === n) out.push({ path: [o.def.id, inst.id], value: null });
  }

  private readRes(o: ObjectStore, inst: Instance, d: ResDef, out: Entry[]): void {
    const v = this.get(o.def.id, inst.id, d[0]);
    if (v === undefined) return;
    if (d[2] & MULTI) {
      const m = v as MultiValue;
      const ids = sortedKeys(m);
      for (let i = 0; i < ids.length; i++) out.push({ path: [o.def.id, inst.id, d[0], ids[i]], value: m[ids[i]] });
    } else out.push({ path: [o.def.id, inst.id, d[0]], value: v as Value });
  }

  /** Writes decoded entries under path (length 1..4) in one of the W_* modes. */
  write(path: number[], entries: Entry[], mode: number): number {
    const o = this.obj(path[0]);
    if (!o) return NOT_FOUND;
    const boot = mode === W_BOOT;
    // Validate everything first so a rejected write changes nothing.
    for (let i = 0; i < entries.length; i++) {
      const p = entries[i].path;
      for (let k = 0; k < path.length && k < p.length; k++) if (p[k] !== path[k]) return BAD_REQUEST;
      if (p.length < path.length && !(p.length === 2 && entries[i].value === null)) return BAD_REQUEST;
      if (p.length < 2 || (!boot && !this.inst(p[0], p[1]))) return NOT_FOUND;
      if (p.length < 3) continue;
      const d = resDef(o.def, p[2]);
      if (!d) {
        if (boot || path.length < 3) continue;
        return NOT_FOUND;
      }
      if (!boot && !(d[2] & W)) return METHOD_NOT_ALLOWED;
      if (p.length === 4 && !(d[2] & MULTI)) return BAD_REQUEST;
      if (entries[i].value === null) return BAD_REQUEST;
    }
    if (path.length >= 2 && !boot && !this.inst(path[0], path[1])) return NOT_FOUND;
    let created = false;
    const cleared: string[] = [];
    for (let i = 0; i < entries.length; i++) {
      const p = entries[i].path;
      let inst = this.inst(p[0], p[1]);
      if (!inst) {
        inst = this.createInst(p[0], p[1]);
        if (!inst) return BAD_REQUEST;
        created = true;
      }
      const key = p[1] + "/" + (path.length > 2 ? p[2] : "");
      if (mode === W_REPLACE && cleared.indexOf(key) < 0) {
        cleared.push(key);
        this.clear(o.def, inst, path.length > 2 ? p[2] : -1);
      }
      if (p.length < 3) continue;
      const d = resDef(o.def, p[2]);
      if (!d) continue;
      const value = entries[i].value as Value;
      if (d[2] & MULTI) {
        let m = inst.v[p[2]] as MultiValue | undefined;
        // A write of the whole resource replaces all its instances.
        const rkey = p[1] + "/" + p[2] + "m";
        if (!m || (path.length < 4 && mode !== W_UPDATE && cleared.indexOf(rkey) < 0)) {
          m = {};
          inst.v[p[2]] = m;
          cleared.push(rkey);
        }
        if (p.length === 4) m[p[3]] = value;
      } else inst.v[p[2]] = value;
    }
    if (path.length === 2 && entries.length === 0 && boot && !this.inst(path[0], path[1])) {
      created = this.createInst(path[0], path[1]) !== null;
    }
    this.onChange(path, created);
    return CHANGED;
  }

  private clear(def: ObjectDef, inst: Instance, rid: number): void {
    for (let i = 0; i < def.res.length; i++) {
      const d = def.res[i];
      if ((rid < 0 || d[0] === rid) && d[2] & W) delete inst.v[d[0]];
    }
  }

  execute(path: number[], arg: string): number {
    const o = this.obj(path[0]);
    if (!o) return NOT_FOUND;
    if (!this.inst(path[0], path[1])) return NOT_FOUND;
    const d = resDef(o.def, path[2]);
    if (!d) return NOT_FOUND;
    if (!(d[2] & E) || !o.def.exec) return METHOD_NOT_ALLOWED;
    return o.def.exec(path[1], path[2], arg);
  }

  /** DM Create on /o; entries carry [o,i,r] paths (i = the new id or -1 for "choose"). */
  create(oid: number, iid: number, entries: Entry[]): number {
    const o = this.obj(oid);
    if (!o) return NOT_FOUND;
    if (iid < 0) iid = this.freeInstanceId(oid);
    if (this.inst(oid, iid) || (!o.def.multi && o.insts.length > 0)) return BAD_REQUEST;
    for (let i = 0; i < entries.length; i++) {
      const p = entries[i].path;
      if (p.length < 3) continue;
      const d = resDef(o.def, p[2]);
      if (!d) return NOT_FOUND;
      if (!(d[2] & W)) return METHOD_NOT_ALLOWED;
    }
    const inst = this.createInst(oid, iid) as Instance;
    for (let i = 0; i < entries.length; i++) {
      const p = entries[i].path;
      if (p.length === 3) inst.v[p[2]] = entries[i].value as Value;
      else if (p.length === 4) {
        const m = (inst.v[p[2]] || (inst.v[p[2]] = {})) as MultiValue;
        m[p[3]] = entries[i].value as Value;
      }
    }
    this.onChange([oid, iid], true);
    return CREATED;
  }

  remove(oid: number, iid: number): number {
    if (!this.removeInst(oid, iid)) return NOT_FOUND;
    this.onChange([oid, iid], true);
    return DELETED;
  }
}
