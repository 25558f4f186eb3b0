// Start-up: HAL wiring, the object registry, stored configuration, the smartcard, then register
// with every configured server; bootstrap only when there is no server or all of them failed.
import { Scheduler } from "../lib/scheduler";
import { logInf, logWrn, setLogSink, Log } from "../lib/log";
import { Coap } from "../coap/message";
import { Hal } from "../hal/codes";
import { installDispatcher, onEvent, pump } from "../hal/events";
import { halClock } from "../hal/timer";
import { halSink } from "../hal/log";
import { linkInit } from "../hal/link";
import { consoleInit } from "../hal/console";
import { reset } from "../hal/sys";
import { Registry } from "../lwm2m/registry";
import { securityDef, bootstrapAccount } from "../lwm2m/objects/security";
import { serverDef, Srv } from "../lwm2m/objects/server";
import { aclDef } from "../lwm2m/objects/access-control";
import { addDevice, deviceDef, deviceTimeWritten } from "../lwm2m/objects/device";
import { bootstrapInit, startBootstrap, armAccountTimeout } from "../lwm2m/bootstrap";
import { registrationInit, startAll, stopAll, updateSoon, deregisterAll } from "../lwm2m/registration";
import { dmInit, dmChanged } from "../lwm2m/dm";
import { loadConfig, loadEndpoint } from "../lwm2m/persist";
import { cardEvent } from "../lwm2m/smartcard";
import { runCommand } from "./console";
import { factoryReset } from "./provisioning";
import { VERSION, BOARD_NAME } from "./info";

export interface App {
  reg: Registry;
  sched: Scheduler;
  endpoint: string;
}

let app: App;

function onChange(path: number[], structural: boolean): void {
  if (path[0] === 3 && path[2] === 13) deviceTimeWritten(app.reg);
  dmChanged(path);
  // Registration-relevant changes: object/instance list, lifetime or binding of a server.
  if (structural && path[0] !== 0) updateSoon(-1, true);
  else if (path[0] === 1 && path.length >= 2 && (path.length === 2 || path[2] === 1 || path[2] === 7)) {
    updateSoon(app.reg.num(1, path[1], Srv.SRV_SSID, -1), false);
  }
}

function later(ms: number, fn: (arg?: any) => void, arg?: any): number {
  app.sched.after(ms, fn, arg);
  return Coap.CHANGED;
}

function doFactoryReset(): void {
  factoryReset(app);
  reset("factory-reset");
}

/** Execute /1/x/9: drops every registration and bootstraps at once. */
function bootstrapNow(): void {
  stopAll();
  startBootstrap(true);
}

function serverExec(iid: number, rid: number): number {
  if (rid === Srv.SRV_UPDATE) return updateSoon(app.reg.num(1, iid, Srv.SRV_SSID, -1), false) ? Coap.CHANGED : Coap.NOT_FOUND;
  // Bootstrap attempts from a server are refused until the smartcard and factory data were tried.
  if (rid === Srv.SRV_BOOTSTRAP && started && bootstrapAccount(app.reg) >= 0) return later(100, bootstrapNow);
  return Coap.METHOD_NOT_ALLOWED;
}

function deviceExec(iid: number, rid: number): number {
  if (rid === 4) return later(500, reset, "reboot");
  if (rid === 5) return later(500, doFactoryReset);
  return Coap.METHOD_NOT_ALLOWED;
}

function fallBackToBootstrap(): void {
  logWrn("app", "no server reachable, bootstrapping");
  startBootstrap();
}

/** De-registers, then resets: on Hal.EV_SHUTDOWN (h 0), or after a card change (h "card"). */
function shutdown(h: number | string): void {
  deregisterAll(reset, h || "shutdown");
}

// The smartcard reader is an overlay (lwm2m/smartcard.ts): its events, its read timeout
// (h = 1) and the check before every Register and Update (no arguments) reach it through
// onCard. The read at start-up comes first; when it has ended the meter registers with every
// configured server, or bootstraps. A later read that changed the configuration de-registers
// and restarts the meter, which starts again from the card.
let cardTimer = 0;
/** When the last read ended, and whether it found no card (an insertion is an event). */
let cardRead = 0;
let noCard = false;
/** Smartcard and factory data were tried. */
let started = false;

function onCard(h?: number, arg?: number, kind?: number): void {
  const s = app.sched;
  // A check: a read that ended a moment ago (the one the meter registers after) stands for it.
  if (h === undefined && (noCard || s.now() - cardRead < 5000)) return;
  const r = cardEvent(app, arg, h === undefined ? 0 : kind);
  s.cancel(cardTimer);
  if (!r) return void (cardTimer = s.after(5000, onCard, 1));
  cardRead = s.now();
  noCard = r > 2;
  // (not from inside the Register or Update that asked for the check)
  if (started) return void (r & 1 || s.after(0, shutdown, "card"));
  started = true;
  const sec = app.reg.obj(0);
  if (!app.endpoint || !sec || !sec.insts.length) {
    logInf("app", "not provisioned (set bs-uri and endpoint, then reboot)");
  } else if (startAll() === 0) {
    logInf("app", "no management server, bootstrapping");
    startBootstrap();
  } else armAccountTimeout();
}

/** Starts the meter application; returns the app state (tests inspect it). */
export function startFirmware(logLevel?: number): App {
  setLogSink(halSink, logLevel === undefined ? Log.LOG_INF : logLevel);
  const sched = new Scheduler(halClock);
  installDispatcher(sched);
  linkInit();
  const reg = new Registry();
  reg.add(securityDef);
  reg.add(serverDef);
  reg.add(aclDef);
  const endpoint = loadEndpoint();
  addDevice(reg, endpoint);
  loadConfig(reg);
  app = { reg: reg, sched: sched, endpoint: endpoint };
  bootstrapInit(reg, sched, app, startAll);
  registrationInit(reg, sched, app, fallBackToBootstrap, onCard);
  dmInit(reg, sched);
  reg.onChange = onChange;
  serverDef.exec = serverExec;
  deviceDef.exec = deviceExec;
  consoleInit(runCommand, app);
  onEvent(Hal.EV_SHUTDOWN, shutdown);

  onEvent(Hal.EV_CARD_RESPONSE, onCard);
  onEvent(Hal.EV_CARD_CHANGED, onCard);
  started = false;
  onCard(0, 1, Hal.EV_CARD_CHANGED);
  logInf("app", "meter-fw " + VERSION + " board=" + BOARD_NAME + " ready");
  pump();
  return app;
}
