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

function checkSecurity(inst: Instance): string {
  const v = inst.v;
  const at = " in /0/" + inst.id;
  if (inst.id > 255) return "instance id too large" + at;
  const uri = v[SEC_URI];
  const u = typeof uri === "string" ? parseUri(uri) : null;
  if (!u) return "bad or missing URI" + at;
  if (typeof v[SEC_BOOTSTRAP] !== "boolean") return "missing bootstrap flag" + at;
  const mode = v[SEC_MODE];
  if (typeof mode !== "number" || mode < 0 || mode > 3) return "unsupported security mode" + at;
  if ((mode === MODE_NOSEC) === u.secure) return (u.secure ? "coaps:// needs keys" : "coap:// needs NoSec mode") + at;
  if (mode === MODE_PSK && !(filled(v[SEC_IDENTITY]) && filled(v[SEC_SECRET]))) return "PSK needs identity and key" + at;
  if (mode !== MODE_PSK && mode !== MODE_NOSEC && !(filled(v[SEC_IDENTITY]) && filled(v[SEC_SERVER_KEY]) && filled(v[SEC_SECRET]))) return "missing keys" + at;
  if (v[SEC_BOOTSTRAP] !== true && !ssidOk(v[SEC_SSID])) return "bad or missing SSID" + at;
  return "";
}

function checkServer(reg: Registry, inst: Instance): string {
  const v = inst.v;
  const at = " in /1/" + inst.id;
  if (inst.id > 255) return "instance id too large" + at;
  if (!ssidOk(v[SRV_SSID])) return "bad or missing SSID" + at;
  const lt = v[SRV_LIFETIME];
  if (typeof lt !== "number" || lt <= 0) return "bad or missing lifetime" + at;
  const b = v[SRV_BINDING];
  if (typeof b !== "string" || b.indexOf("U") < 0) return "binding must include U" + at;
  if (securityForSsid(reg, v[SRV_SSID] as number) < 0) return "no security instance for SSID " + v[SRV_SSID];
  return "";
}

export function validateConfig(reg: Registry): string {
  const sec = reg.obj(0);
  const srv = reg.obj(1);
  if (!sec || !srv) return "objects missing";
  let bs = 0;
  const ssids: number[] = [];
  for (let i = 0; i < sec.insts.length; i++) {
    const why = checkSecurity(sec.insts[i]);
    if (why) return why;
    const v = sec.insts[i].v;
    if (v[SEC_BOOTSTRAP] === true) bs++;
    else if (ssids.indexOf(v[SEC_SSID] as number) >= 0) return "duplicate SSID " + v[SEC_SSID];
    else ssids.push(v[SEC_SSID] as number);
  }
  if (bs > 1) return "more than one bootstrap account";
  ssids.length = 0;
  for (let i = 0; i < srv.insts.length; i++) {
    const why = checkServer(reg, srv.insts[i]);
    if (why) return why;
    const ssid = srv.insts[i].v[SRV_SSID] as number;
    if (ssids.indexOf(ssid) >= 0) return "duplicate server SSID " + ssid;
    ssids.push(ssid);
  }
  if (ssids.length === 0) return "no management server";
  return "";
}

export function countServers(reg: Registry): number {
  const srv = reg.obj(1);
  return srv ? srv.insts.length : 0;
}
