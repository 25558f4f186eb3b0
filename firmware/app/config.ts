// Out-of-band provisioning from the console: the bootstrap account and the endpoint name.
import { Registry } from "../lwm2m/registry";
import { parseUri } from "../lwm2m/uri";
import { saveConfig, saveEndpoint } from "../lwm2m/persist";
import { bootstrapAccount, purge, MODE_NOSEC } from "../lwm2m/objects/security";
import { BS_CREDENTIAL, Txn, credentialMode, removeCredential } from "../lwm2m/credentials";
import { credentialComplete, keysOf } from "./credcmd";

export interface Configurable {
  reg: Registry;
  endpoint: string;
}

export function storeFailed(rc: number): string {
  return rc < 0 ? "store failed (" + rc + ")" : "";
}

/** Saves a staged copy of /0../2 and makes it live; "" or the reason it failed. */
export function commit(a: Configurable, staged: Registry, t?: Txn): string {
  const rc = t ? saveConfig(staged, t[0], t[1]) : saveConfig(staged);
  if (rc >= 0) a.reg.adopt(staged);
  return storeFailed(rc);
}

/** Creates or updates the bootstrap account: coaps:// once its credential (handle 1) is complete. */
export function setBootstrapUri(a: Configurable, uri: string): string {
  const u = parseUri(uri);
  if (!u) return "bad URI '" + uri + "' (want coap://host:port)";
  if (u.secure && !credentialComplete(BS_CREDENTIAL)) return "set the bootstrap credentials first";
  const staged = a.reg.stage([0, 1, 2]);
  const iid = bootstrapAccount(staged);
  const inst = iid >= 0 ? staged.inst(0, iid) : staged.createInst(0, staged.freeInstanceId(0));
  if (!inst) return "no room for the bootstrap account";
  const v = inst.v;
  v[0] = uri;
  v[1] = true;
  keysOf(v, BS_CREDENTIAL, u.secure ? credentialMode(BS_CREDENTIAL) : MODE_NOSEC);
  return commit(a, staged);
}

/** Endpoint client names: 1..64 printable ASCII characters, no space, '&', '?', '/' or '='. */
export function setEndpoint(a: Configurable, name: string): string {
  if (name.length < 1 || name.length > 64) return "endpoint name must be 1..64 characters";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 32 || c > 126 || "&?/=".indexOf(name.charAt(i)) >= 0) return "bad character in endpoint name";
  }
  const rc = saveEndpoint(name);
  if (rc >= 0) a.endpoint = name;
  return storeFailed(rc);
}

/** Forgets every server account (with its credential) and setting; keeps the bootstrap account. */
export function factoryReset(a: Configurable): string {
  const staged = a.reg.stage([0, 1, 2]);
  const t: Txn = [[], []];
  const sec = staged.obj(0);
  if (sec) for (const inst of sec.insts) if (inst.v[1] !== true && inst.id < 254) removeCredential(t, inst.id + 2);
  for (const o of staged.objs) purge(staged, o.def.id);
  return commit(a, staged, t);
}
