// LwM2M Server (/1). Executes are wired by the registration client.
import { T_NONE, T_STRING, T_BOOLEAN, T_INTEGER, T_UNSIGNED, T_TIME } from "../../formats/model";
import { ObjectDef, Instance, R, RW, E, MAND } from "../registry";

export const SRV_SSID = 0;
export const SRV_LIFETIME = 1;
export const SRV_PMIN = 2;
export const SRV_PMAX = 3;
export const SRV_BINDING = 7;
export const SRV_UPDATE = 8;
export const SRV_BOOTSTRAP = 9;
export const SRV_LAST_BS = 12;
export const SRV_INITIAL_DELAY = 14;
export const SRV_BS_ON_FAILURE = 16;
export const SRV_RETRY_COUNT = 17;
export const SRV_RETRY_TIMER = 18;
export const SRV_SEQ_DELAY = 19;
export const SRV_SEQ_RETRY = 20;

function initServer(inst: Instance): void {
  const v = inst.v;
  v[6] = false;
  v[7] = "U";
  v[16] = true;
  v[17] = 5;
  v[18] = 60;
  v[19] = 86400;
  v[20] = 1;
}

export const serverDef: ObjectDef = {
  id: 1,
  multi: true,
  res: [
    [0, T_INTEGER, R | MAND],
    [1, T_INTEGER, RW | MAND],
    [2, T_INTEGER, RW],
    [3, T_INTEGER, RW],
    [6, T_BOOLEAN, RW | MAND],
    [7, T_STRING, RW | MAND],
    [8, T_NONE, E | MAND],
    [9, T_NONE, E],
    [11, T_INTEGER, R],
    [12, T_TIME, R],
    [13, T_UNSIGNED, RW],
    [14, T_UNSIGNED, RW],
    [15, T_BOOLEAN, RW],
    [16, T_BOOLEAN, RW],
    [17, T_UNSIGNED, RW],
    [18, T_UNSIGNED, RW],
    [19, T_UNSIGNED, RW],
    [20, T_UNSIGNED, RW],
  ],
  init: initServer,
  // exec (Update, Bootstrap-Request trigger) is installed by the app.
};
