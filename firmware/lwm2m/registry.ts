// Objects -> instances -> resources, with the operations the interfaces need. Operations
// return CoAP response codes so the bootstrap and DM handlers can answer them directly.
import { Value, Entry, TypeLookup, pathStartsWith } from "../formats/model";
import { Coap } from "../coap/message";

export const enum Reg {
  // Resource flags: operations, multiple-instance, mandatory.
  R = 1,
  W = 2,
  E = 4,
  RW = 3,
  MULTI = 8,
  MAND = 16,
  // Write modes
  W_REPLACE = 0, // DM PUT: replaces the instance's writable resources / the resource
  W_UPDATE = 1, // DM POST: partial update
  W_BOOT = 2, // Bootstrap-Write: creates if absent, ignores unknown resources, no op checks
}

/** One number per resource: resourceId << 9 | T_* type << 5 | flags (never 0). */
export type ResDef = number;
export type MultiValue = { [riid: number]: Value };
/** A read by a server: which instances it may read (false: none of the server checks). */
export type ReadCheck = false | ((iid: number) => boolean);

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
  /** def.id */
  id: number;
  def: ObjectDef;
  insts: Instance[];
}

/** The resource's definition, 0 when there is no such object or resource (or no rid). */
export function resDef(o: ObjectStore | null, rid: number): ResDef {
  for (const d of o ? o.def.res : []) if (d >> 9 === rid) return d;
  return 0;
}

/** The item of list with this id, or null. */
function find<T extends { id: number }>(list: T[], id: number): T | null {
  for (let i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
  return null;
}

/** Puts x into list (ascending ids) in place of the item with the same id, if any. */
function place<T extends { id: number }>(list: T[], x: T): T {
  let i = 0;
  while (list[i] && list[i].id < x.id) i++;
  list.splice(i, list[i] && list[i].id === x.id ? 1 : 0, x);
  return x;
}

function byNumber(a: any, b: any): number {
  return a - b;
}

export interface Registry {
  objs: ObjectStore[];
  /** Called after a change; structural = instances were created or deleted. */
  onChange: ((path: number[], structural: boolean) => void) | null;
  readonly types: TypeLookup;
  add(def: ObjectDef): ObjectStore;
  obj(oid: number): ObjectStore | null;
  inst(oid: number, iid: number): Instance | null;
  /** Stored or computed value; undefined when absent. */
  get(oid: number, iid: number, rid: number): Value | MultiValue | undefined;
  num(oid: number, iid: number, rid: number, dflt: number): number;
  str(oid: number, iid: number, rid: number): string;
  /** A new (or replacing) instance with the object's defaults; null for a bad id. */
  createInst(oid: number, iid: number): Instance | null;
  /** The lowest id not in use. */
  freeInstanceId(oid: number): number;
  /** A copy holding only the given objects (definitions shared, instances copied). */
  stage(oids: number[]): Registry;
  /** Takes over the instances of every object of a staged copy. */
  adopt(staged: Registry): void;
  /** Appends the entries under path; check: honour the R operation, and only the instances it accepts. */
  read(path: number[], out: Entry[], check: ReadCheck): number;
  /** Writes decoded entries under path (length 1..4) in one of the W_* modes. */
  write(path: number[], entries: Entry[], mode: number): number;
  remove(oid: number, iid: number): number;
}

// A constructor and one prototype object rather than a class: the same objects, in fewer bytes.
export const Registry = function (this: Registry) {
  // types holds on to the list of objects (never replaced), not to the registry: no cycle
  // through the closure's scope, so a staged copy goes with its last reference.
  const objs: ObjectStore[] = (this.objs = []);
  this.onChange = null;
  (this as { types: TypeLookup }).types = function (oid: number, rid: number): number {
    return (resDef(find(objs, oid), rid) >> 5) & 15;
  };
} as unknown as { new (): Registry; prototype: Registry };

Registry.prototype = {
  add(this: Registry, def: ObjectDef): ObjectStore {
    return place(this.objs, { id: def.id, def: def, insts: [] });
  },

  obj(this: Registry, oid: number): ObjectStore | null {
    return find(this.objs, oid);
  },

  inst(this: Registry, oid: number, iid: number): Instance | null {
    const o = this.obj(oid);
    return o ? find(o.insts, iid) : null;
  },

  /** Stored or computed value; undefined when absent. */
  get(this: Registry, oid: number, iid: number, rid: number): Value | MultiValue | undefined {
    const o = this.obj(oid);
    const inst = this.inst(oid, iid);
    if (!inst) return undefined;
    const dyn = (o as ObjectStore).def.read;
    const v = dyn && dyn(iid, rid);
    return v !== undefined ? v : inst.v[rid];
  },

  num(this: Registry, oid: number, iid: number, rid: number, dflt: number): number {
    const v = this.get(oid, iid, rid);
    return typeof v === "number" ? v : typeof v === "boolean" ? +v : dflt;
  },

  str(this: Registry, oid: number, iid: number, rid: number): string {
    const v = this.get(oid, iid, rid);
    return typeof v === "string" ? v : "";
  },

  /** A new (or replacing) instance with the object's defaults; null for a bad id. */
  createInst(this: Registry, oid: number, iid: number): Instance | null {
    const o = this.obj(oid);
    if (!o || iid < 0 || iid > 65534) return null;
    const inst: Instance = { id: iid, v: {} };
    if (o.def.init) o.def.init(inst);
    return place(o.insts, inst);
  },

  /** The lowest id not in use. */
  freeInstanceId(this: Registry, oid: number): number {
    let id = 0;
    while (this.inst(oid, id)) id++;
    return id;
  },

  /** A copy holding only the given objects (definitions shared, instances copied). */
  stage(this: Registry, oids: number[]): Registry {
    const r = new Registry();
    for (const oid of oids) {
      const o = this.obj(oid);
      if (!o) continue;
      const c = r.add(o.def);
      for (const inst of o.insts) {
        const v: any = {};
        for (const k in inst.v) {
          const x = (inst.v as any)[k];
          // Multi values are plain maps; ObjLink has objectId and byte strings are Uint8Array.
          v[k] = typeof x === "object" && !(x instanceof Uint8Array) && !("objectId" in x) ? Object.assign({}, x) : x;
        }
        c.insts.push({ id: inst.id, v: v });
      }
    }
    return r;
  },

  /** Takes over the instances of every object of a staged copy. */
  adopt(this: Registry, staged: Registry): void {
    for (const s of staged.objs) {
      const o = this.obj(s.id);
      if (!o) continue;
      o.insts = s.insts;
      if (this.onChange) this.onChange([o.id], true);
    }
  },

  // ---- operations returning CoAP codes ----

  /** Appends the entries under path; check: honour the R operation, and only the instances it accepts. */
  read(this: Registry, path: number[], out: Entry[], check: ReadCheck): number {
    const oid = path[0];
    const o = this.obj(oid);
    const n = path.length;
    const one = n > 1 ? this.inst(oid, path[1]) : null;
    const d = resDef(o, path[2]);
    if (!o || (n > 1 && !one) || (n > 2 && !d)) return Coap.NOT_FOUND;
    if (d && check && !(d & Reg.R)) return Coap.METHOD_NOT_ALLOWED;
    const start = out.length;
    for (const inst of one ? [one] : o.insts) {
      if (check && !check(inst.id)) continue;
      const before = out.length;
      for (const r of d ? [d] : o.def.res) {
        if (check && !(r & Reg.R)) continue;
        const rid = r >> 9;
        const base = [oid, inst.id, rid];
        const v = this.get(oid, inst.id, rid) as any;
        if (v === undefined) continue;
        // a single resource, else its instances in ascending id order
        for (const k of r & Reg.MULTI ? Object.keys(v).sort(byNumber) : [""]) {
          if (n < 4 || (k && +k === path[3])) out.push({ path: k ? base.concat([+k]) : base, value: k ? v[k] : v });
        }
      }
      if (n < 3 && out.length === before) out.push({ path: [oid, inst.id], value: null });
    }
    return n < 3 || out.length > start ? Coap.CONTENT : Coap.NOT_FOUND;
  },

  /** Writes decoded entries under path (length 1..4) in one of the W_* modes. */
  write(this: Registry, path: number[], entries: Entry[], mode: number): number {
    const oid = path[0];
    const o = this.obj(oid);
    if (!o) return Coap.NOT_FOUND;
    const boot = mode === Reg.W_BOOT;
    const n = path.length;
    // Validate everything first so a rejected write changes nothing. Past the first check,
    // every entry's path starts with oid.
    for (const e of entries) {
      const p = e.path;
      const l = p.length;
      const d = resDef(o, p[2]); // 0 for a shorter path
      const bad = !pathStartsWith(p, path) && !(l === 2 && e.value === null && pathStartsWith(path, p)) ? Coap.BAD_REQUEST
        : l < 2 || (!boot && !find(o.insts, p[1])) ? Coap.NOT_FOUND
        // an unknown resource is skipped in a Bootstrap-Write or a write of the instance
        : l < 3 || (!d && (boot || n < 3)) ? 0
        : !d ? Coap.NOT_FOUND
        : !boot && !(d & Reg.W) ? Coap.METHOD_NOT_ALLOWED
        : (l === 4 && !(d & Reg.MULTI)) || e.value === null ? Coap.BAD_REQUEST : 0;
      if (bad) return bad;
    }
    const target = find(o.insts, path[1]);
    if (n > 1 && !boot && !target) return Coap.NOT_FOUND;
    let created = false;
    // The instances already emptied (W_REPLACE) and the multiple resources made anew.
    const fresh: unknown[] = [];
    for (const e of entries) {
      const p = e.path;
      const inst = find(o.insts, p[1]) || ((created = true), this.createInst(oid, p[1]));
      if (!inst) return Coap.BAD_REQUEST;
      const v = inst.v as any;
      const r = p[2];
      // Replace: the instance's writable resources (or the resource) go first.
      if (mode === Reg.W_REPLACE && fresh.indexOf(inst) < 0 && fresh.push(inst)) {
        for (const d of o.def.res) if ((n < 3 || d >> 9 === path[2]) && d & Reg.W) delete v[d >> 9];
      }
      const d = resDef(o, r);
      if (d & Reg.MULTI) {
        // A write of the whole resource replaces all its instances (a replace emptied it
        // above; a Bootstrap-Write empties it the first time).
        if (boot && n < 4 ? fresh.indexOf(v[r]) < 0 : !v[r]) fresh.push((v[r] = {}));
        if (p.length === 4) v[r][p[3]] = e.value;
      } else if (d) v[r] = e.value;
    }
    if (n === 2 && boot && !entries.length && !target) created = !!this.createInst(oid, path[1]);
    if (this.onChange) this.onChange(path, created);
    return Coap.CHANGED;
  },

  remove(this: Registry, oid: number, iid: number): number {
    const o = this.obj(oid);
    const list = o ? o.insts : [];
    const i = list.indexOf(find(list, iid) as Instance);
    if (i < 0) return Coap.NOT_FOUND;
    list.splice(i, 1);
    if (this.onChange) this.onChange([oid, iid], true);
    return Coap.DELETED;
  }
} as Registry;
