// Fixtures: a simulated meter (SimHal + the real firmware) and fake bootstrap/LwM2M servers.
import { SimHal, FakeServer } from "../../sim/hal";
import { startFirmware, App } from "../../../firmware/app/boot";
import { Registry } from "../../../firmware/lwm2m/registry";
import { securityDef } from "../../../firmware/lwm2m/objects/security";
import { serverDef } from "../../../firmware/lwm2m/objects/server";
import { deviceDef } from "../../../firmware/lwm2m/objects/device";
import { aclDef } from "../../../firmware/lwm2m/objects/access-control";
import { Entry, Value } from "../../../firmware/formats/model";
import { CF_TLV, encodeContent } from "../../../firmware/formats/content-format";
import { LOG_DBG, LOG_INF } from "../../../firmware/lib/log";

export const BS_PORT = 5783;
export const DM_PORT = 5683;

const typeReg = new Registry();
typeReg.add(securityDef);
typeReg.add(serverDef);
typeReg.add(aclDef);
typeReg.add(deviceDef);
export const types = typeReg.types;

export interface Meter {
  sim: SimHal;
  bs: FakeServer;
  dm: FakeServer;
  app: App;
}

export function boot(sim: SimHal): App {
  sim.install();
  return startFirmware(process.env.SIM_DEBUG ? LOG_DBG : LOG_INF);
}

/** A meter with endpoint and bootstrap URI provisioned, rebooted, first Bootstrap-Request sent. */
export function provisionedMeter(seed = 1, endpoint = "meter-1"): Meter {
  const sim = new SimHal(seed);
  const bs = sim.addServer("127.0.0.1", BS_PORT);
  const dm = sim.addServer("127.0.0.1", DM_PORT);
  boot(sim);
  expectOk(sim.command("set endpoint " + endpoint));
  expectOk(sim.command("set bs-uri " + bs.uri));
  sim.reboot();
  const app = boot(sim);
  return { sim, bs, dm, app };
}

export function expectOk(out: string[]): string[] {
  if (out[out.length - 1] !== "OK") throw new Error("console: " + out.join(" | "));
  return out;
}

export function tlv(base: number[], fields: [number[], Value][]): Uint8Array {
  const entries: Entry[] = fields.map(([p, v]) => ({ path: base.concat(p), value: v }));
  return encodeContent(CF_TLV, base, entries, types);
}

export function securityInstance(iid: number, uri: string, ssid: number, mode = 3, extra: [number[], Value][] = []): Uint8Array {
  const empty = new Uint8Array(0);
  return tlv([0, iid], [[[0], uri], [[1], false], [[2], mode], [[3], empty], [[4], empty], [[5], empty], [[10], ssid], ...extra]);
}

export function serverInstance(iid: number, ssid: number, lifetime = 300): Uint8Array {
  return tlv([1, iid], [[[0], ssid], [[1], lifetime], [[6], false], [[7], "U"]]);
}

export const PUT = 3;
export const POST = 2;
export const GET = 1;
export const DELETE = 4;

/** Runs a complete Leshan-like bootstrap session: delete /, write /0/1 and /1/0, Finish. */
export function bootstrapSession(m: Meter, lifetime = 300): number {
  m.sim.waitLog("Bootstrap-Request sent");
  m.sim.run(100);
  const codes: number[] = [];
  codes.push(m.bs.call(DELETE, "/").code);
  codes.push(m.bs.call(PUT, "/0/1", { format: CF_TLV, payload: securityInstance(1, m.dm.uri, 101) }).code);
  codes.push(m.bs.call(PUT, "/1/0", { format: CF_TLV, payload: serverInstance(0, 101, lifetime) }).code);
  const fin = m.bs.call(POST, "/bs").code;
  if (codes.some((c) => c >= 0x80)) throw new Error("bootstrap command failed: " + codes.map((c) => c.toString(16)));
  return fin;
}
