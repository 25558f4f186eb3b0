// Console line commands, including out-of-band provisioning (GEISA ADM) of the bootstrap
// account, the endpoint name, credentials and factory management-server accounts (those in
// app/provisioning.ts, an overlay of its own). Every command's output ends with "OK" or
// "ERROR: <reason>". Secrets are write-only: never echoed, logged or read back; the console
// shows fingerprints (first 8 bytes of SHA-256). Each command is checked completely, then
// applied as one store transaction, or refused with nothing changed.
//
//   set security <psk|x509|nosec> [ssid]     (starts the account's credential afresh)
//   set psk-identity <text> [ssid]           set psk-key <hex, 1..64 bytes> [ssid]
//   set cert|key|server-cert <hex> [ssid]    or `... pem [ssid]` then PEM lines up to -----END
//   set cert-usage <0..3> [ssid]
//   set server <ssid> <coap(s)://host:port> [lifetime]
//   show credentials                         clear credentials (the bootstrap account's)
// [ssid] names a coaps:// management account (made first with set server); without it the
// bootstrap account's credential is meant. A console line holds 255 characters: certificates
// and keys go in as PEM.
import { setLogSink } from "../lib/log";
import { consoleWrite } from "../hal/console";
import { reset } from "../hal/sys";
import { Registry } from "../lwm2m/registry";
import { base64urlDecode, B64 } from "../lib/bytes";
import { bootstrapAccount } from "../lwm2m/objects/security";
import { bootstrapState, startBootstrap } from "../lwm2m/bootstrap";
import { sessions, REG_STATES, stopAll } from "../lwm2m/registration";
import { VERSION, BOARD_NAME } from "./info";
import { provision, provisionHelp, setPart, factoryReset } from "./provisioning";

export interface Configurable {
  reg: Registry;
  endpoint: string;
}

type Insts = { insts: { id: number; v: { [k: number]: unknown } }[] };

/** The command words; those from " log " (at ARGS) on take arguments. */
const COMMANDS = " help version status reboot bootstrap factory-reset log show set ";
const enum C {
  ARGS = 51,
}
const HELP =
  COMMANDS.substring(1, C.ARGS + 5) + "<err|wrn|inf|dbg>\n" +
  "set endpoint <name> | set bs-uri <uri> | set server <ssid> <uri> [lifetime] | set rebootstrap keep|wipe | show config|credentials\n";
/** A command that printed its own "OK" (it is about to reset), or is waiting for PEM lines. */
const enum S {
  SILENT = "-",
}
/** What provision() returns when PEM lines follow: then "<word index> <handle>". */
export const enum Pem {
  START = "pem ",
}

/** PEM being typed: [word index, handle, base64 so far] */
let pem: [number, number, string] | null = null;

/** The command's last line: OK, or ERROR with the reason. */
function reply(why: string): void {
  consoleWrite(why ? "ERROR: " + why : "OK");
}

function endpointLine(a: Configurable): void {
  consoleWrite("endpoint: " + (a.endpoint || "(unset)"));
}

/** Runs one command; returns "" for OK, S.SILENT, or the error reason. */
function exec(a: Configurable, w: string[]): string {
  const n = w.length;
  const cmd = w[0];
  const arg = w[1];
  const c = n + cmd + " " + arg;
  const reg = a.reg;
  const p = provision(a, w);
  if (p !== null) {
    if (p.substring(0, 4) !== Pem.START) return p;
    const kh = p.substring(4).split(" ");
    pem = [+kh[0], +kh[1], ""];
    return S.SILENT;
  }

  if (c === "2show config") {
    endpointLine(a);
    for (let oid = 0; oid < 2; oid++) {
      for (const inst of (reg.obj(oid) as Insts).insts) {
        const id = inst.id;
        const p = "/" + oid + "/" + id + " ";
        consoleWrite(oid
          ? p + "ssid=" + reg.num(1, id, 0, -1) + " lifetime=" + reg.num(1, id, 1, -1) + " binding=" + reg.str(1, id, 7)
          : p + (inst.v[1] === true ? "bootstrap" : "ssid=" + reg.num(0, id, 10, -1)) + " uri=" + reg.str(0, id, 0) + " mode=" + reg.num(0, id, 2, -1));
      }
    }
    return "";
  }

  // LOG_* is 1 + the level's index
  const level = " err wrn inf dbg ".indexOf(" " + arg + " ");
  if (cmd === "log" && n === 2 && level >= 0) return setLogSink(null, level / 4 + 1), "";

  const known = COMMANDS.indexOf(" " + cmd + " ");
  if (known < 0 || n > 1 || known >= C.ARGS) return (known < 0 ? "unknown command" : "bad arguments for") + " '" + cmd + "' (try help)";
  if (cmd === "help") consoleWrite(HELP + provisionHelp());
  else if (cmd === "version") consoleWrite("meter-fw " + VERSION + " board=" + BOARD_NAME + " engine=duktape");
  else if (cmd === "status") {
    consoleWrite("bootstrap: " + bootstrapState());
    for (const s of sessions) consoleWrite("server " + s.ssid + ": " + REG_STATES[s.state] + " " + s.uri + (s.loc.length ? " /" + s.loc.join("/") : ""));
    if (!sessions.length) consoleWrite("servers: none");
    endpointLine(a);
    consoleWrite("heap: used=" + __hal.sys_heap(0) + " peak=" + __hal.sys_heap(1) + " pool=" + __hal.sys_heap(2));
  } else if (cmd === "bootstrap") {
    if (bootstrapAccount(reg) < 0) return "no bootstrap account (set bs-uri first)";
    if (!a.endpoint) return "set endpoint first";
    stopAll();
    startBootstrap(true);
  } else {
    const why = cmd === "reboot" ? "" : factoryReset(a);
    if (why) return why;
    reply("");
    reset(cmd === "reboot" ? "console" : cmd);
    return S.SILENT;
  }
  return "";
}

/** The console runs as an overlay (build/overlays.ts): it stays loaded while PEM lines are
 * still to come. */
export function keep(): boolean {
  return pem !== null;
}

export function runCommand(line: string, a: Configurable): void {
  const p = pem;
  const l = line.trim();
  if (p) {
    // A PEM block being typed takes the line; a line that cannot be part of it drops the block
    // (ERROR), then runs as a command.
    pem = null;
    if (l.substring(0, 9) === "-----END ") {
      let why = "bad PEM";
      try {
        const b = base64urlDecode(p[2].split("+").join("-").split("/").join("_"));
        if (b.length) why = setPart(p[1], p[0], b);
      } catch (e) {}
      return reply(why);
    }
    // the standard base64 alphabet and padding
    const alphabet = B64.substring(0, 62) + "+/=";
    let ok = l.substring(0, 11) === "-----BEGIN " || p[2].length < 2800;
    for (let i = 0; i < l.length && ok && l.charAt(0) !== "-"; i++) ok = alphabet.indexOf(l.charAt(i)) >= 0;
    if (!ok) reply("PEM input abandoned");
    else {
      pem = p;
      p[2] += l.charAt(0) === "-" ? "" : l;
      return;
    }
  }
  const w: string[] = [];
  for (const part of line.split(" ")) {
    const q = part.trim();
    if (q) w.push(q);
  }
  if (!w.length) return;
  let why: string;
  try {
    why = exec(a, w);
  } catch (e) {
    why = "internal: " + (e as Error).message;
  }
  if (why !== S.SILENT) reply(why);
}
