// Console line commands. Every command's output ends with "OK" or "ERROR: <reason>".
import { setLogSink } from "../lib/log";
import { consoleWrite } from "../hal/console";
import { reset } from "../hal/sys";
import { ObjectStore } from "../lwm2m/registry";
import { bootstrapAccount, SEC_URI, SEC_MODE, SEC_SSID, SEC_BOOTSTRAP } from "../lwm2m/objects/security";
import { SRV_SSID, SRV_LIFETIME, SRV_BINDING } from "../lwm2m/objects/server";
import { BS_STATES, state, startBootstrap } from "../lwm2m/bootstrap";
import { sessions, REG_STATES, stopAll } from "../lwm2m/registration";
import { Configurable, setBootstrapUri, setEndpoint, factoryReset } from "./config";
import { VERSION, BOARD_NAME } from "./info";
import { credentialCommand, pemLine } from "./credcmd";

const HELP = [
  "help version status reboot bootstrap factory-reset log <err|wrn|inf|dbg>",
  "set endpoint <name> | set bs-uri <uri> | set server <ssid> <uri> [lifetime] | show config|credentials",
  "set security|psk-identity|psk-key|cert|key|server-cert|cert-usage <v|pem> [ssid] | clear credentials",
];
/** Indexed by LOG_* - 1. */
const LEVELS = ["err", "wrn", "inf", "dbg"];
/** A command that printed its own "OK" (it is about to reset). */
const SILENT = "-";

function status(a: Configurable): void {
  consoleWrite("bootstrap: " + BS_STATES[state]);
  for (const s of sessions) consoleWrite("server " + s.ssid + ": " + REG_STATES[s.state] + " " + s.uri + (s.loc.length ? " /" + s.loc.join("/") : ""));
  if (!sessions.length) consoleWrite("servers: none");
  consoleWrite("endpoint: " + (a.endpoint || "(unset)"));
  consoleWrite("heap: used=" + __hal.sys_heap(0) + " peak=" + __hal.sys_heap(1) + " pool=" + __hal.sys_heap(2));
}

/** The accounts and servers, never their keys. */
function showConfig(a: Configurable): void {
  const reg = a.reg;
  consoleWrite("endpoint: " + (a.endpoint || "(unset)"));
  for (const inst of (reg.obj(0) as ObjectStore).insts) {
    const id = inst.id;
    const who = inst.v[SEC_BOOTSTRAP] === true ? "bootstrap" : "ssid=" + reg.num(0, id, SEC_SSID, -1);
    consoleWrite("/0/" + id + " " + who + " uri=" + reg.str(0, id, SEC_URI) + " mode=" + reg.num(0, id, SEC_MODE, -1));
  }
  for (const inst of (reg.obj(1) as ObjectStore).insts) {
    const id = inst.id;
    consoleWrite("/1/" + id + " ssid=" + reg.num(1, id, SRV_SSID, -1) + " lifetime=" + reg.num(1, id, SRV_LIFETIME, -1) + " binding=" + reg.str(1, id, SRV_BINDING));
  }
}

/** Runs one command; returns "" for OK, SILENT, or the error reason. */
function exec(a: Configurable, w: string[]): string {
  const cred = credentialCommand(a, w);
  if (cred !== null) return cred;
  const cmd = w[0];
  const n = w.length;
  const arg = w[1];
  switch (cmd) {
    case "help":
      if (n > 1) break;
      for (const line of HELP) consoleWrite(line);
      return "";
    case "version":
      if (n > 1) break;
      consoleWrite("meter-fw " + VERSION + " board=" + BOARD_NAME + " engine=duktape");
      return "";
    case "status":
      if (n > 1) break;
      status(a);
      return "";
    case "show":
      if (n !== 2 || arg !== "config") break;
      showConfig(a);
      return "";
    case "set":
      if (n !== 3) break;
      if (arg === "endpoint") return setEndpoint(a, w[2]);
      if (arg === "bs-uri") return setBootstrapUri(a, w[2]);
      break;
    case "bootstrap":
      if (n > 1) break;
      if (bootstrapAccount(a.reg) < 0) return "no bootstrap account (set bs-uri first)";
      if (!a.endpoint) return "no endpoint name (set endpoint first)";
      stopAll();
      startBootstrap(true);
      return "";
    case "log":
      const level = LEVELS.indexOf(arg);
      if (n !== 2 || level < 0) break;
      setLogSink(null, level + 1);
      return "";
    case "reboot":
    case "factory-reset":
      if (n > 1) break;
      const why = cmd === "reboot" ? "" : factoryReset(a);
      if (why) return why;
      consoleWrite("OK");
      reset(cmd === "reboot" ? "console" : cmd);
      return SILENT;
    default:
      return "unknown command '" + cmd + "' (try help)";
  }
  return "bad arguments for '" + cmd + "' (try help)";
}

export function runCommand(line: string, a: Configurable): void {
  if (pemLine(line)) return;
  const w: string[] = [];
  for (const part of line.split(" ")) {
    const p = part.trim();
    if (p) w.push(p);
  }
  if (!w.length) return;
  let why: string;
  try {
    why = exec(a, w);
  } catch (e) {
    why = "internal: " + (e as Error).message;
  }
  if (why !== SILENT) consoleWrite(why ? "ERROR: " + why : "OK");
}
