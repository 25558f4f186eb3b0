// Consistency check of a staged configuration at Bootstrap-Finish. Returns "" when usable,
// else a short reason that goes back to the bootstrap server with 4.06.
import { Registry, Instance } from "./registry";
import { parseUri } from "./uri";
import { securityForSsid, Sec } from "./objects/security";
import { Srv } from "./objects/server";

const BAD = "bad or missing ";

/** A non-empty key or identity. */
function filled(x: any): boolean {
  return (x instanceof Uint8Array || typeof x === "string") && x.length > 0;
}

/** Checks every instance of /oid (0 or 1): "" or the first problem. */
function checkAll(reg: Registry, oid: number): string {
  const ssids: unknown[] = [];
  const insts = (reg.obj(oid) as { insts: Instance[] }).insts;
  let bs = 0;
  for (const inst of insts) {
    const v = inst.v as any;
    const ssid = v[oid ? Srv.SRV_SSID : Sec.SEC_SSID];
    // an integer 1..65534
    const ssidOk = ssid === (ssid & 0xffff) && ssid > 0 && ssid < 65535;
    const lt = v[Srv.SRV_LIFETIME];
    const b = v[Srv.SRV_BINDING];
    const u = typeof v[Sec.SEC_URI] === "string" ? parseUri(v[Sec.SEC_URI]) : null;
    const mode = v[Sec.SEC_MODE];
    const why = inst.id > 253 ? "instance id too large"
      : oid ? (!ssidOk ? BAD + "SSID"
        : typeof lt !== "number" || lt <= 0 ? BAD + "lifetime"
        : typeof b !== "string" || b.indexOf("U") < 0 ? "binding must include U" : "")
      : !u ? BAD + "URI"
      : typeof v[Sec.SEC_BOOTSTRAP] !== "boolean" ? "missing bootstrap flag"
      : typeof mode !== "number" || mode < 0 || mode > 3 ? "unsupported security mode"
      : (mode === Sec.MODE_NOSEC) === u.secure ? (u.secure ? "coaps:// needs keys" : "coap:// needs NoSec mode")
      // keys: identity and secret, and the server's key but for PSK
      : mode !== Sec.MODE_NOSEC && !(filled(v[Sec.SEC_IDENTITY]) && filled(v[Sec.SEC_SECRET]) && (mode === Sec.MODE_PSK || filled(v[Sec.SEC_SERVER_KEY])))
        ? (mode === Sec.MODE_PSK ? "PSK needs identity and key" : "missing keys")
      : v[Sec.SEC_BOOTSTRAP] !== true && !ssidOk ? BAD + "SSID" : "";
    if (why) return why + " in /" + oid + "/" + inst.id;
    if (oid && securityForSsid(reg, ssid) < 0) return "no security instance for SSID " + ssid;
    if (!oid && v[Sec.SEC_BOOTSTRAP] === true) bs++;
    else if (ssids.indexOf(ssid) >= 0) return "duplicate " + (oid ? "server " : "") + "SSID " + ssid;
    else ssids.push(ssid);
  }
  return bs > 1 ? "more than one bootstrap account" : oid && !insts.length ? "no management server" : "";
}

/** Every ACL instance names its object, instance and owner, with an id the store can keep. */
function checkAcl(reg: Registry): string {
  const o = reg.obj(2);
  for (const inst of o ? o.insts : []) {
    const v = inst.v;
    if (inst.id > 253 || typeof v[0] !== "number" || typeof v[1] !== "number" || typeof v[3] !== "number") return "bad ACL instance /2/" + inst.id;
  }
  return "";
}

export function validateConfig(reg: Registry): string {
  return !reg.obj(0) || !reg.obj(1) ? "objects missing" : checkAll(reg, 0) || checkAll(reg, 1) || checkAcl(reg);
}
