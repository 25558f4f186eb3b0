// LwM2M Device (/3/0): identity from the build, live time and free memory.
import { Value } from "../../formats/model";
import { ObjectDef, Registry, Instance } from "../registry";
import { MANUFACTURER, MODEL, VERSION } from "../../app/info";
import { wallSeconds } from "../../hal/timer";

let timeOffset = 0;

function readDevice(iid: number, rid: number): Value | undefined {
  return rid === 13 ? wallSeconds() + timeOffset : rid === 10 ? Math.floor((__hal.sys_heap(2) - __hal.sys_heap(0)) / 1024) : undefined;
}

export const deviceDef: ObjectDef = {
  id: 3,
  multi: false,
  // resourceId << 9 | T_* type << 5 | R 1, W 2, E 4, MULTI 8, MAND 16
  // 0..3 identity R, 4 reboot E, 5 factory reset E, 10 free memory, 11 error codes (multi), 13 time RW, 16 binding
  res: [33, 545, 1057, 1569, 2068, 2564, 5185, 5721, 6883, 8241],
  read: readDevice,
  // exec (Reboot, Factory Reset) is installed by the app.
};

export function addDevice(reg: Registry, serial: string): void {
  reg.add(deviceDef);
  (reg.createInst(3, 0) as Instance).v = { 0: MANUFACTURER, 1: MODEL, 2: serial, 3: VERSION, 11: { 0: 0 }, 16: "U" };
}

/** A server wrote /3/0/13: keep the offset from the wall clock rather than a stale value. */
export function deviceTimeWritten(reg: Registry): void {
  const v = (reg.inst(3, 0) || { v: {} as Instance["v"] }).v;
  if (typeof v[13] === "number") {
    timeOffset = v[13] - wallSeconds();
    delete v[13];
  }
}
