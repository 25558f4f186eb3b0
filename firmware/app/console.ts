// Console line commands. Every command's output ends with "OK" or "ERROR: <reason>".
import { setLogLevel, LOG_ERR, LOG_WRN, LOG_INF, LOG_DBG } from "../lib/log";
import { consoleWrite } from "../hal/console";
import { heapUsed, heapPeak, heapPool, reset } from "../hal/sys";
import { bootstrapAccount, SEC_URI, SEC_MODE, SEC_SSID, SEC_BOOTSTRAP } from "../lwm2m/objects/security";
import { SRV_SSID, SRV_LIFETIME, SRV_BINDING } from "../lwm2m/objects/server";
import { Bootstrap } from "../lwm2m/bootstrap";
import { Registration } from "../lwm2m/registration";
import { Registry } from "../lwm2m/registry";
import { setBootstrapUri, setEndpoint, factoryReset } from "./config";
import { VERSION, BOARD_NAME } from "./info";

interface ConsoleApp {
  reg: Registry;
  bootstrap: Bootstrap;
  registration: Registration;
  endpoint: string;
}

const HELP = [
  "help | version | status | reboot | show config",
  "set endpoint <name> | set bs-uri <coap://host:port>",
  "bootstrap | factory-reset | log <err|wrn|inf|dbg>",
];
const LEVELS = ["err", "wrn", "inf", "dbg"];

function say(line: string): void {
  consoleWrite(line);
}

function status(a: ConsoleApp): void {
  say("bootstrap: " + a.bootstrap.stateName());
  const ss = a.registration.sessions;
  for (let i = 0; i < ss.length; i++) {
    const s = ss[i];
    say("server " + s.ssid + ": " + s.stateName() + " " + s.uri + (s.loc.length ? " " + s.location() : ""));
  }
  if (ss.length === 0) say("servers: none");
  say("endpoint: " + (a.endpoint || "(unset)"));
  say("heap: used=" + heapUsed() + " peak=" + heapPeak() + " pool=" + heapPool());
}

function showConfig(a: ConsoleApp): void {
  say("endpoint: " + (a.endpoint || "(unset)"));
  const reg = a.reg;
  const sec = reg.obj(0);
  const srv = reg.obj(1);
  if (sec) {
    for (let i = 0; i < sec.insts.length; i++) {
      const id = sec.insts[i].id;
      const who = reg.get(0, id, SEC_BOOTSTRAP) === true ? "bootstrap" : "ssid=" + reg.num(0, id, SEC_SSID, -1);
      say("/0/" + id + " " + who + " uri=" + reg.str(0, id, SEC_URI) + " mode=" + reg.num(0, id, SEC_MODE, -1));
    }
  }
  if (srv) {
    for (let i = 0; i < srv.insts.length; i++) {
      const id = srv.insts[i].id;
      say("/1/" + id + " ssid=" + reg.num(1, id, SRV_SSID, -1) + " lifetime=" + reg.num(1, id, SRV_LIFETIME, -1) + " binding=" + reg.str(1, id, SRV_BINDING));
    }
  }
}

/** Runs one command; returns "" for OK or the error reason. */
function exec(a: ConsoleApp, w: string[]): string {
  const cmd = w[0];
  const n = w.length;
  if (cmd === "help" && n === 1) {
    for (let i = 0; i < HELP.length; i++) say(HELP[i]);
  } else if (cmd === "version" && n === 1) {
    say("meter-fw " + VERSION + " board=" + BOARD_NAME + " engine=duktape");
  } else if (cmd === "status" && n === 1) {
    status(a);
  } else if (cmd === "show" && n === 2 && w[1] === "config") {
    showConfig(a);
  } else if (cmd === "set" && n === 3 && w[1] === "endpoint") {
    return setEndpoint(a, w[2]);
  } else if (cmd === "set" && n === 3 && w[1] === "bs-uri") {
    return setBootstrapUri(a, w[2]);
  } else if (cmd === "bootstrap" && n === 1) {
    if (bootstrapAccount(a.reg) < 0) return "no bootstrap account (set bs-uri first)";
    if (!a.endpoint) return "no endpoint name (set endpoint first)";
    a.registration.stopAll();
    a.bootstrap.start(true);
  } else if (cmd === "log" && n === 2 && LEVELS.indexOf(w[1]) >= 0) {
    setLogLevel([LOG_ERR, LOG_WRN, LOG_INF, LOG_DBG][LEVELS.indexOf(w[1])]);
  } else if (cmd === "reboot" && n === 1) {
    say("OK");
    reset("console");
    return "-";
  } else if (cmd === "factory-reset" && n === 1) {
    const why = factoryReset(a);
    if (why) return why;
    say("OK");
    reset("factory-reset");
    return "-";
  } else if (["help", "version", "status", "show", "set", "bootstrap", "log", "reboot", "factory-reset"].indexOf(cmd) >= 0) {
    return "bad arguments for '" + cmd + "' (try help)";
  } else {
    return "unknown command '" + cmd + "' (try help)";
  }
  return "";
}

export function runCommand(a: ConsoleApp, line: string): void {
  const parts = line.split(" ");
  const w: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i].trim();
    if (p.length > 0) w.push(p);
  }
  if (w.length === 0) return;
  let why: string;
  try {
    why = exec(a, w);
  } catch (e) {
    why = "internal: " + (e as Error).message;
  }
  if (why !== "-") say(why ? "ERROR: " + why : "OK");
}
