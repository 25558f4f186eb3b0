// Start-up: HAL wiring, the object registry, stored configuration, then register with every
// configured server; bootstrap only when there is no server or all of them failed.
import { Scheduler } from "../lib/scheduler";
import { logInf, logWrn, LOG_INF } from "../lib/log";
import { CHANGED } from "../coap/message";
import { EV_SHUTDOWN } from "../hal/codes";
import { installDispatcher, onEvent, pump } from "../hal/events";
import { halClock } from "../hal/timer";
import { useHalLog } from "../hal/log";
import { linkInit } from "../hal/link";
import { consoleInit } from "../hal/console";
import { reset } from "../hal/sys";
import { Registry } from "../lwm2m/registry";
import { securityDef, bootstrapAccount } from "../lwm2m/objects/security";
import { serverDef, serverHooks, SRV_UPDATE, SRV_BOOTSTRAP, SRV_SSID } from "../lwm2m/objects/server";
import { addDevice, deviceHooks, deviceTimeWritten } from "../lwm2m/objects/device";
import { Bootstrap } from "../lwm2m/bootstrap";
import { Registration, Session } from "../lwm2m/registration";
import { Dm } from "../lwm2m/dm";
import { loadConfig, loadEndpoint } from "../lwm2m/persist";
import { Exchange } from "../coap/endpoint";
import { runCommand } from "./console";
import { factoryReset } from "./config";
import { VERSION, BOARD_NAME } from "./info";

export interface App {
  reg: Registry;
  sched: Scheduler;
  bootstrap: Bootstrap;
  registration: Registration;
  dm: Dm;
  endpoint: string;
}

let app: App;

function endpointName(): string {
  return app.endpoint;
}

function onChange(path: number[], structural: boolean): void {
  if (path[0] === 3 && path[2] === 13) deviceTimeWritten(app.reg);
  app.dm.changed(path);
  // Registration-relevant changes: object/instance list, lifetime or binding of a server.
  if (structural && path[0] !== 0) app.registration.updateSoon(-1, true);
  else if (path[0] === 1 && path.length >= 2 && (path.length === 2 || path[2] === 1 || path[2] === 7)) {
    app.registration.updateSoon(app.reg.num(1, path[1], SRV_SSID, -1), false);
  }
}

function later(ms: number, fn: () => void): number {
  app.sched.after(ms, fn);
  return CHANGED;
}

function doReboot(): void {
  reset("reboot");
}

function doFactoryReset(): void {
  factoryReset(app);
  reset("factory-reset");
}

function doBootstrap(): void {
  app.registration.stopAll();
  app.bootstrap.start(true);
}

function serverExec(iid: number, rid: number): number {
  if (rid === SRV_UPDATE) {
    const ssid = app.reg.num(1, iid, SRV_SSID, -1);
    return app.registration.updateSoon(ssid, false) ? CHANGED : 0x84;
  }
  if (rid === SRV_BOOTSTRAP && bootstrapAccount(app.reg) >= 0) return later(100, doBootstrap);
  return 0x85;
}

function deviceExec(iid: number, rid: number): number {
  if (rid === 4) return later(500, doReboot);
  if (rid === 5) return later(500, doFactoryReset);
  return 0x85;
}

function onServerRequest(ex: Exchange, s: Session): void {
  app.dm.handle(ex, s);
}

function onSessionReset(s: Session): void {
  app.dm.cancelSession(s);
}

function onObserveCancel(token: Uint8Array): void {
  app.dm.cancel(token);
}

function afterBootstrap(): void {
  app.registration.startAll();
}

function fallBackToBootstrap(): void {
  logWrn("app", "no server reachable, falling back to bootstrap");
  app.bootstrap.start();
}

function shutdown(): void {
  app.registration.deregisterAll(function () {
    reset("shutdown");
  });
}

function onLine(line: string): void {
  runCommand(app, line);
}

/** True when there is something to connect to: an endpoint name and at least one account. */
export function provisioned(a: App): boolean {
  const sec = a.reg.obj(0);
  return a.endpoint.length > 0 && !!sec && sec.insts.length > 0;
}

/** Starts the meter application; returns the app state (tests inspect it). */
export function startFirmware(logLevel?: number): App {
  useHalLog(logLevel === undefined ? LOG_INF : logLevel);
  const sched = new Scheduler(halClock);
  installDispatcher(sched);
  linkInit();
  const reg = new Registry();
  reg.add(securityDef);
  reg.add(serverDef);
  const endpoint = loadEndpoint();
  addDevice(reg, endpoint);
  const loaded = loadConfig(reg);
  app = {
    reg: reg,
    sched: sched,
    bootstrap: new Bootstrap(reg, sched, endpointName),
    registration: new Registration(reg, sched, endpointName),
    dm: new Dm(reg, sched),
    endpoint: endpoint,
  };
  reg.onChange = onChange;
  serverHooks.exec = serverExec;
  deviceHooks.exec = deviceExec;
  app.bootstrap.onDone = afterBootstrap;
  app.registration.onAllFailed = fallBackToBootstrap;
  app.registration.onRequest = onServerRequest;
  app.registration.onReset = onSessionReset;
  app.registration.onCancel = onObserveCancel;
  consoleInit(onLine);
  onEvent(EV_SHUTDOWN, shutdown);

  if (!provisioned(app)) {
    logInf("app", "not provisioned (set bs-uri and endpoint, then reboot)");
  } else if (app.registration.startAll() === 0) {
    logInf("app", loaded + " stored instance(s), no management server: bootstrapping");
    app.bootstrap.start();
  }
  logInf("app", "meter-fw " + VERSION + " board=" + BOARD_NAME + " ready");
  pump();
  return app;
}
