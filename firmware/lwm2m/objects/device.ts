// LwM2M Device (/3/0): identity from the build, live time and free memory.
import { Value, T_NONE, T_STRING, T_INTEGER, T_TIME } from "../../formats/model";
import { ObjectDef, Registry, R, RW, E, MULTI, MAND } from "../registry";
import { MANUFACTURER, MODEL, VERSION } from "../../app/info";
import { wallSeconds } from "../../hal/timer";
import { heapUsed, heapPool } from "../../hal/sys";

let timeOffset = 0;

function readDevice(iid: number, rid: number): Value | undefined {
  if (rid === 13) return wallSeconds() + timeOffset;
  if (rid === 10) return Math.floor((heapPool() - heapUsed()) / 1024);
  return undefined;
}

export const deviceDef: ObjectDef = {
  id: 3,
  multi: false,
  res: [
    [0, T_STRING, R],
    [1, T_STRING, R],
    [2, T_STRING, R],
    [3, T_STRING, R],
    [4, T_NONE, E | MAND],
    [5, T_NONE, E],
    [10, T_INTEGER, R],
    [11, T_INTEGER, R | MULTI | MAND],
    [13, T_TIME, RW],
    [16, T_STRING, R | MAND],
  ],
  read: readDevice,
  // exec (Reboot, Factory Reset) is installed by the app.
};

export function addDevice(reg: Registry, serial: string): void {
  reg.add(deviceDef);
  const inst = reg.createInst(3, 0);
  if (!inst) return;
  const v = inst.v;
  v[0] = MANUFACTURER;
  v[1] = MODEL;
  v[2] = serial;
  v[3] = VERSION;
  v[11] = { 0: 0 };
  v[16] = "U";
}

/** A server wrote /3/0/13: keep the offset from the wall clock rather than a stale value. */
export function deviceTimeWritten(reg: Registry): void {
  const inst = reg.inst(3, 0);
  const v = inst ? inst.v[13] : undefined;
  if (typeof v === "number") {
    timeOffset = v - wallSeconds();
    delete (inst as { v: { [k: number]: unknown } }).v[13];
  }
}
