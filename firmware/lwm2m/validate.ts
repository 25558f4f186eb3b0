// Consistency check of a staged configuration at Bootstrap-Finish. Returns "" when usable,
// else a short reason that goes back to the bootstrap server with 4.06.
import { Registry, Instance } from "./registry";
import { parseUri } from "./uri";
import { securityForSsid, SEC_URI, SEC_BOOTSTRAP, SEC_MODE, SEC_IDENTITY, SEC_SERVER_KEY, SEC_SECRET, SEC_SSID, MODE_NOSEC, MODE_PSK } from "./objects/security";
import { SRV_SSID, SRV_LIFETIME, SRV_BINDING } from "./objects/server";

function filled(v: unknown): boolean {
  return (v instanceof Uint8Array || typeof v === "string") && v.length > 0;
}

function ssidOk(v: unknown): boolean {
  return typeof v === "number" && v >= 1 && v <= 65534 && Math.floor(v) === v;
}

/** The first problem of a Security instance, without the " in /0/x" suffix. */
function securityProblem(v: Instance["v"]): string {
  const uri = v[SEC_URI];
  const u = typeof uri === "string" ? parseUri(uri) : null;
  const mode = v[SEC_MODE];
  if (!u) return "bad or missing URI";
  if (typeof v[SEC_BOOTSTRAP] !== "boolean") return "missing bootstrap flag";
  if (typeof mode !== "number" || mode < 0 || mode > 3) return "unsupported security mode";
  if ((mode === MODE_NOSEC) === u.secure) return u.secure ? "coaps:// needs keys" : "coap:// needs NoSec mode";
  if (mode !== MODE_NOSEC && !(filled(v[SEC_IDENTITY]) && filled(v[SEC_SECRET]))) return mode === MODE_PSK ? "PSK needs identity and key" : "missing keys";
  if (mode !== MODE_NOSEC && mode !== MODE_PSK && !filled(v[SEC_SERVER_KEY])) return "missing keys";
  if (v[SEC_BOOTSTRAP] !== true && !ssidOk(v[SEC_SSID])) return "bad or missing SSID";
  return "";
}

/** The first problem of a Server instance, without the " in /1/x" suffix. */
function serverProblem(v: Instance["v"]): string {
  const lt = v[SRV_LIFETIME];
  const b = v[SRV_BINDING];
  if (!ssidOk(v[SRV_SSID])) return "bad or missing SSID";
  if (typeof lt !== "number" || lt <= 0) return "bad or missing lifetime";
  if (typeof b !== "string" || b.indexOf("U") < 0) return "binding must include U";
  return "";
}

/** Checks every instance of /oid; counts bootstrap accounts in bs[0]; "" or the first problem. */
function checkAll(reg: Registry, oid: number, bs: number[]): string {
  const ssids: unknown[] = [];
  for (const inst of (reg.obj(oid) as { insts: Instance[] }).insts) {
    const v = inst.v;
    const why = inst.id > 255 ? "instance id too large" : oid ? serverProblem(v) : securityProblem(v);
    if (why) return why + " in /" + oid + "/" + inst.id;
    const ssid = v[oid ? SRV_SSID : SEC_SSID];
    if (oid && securityForSsid(reg, ssid as number) < 0) return "no security instance for SSID " + ssid;
    if (!oid && v[SEC_BOOTSTRAP] === true) bs[0]++;
    else if (ssids.indexOf(ssid) >= 0) return "duplicate " + (oid ? "server " : "") + "SSID " + ssid;
    else ssids.push(ssid);
  }
  return "";
}

export function validateConfig(reg: Registry): string {
  const bs = [0];
  if (!reg.obj(0) || !reg.obj(1)) return "objects missing";
  const why = checkAll(reg, 0, bs) || (bs[0] > 1 ? "more than one bootstrap account" : "") || checkAll(reg, 1, bs);
  return why || (countServers(reg) ? "" : "no management server");
}

export function countServers(reg: Registry): number {
  const srv = reg.obj(1);
  return srv ? srv.insts.length : 0;
}
