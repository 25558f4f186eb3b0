// Out-of-band provisioning from the console: the bootstrap account and the endpoint name.
import { Registry } from "../lwm2m/registry";
import { parseUri } from "../lwm2m/uri";
import { saveConfig, saveEndpoint } from "../lwm2m/persist";
import { bootstrapAccount, purge, MODE_NOSEC } from "../lwm2m/objects/security";

export interface Configurable {
  reg: Registry;
  endpoint: string;
}

function storeFailed(rc: number): string {
  return rc < 0 ? "store failed (" + rc + ")" : "";
}

/** Saves a staged copy of /0../2 and makes it live; "" or the reason it failed. */
function commit(a: Configurable, staged: Registry): string {
  const rc = saveConfig(staged);
  if (rc >= 0) a.reg.adopt(staged);
  return storeFailed(rc);
}

/** Creates or updates the bootstrap account (NoSec); "" or the reason for refusing. */
export function setBootstrapUri(a: Configurable, uri: string): string {
  const u = parseUri(uri);
  if (!u) return "bad URI '" + uri + "' (want coap://host:port)";
  if (u.secure) return "coaps:// needs credentials, not settable from the console";
  const staged = a.reg.stage([0, 1, 2]);
  const iid = bootstrapAccount(staged);
  const inst = iid >= 0 ? staged.inst(0, iid) : staged.createInst(0, staged.freeInstanceId(0));
  if (!inst) return "no room for the bootstrap account";
  const empty = new Uint8Array(0);
  const v = inst.v;
  v[0] = uri;
  v[1] = true;
  v[2] = MODE_NOSEC;
  v[3] = v[4] = v[5] = empty;
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

/** Forgets every server account and setting from bootstrap; keeps the bootstrap account. */
export function factoryReset(a: Configurable): string {
  const staged = a.reg.stage([0, 1, 2]);
  for (const o of staged.objs) purge(staged, o.def.id);
  return commit(a, staged);
}
