// Objects -> instances -> resources, with the operations the interfaces need. Operations
// return CoAP response codes so the bootstrap and DM handlers can answer them directly.
import { Value, Entry, TypeLookup, pathStartsWith, Model } from "../formats/model";
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

/** The resource's definition, 0 when the object has no such resource. */
export function resDef(def: ObjectDef, rid: number): ResDef {
  for (const d of def.res) if (d >> 9 === rid) return d;
  return 0;
}

export class Registry {
  objs: ObjectStore[] = [];
  /** Called after a change; structural = instances were created or deleted. */
  onChange: ((path: number[], structural: boolean) => void) | null = null;
  readonly types: TypeLookup;

  constructor() {
    const self = this;
    this.types = function (oid: number, rid: number): number {
      const o = self.obj(oid);
      return o ? (resDef(o.def, rid) >> 5) & 15 : Model.T_NONE;
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
    for (const o of this.objs) if (o.def.id === oid) return o;
    return null;
  }

  inst(oid: number, iid: number): Instance | null {
    const o = this.obj(oid);
    for (const inst of o ? o.insts : []) if (inst.id === iid) return inst;
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
    return typeof v === "number" ? v : typeof v === "boolean" ? +v : dflt;
  }

  str(oid: number, iid: number, rid: number): string {
    const v = this.get(oid, iid, rid);
    return typeof v === "string" ? v : "";
  }

  /** A new (or replacing) instance with the object's defaults; null for a bad id. */
  createInst(oid: number, iid: number): Instance | null {
    const o = this.obj(oid);
    if (!o || iid < 0 || iid > 65534) return null;
    const inst: Instance = { id: iid, v: {} };
    if (o.def.init) o.def.init(inst);
    const list = o.insts;
    let i = list.length;
    while (i > 0 && list[i - 1].id > iid) i--;
    const replaces = i > 0 && list[i - 1].id === iid;
    list.splice(replaces ? i - 1 : i, replaces ? 1 : 0, inst);
    return inst;
  }

  /** The lowest id not in use. */
  freeInstanceId(oid: number): number {
    let id = 0;
    while (this.inst(oid, id)) id++;
    return id;
  }

  /** A copy holding only the given objects (definitions shared, instances copied). */
  stage(oids: number[]): Registry {
    const r = new Registry();
    for (const oid of oids) {
      const o = this.obj(oid);
      if (!o) continue;
      const c = r.add(o.def);
      for (const inst of o.insts) {
        const v: Instance["v"] = {};
        for (const k of Object.keys(inst.v)) {
          const x = inst.v[+k];
          // Multi values are plain maps; ObjLink has objectId and byte strings are Uint8Array.
          v[+k] = typeof x === "object" && !(x instanceof Uint8Array) && !("objectId" in x) ? (Object.assign({}, x) as MultiValue) : x;
        }
        c.insts.push({ id: inst.id, v: v });
      }
    }
    return r;
  }

  /** Takes over the instances of every object of a staged copy. */
  adopt(staged: Registry): void {
    for (const s of staged.objs) {
      const o = this.obj(s.def.id);
      if (!o) continue;
      o.insts = s.insts;
      if (this.onChange) this.onChange([o.def.id], true);
    }
  }

  // ---- operations returning CoAP codes ----

  /** Appends the entries under path; check = honour the R operation. */
  read(path: number[], out: Entry[], check: boolean): number {
    const o = this.obj(path[0]);
    const n = path.length;
    if (!o) return Coap.NOT_FOUND;
    const d = n > 2 ? resDef(o.def, path[2]) : 0;
    if (n > 1 && (!this.inst(path[0], path[1]) || (n > 2 && !d))) return Coap.NOT_FOUND;
    if (d && check && !(d & Reg.R)) return Coap.METHOD_NOT_ALLOWED;
    const start = out.length;
    for (const inst of o.insts) {
      if (n > 1 && inst.id !== path[1]) continue;
      const before = out.length;
      for (const r of o.def.res) {
        if ((d && r !== d) || (check && !(r & Reg.R))) continue;
        const base = [o.def.id, inst.id, r >> 9];
        const v = this.get(o.def.id, inst.id, r >> 9);
        if (v === undefined) continue;
        if (!(r & Reg.MULTI)) {
          if (n < 4) out.push({ path: base, value: v as Value });
          continue;
        }
        // resource instances in ascending id order (an insertion sort of the few keys)
        const ids: number[] = [];
        for (const k of Object.keys(v as object)) {
          let j = ids.length;
          for (; j > 0 && ids[j - 1] > +k; j--) ids[j] = ids[j - 1];
          ids[j] = +k;
        }
        for (const ri of ids) {
          if (n < 4 || ri === path[3]) out.push({ path: base.concat([ri]), value: (v as MultiValue)[ri] });
        }
      }
      if (n < 3 && out.length === before) out.push({ path: [o.def.id, inst.id], value: null });
    }
    return n < 3 || out.length > start ? Coap.CONTENT : Coap.NOT_FOUND;
  }

  /** Writes decoded entries under path (length 1..4) in one of the W_* modes. */
  write(path: number[], entries: Entry[], mode: number): number {
    const o = this.obj(path[0]);
    if (!o) return Coap.NOT_FOUND;
    const boot = mode === Reg.W_BOOT;
    const n = path.length;
    // Validate everything first so a rejected write changes nothing.
    for (const e of entries) {
      const p = e.path;
      if (!pathStartsWith(p, path) && !(p.length === 2 && e.value === null && pathStartsWith(path, p))) return Coap.BAD_REQUEST;
      if (p.length < 2 || (!boot && !this.inst(p[0], p[1]))) return Coap.NOT_FOUND;
      if (p.length < 3) continue;
      const d = resDef(o.def, p[2]);
      if (!d) {
        if (boot || n < 3) continue;
        return Coap.NOT_FOUND;
      }
      if (!boot && !(d & Reg.W)) return Coap.METHOD_NOT_ALLOWED;
      if ((p.length === 4 && !(d & Reg.MULTI)) || e.value === null) return Coap.BAD_REQUEST;
    }
    if (n > 1 && !boot && !this.inst(path[0], path[1])) return Coap.NOT_FOUND;
    let created = false;
    // Instances and resources already emptied by this write (replace semantics).
    const cleared: string[] = [];
    for (const e of entries) {
      const p = e.path;
      let inst = this.inst(p[0], p[1]);
      if (!inst) {
        inst = this.createInst(p[0], p[1]);
        if (!inst) return Coap.BAD_REQUEST;
        created = true;
      }
      const rid = n > 2 ? p[2] : -1;
      if (mode === Reg.W_REPLACE && firstTime(cleared, p[1] + "/" + rid)) {
        for (const d of o.def.res) if ((rid < 0 || d >> 9 === rid) && d & Reg.W) delete inst.v[d >> 9];
      }
      const d = p.length > 2 ? resDef(o.def, p[2]) : 0;
      if (!d) continue;
      if (!(d & Reg.MULTI)) {
        inst.v[p[2]] = e.value as Value;
        continue;
      }
      // A write of the whole resource replaces all its instances.
      let m = inst.v[p[2]] as MultiValue | undefined;
      if (firstTime(cleared, p[1] + "/" + p[2] + "m") && (!m || (n < 4 && mode !== Reg.W_UPDATE))) m = inst.v[p[2]] = {};
      if (p.length === 4) (m as MultiValue)[p[3]] = e.value as Value;
    }
    if (n === 2 && boot && !entries.length && !this.inst(path[0], path[1])) created = !!this.createInst(path[0], path[1]);
    if (this.onChange) this.onChange(path, created);
    return Coap.CHANGED;
  }

  remove(oid: number, iid: number): number {
    const o = this.obj(oid);
    const inst = this.inst(oid, iid);
    if (!o || !inst) return Coap.NOT_FOUND;
    o.insts.splice(o.insts.indexOf(inst), 1);
    if (this.onChange) this.onChange([oid, iid], true);
    return Coap.DELETED;
  }
}

/** True (and records key) the first time key is seen. */
function firstTime(seen: string[], key: string): boolean {
  if (seen.indexOf(key) >= 0) return false;
  seen.push(key);
  return true;
}
