// Consistency check of a staged configuration at Bootstrap-Finish. Returns "" when usable,
// else a short reason that goes back to the bootstrap server with 4.06.
import { Registry, Instance } from "./registry";
import { parseUri } from "./uri";
import { securityForSsid, Sec } from "./objects/security";
import { Srv } from "./objects/server";

/** Checks every instance of /oid; counts bootstrap accounts in bs[0]; "" or the first problem. */
function checkAll(reg: Registry, oid: number, bs: number[]): string {
  const ssids: unknown[] = [];
  for (const inst of (reg.obj(oid) as { insts: Instance[] }).insts) {
    const v = inst.v;
    const ssid = v[oid ? Srv.SRV_SSID : Sec.SEC_SSID];
    const ssidOk = typeof ssid === "number" && ssid >= 1 && ssid <= 65534 && Math.floor(ssid) === ssid;
    let why = "";
    if (inst.id > 253) why = "instance id too large";
    else if (oid) {
      const lt = v[Srv.SRV_LIFETIME];
      const b = v[Srv.SRV_BINDING];
      why = !ssidOk ? "bad or missing SSID"
        : typeof lt !== "number" || lt <= 0 ? "bad or missing lifetime"
        : typeof b !== "string" || b.indexOf("U") < 0 ? "binding must include U" : "";
    } else {
      const uri = v[Sec.SEC_URI];
      const u = typeof uri === "string" ? parseUri(uri) : null;
      const mode = v[Sec.SEC_MODE];
      // filled: a non-empty key or identity
      const id = v[Sec.SEC_IDENTITY] as Uint8Array;
      const secret = v[Sec.SEC_SECRET] as Uint8Array;
      const key = v[Sec.SEC_SERVER_KEY] as Uint8Array;
      const keys = (id instanceof Uint8Array || typeof id === "string") && id.length > 0 && (secret instanceof Uint8Array || typeof secret === "string") && secret.length > 0;
      why = !u ? "bad or missing URI"
        : typeof v[Sec.SEC_BOOTSTRAP] !== "boolean" ? "missing bootstrap flag"
        : typeof mode !== "number" || mode < 0 || mode > 3 ? "unsupported security mode"
        : (mode === Sec.MODE_NOSEC) === u.secure ? (u.secure ? "coaps:// needs keys" : "coap:// needs NoSec mode")
        : mode !== Sec.MODE_NOSEC && !keys ? (mode === Sec.MODE_PSK ? "PSK needs identity and key" : "missing keys")
        : mode !== Sec.MODE_NOSEC && mode !== Sec.MODE_PSK && !((key instanceof Uint8Array || typeof key === "string") && key.length > 0) ? "missing keys"
        : v[Sec.SEC_BOOTSTRAP] !== true && !ssidOk ? "bad or missing SSID" : "";
    }
    if (why) return why + " in /" + oid + "/" + inst.id;
    if (oid && securityForSsid(reg, ssid as number) < 0) return "no security instance for SSID " + ssid;
    if (!oid && v[Sec.SEC_BOOTSTRAP] === true) bs[0]++;
    else if (ssids.indexOf(ssid) >= 0) return "duplicate " + (oid ? "server " : "") + "SSID " + ssid;
    else ssids.push(ssid);
  }
  return "";
}

export function validateConfig(reg: Registry): string {
  const bs = [0];
  if (!reg.obj(0) || !reg.obj(1)) return "objects missing";
  const why = checkAll(reg, 0, bs) || (bs[0] > 1 ? "more than one bootstrap account" : "") || checkAll(reg, 1, bs);
  return why || ((reg.obj(1) as { insts: Instance[] }).insts.length ? "" : "no management server");
}
