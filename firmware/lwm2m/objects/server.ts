// LwM2M Server (/1). Executes are wired by the registration client.
import { ObjectDef, Instance } from "../registry";

export const enum Srv {
  SRV_SSID = 0,
  SRV_LIFETIME = 1,
  SRV_PMIN = 2,
  SRV_PMAX = 3,
  SRV_BINDING = 7,
  SRV_UPDATE = 8,
  SRV_BOOTSTRAP = 9,
  SRV_ALERT = 11,
  SRV_LAST_BS = 12,
  SRV_PRIORITY = 13,
  SRV_INITIAL_DELAY = 14,
  SRV_FAILURE_BLOCK = 15,
  SRV_BS_ON_FAILURE = 16,
  SRV_RETRY_COUNT = 17,
  SRV_RETRY_TIMER = 18,
  SRV_SEQ_DELAY = 19,
  SRV_SEQ_RETRY = 20,
}

function initServer(inst: Instance): void {
  inst.v = { 6: false, 7: "U", 16: true, 17: 5, 18: 60, 19: 86400, 20: 1 };
}

export const serverDef: ObjectDef = {
  id: 1,
  multi: true,
  // resourceId << 9 | T_* type << 5 | R 1, W 2, E 4, MULTI 8, MAND 16
  // 0 ssid R, 1 lifetime, 2 pmin, 3 pmax, 6 disable timeout, 7 binding, 8 update E, 9 bootstrap E, 11 R, 12 last bootstrap R, 13..20
  res: [81, 595, 1091, 1603, 3251, 3635, 4116, 4612, 5697, 6369, 6755, 7267, 7843, 8355, 8803, 9315, 9827, 10339],
  init: initServer,
  // exec (Update, Bootstrap-Request trigger) is installed by the app.
};
