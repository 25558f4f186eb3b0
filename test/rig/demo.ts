// `npm run demo`: build the host meter, start Leshan's bootstrap server and server on
// loopback, provision the meter over its console and show it bootstrapping and registering.
//
//   npm run demo                       # run, verify, stop everything, exit 0
//   npm run demo -- --keep             # leave everything running until Ctrl-C
//   npm run demo -- --security nosec   # the only mode so far (psk, x509: later)
//   npm run demo -- --seed 42          # replay the meter's RNG
//   npm run demo -- --no-build         # use the existing out/host/meter
import { createDut, loadRig, type HostDut } from "./dut.ts";
import { ensureLeshan, nosecConfig, resourceValue, startLeshanBootstrap, startLeshanServer, type LeshanBootstrap, type LeshanServer } from "./leshan.ts";
import { installSignalHandlers, logDir, spawnLogged, stopAll } from "./processes.ts";

const EP = "meter-0001";
const SSID = 101;
const LIFETIME = 60;

interface Options {
  keep: boolean;
  security: string;
  seed?: number;
  build: boolean;
}

function usage(msg?: string): never {
  if (msg) console.error(`demo: ${msg}`);
  console.error("usage: npm run demo -- [--keep] [--security nosec] [--seed N] [--no-build]");
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { keep: false, security: "nosec", build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--keep") o.keep = true;
    else if (a === "--no-build") o.build = false;
    else if (a === "--security") o.security = argv[++i] ?? usage("--security needs a value");
    else if (a.startsWith("--security=")) o.security = a.slice("--security=".length);
    else if (a === "--seed") o.seed = Number(argv[++i] ?? usage("--seed needs a value"));
    else if (a === "-h" || a === "--help") usage();
    else usage(`unknown option ${a}`);
  }
  if (o.seed !== undefined && !Number.isInteger(o.seed)) usage("--seed needs an integer");
  if (o.security === "psk" || o.security === "x509")
    usage(`--security ${o.security} is not supported yet (DTLS bootstrap comes in a later issue); use --security nosec`);
  if (o.security !== "nosec") usage(`unknown security mode '${o.security}' (nosec; psk and x509 later)`);
  return o;
}

let stepNo = 0;
const STEPS = 9;
function step(text: string): void {
  console.log(`demo: [${++stepNo}/${STEPS}] ${text}`);
}
function info(text: string): void {
  console.log(`demo:        ${text}`);
}

async function main(): Promise<string> {
  const opts = parseArgs(process.argv.slice(2));
  let keeping = false;
  installSignalHandlers({
    onSignal: () => console.error(keeping ? "\ndemo: stopping everything" : "\ndemo: interrupted, stopping everything"),
    exitCode: () => (keeping ? 0 : 130),
  });

  if (opts.build) {
    step("building the host meter (npx tsx build/build.ts --board host)");
    const b = spawnLogged("demo-build", ["npx", "tsx", "build/build.ts", "--board", "host"]);
    const r = await b.exited;
    if (r.code !== 0) throw new Error(`build failed (exit ${r.code}); see ${b.logPath}`);
  } else step("using the existing out/host/meter (--no-build)");

  step("fetching/compiling Leshan if needed");
  const { jar } = ensureLeshan();
  info(jar);

  step("starting Leshan's bootstrap server and server on loopback");
  const [bs, srv]: [LeshanBootstrap, LeshanServer] = await Promise.all([startLeshanBootstrap({ name: "demo-bootstrap" }), startLeshanServer({ name: "demo-server" })]);
  info(`bootstrap server ${bs.coapUri} (pid ${bs.process.pid}, config API ${bs.api})`);
  info(`LwM2M server     ${srv.coapUri} (pid ${srv.process.pid}, web UI http://127.0.0.1:${srv.webPort}/)`);

  step(`configuring the bootstrap server: NoSec, ${EP} -> ${srv.coapUri}, SSID ${SSID}, lifetime ${LIFETIME} s`);
  await bs.setConfig(EP, nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: SSID, lifetime: LIFETIME }));

  const dut = createDut(loadRig("host"), { seed: opts.seed, logName: "demo-meter" }) as HostDut;
  step(`starting the meter (host board, flash ${dut.flashPath}, seed ${dut.seed})`);
  await dut.start();
  info(`pid ${dut.pid}; console transcript in ${logDir}/demo-meter.log`);

  step(`provisioning over the console: set endpoint ${EP}; set bs-uri ${bs.coapUri}; reboot`);
  await dut.command(`set endpoint ${EP}`);
  await dut.command(`set bs-uri ${bs.coapUri}`);
  await dut.reboot();

  step("waiting for the client-initiated bootstrap");
  await dut.waitForLog("bootstrap: finished, configuration committed");
  const [session] = await bs.waitForSessions(EP, (s) => s.length > 0 && s[0].state !== "started");
  if (session.state !== "finished") throw new Error(`Leshan's bootstrap session ${session.state}: ${session.failure}`);
  info(`Leshan bootstrap session: ${session.requests.map((r) => `${r.kind} ${r.path} ${r.code ?? r.error}`).join(", ")}`);

  step("waiting for the registration");
  const REGISTERED = new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${EP}\\)`);
  const line = await dut.waitForLog(REGISTERED);
  const [, uri, location] = line.match(REGISTERED)!;
  info(line);
  const reg = await srv.waitForClient(EP, { timeoutMs: 30_000 });
  if (`/rd/${reg.registrationId}` !== location) throw new Error(`meter says ${location}, Leshan says /rd/${reg.registrationId}`);
  const listed = (await srv.clients()).some((c) => c.endpoint === EP);
  if (!listed) throw new Error(`Leshan's /api/clients does not list ${EP}`);

  step("reading /3/0 from the meter through Leshan's REST API");
  const read = await srv.read(EP, "/3/0", "TLV");
  if (!read.success) throw new Error(`Read /3/0 through Leshan: ${read.status} ${read.errormessage ?? ""}`);
  const manufacturer = String(resourceValue(read, 0));
  info(`/3/0: ${(read.content?.resources ?? []).map((r) => `${r.id}=${JSON.stringify(r.value ?? r.values)}`).join(" ")}`);

  const final = `meter ${EP} registered with ${uri} (Leshan sees it; /3/0 manufacturer=${manufacturer})`;
  if (opts.keep) {
    keeping = true;
    console.log(final);
    console.error(`demo: --keep: everything stays up. Leshan web UI http://127.0.0.1:${srv.webPort}/ ; Ctrl-C stops it all.`);
    await new Promise(() => undefined); // until a signal handler exits
  }
  await dut.stop();
  await stopAll();
  return final;
}

main().then(
  (final) => {
    console.log(final);
    process.exit(0);
  },
  async (e: Error) => {
    console.error(`demo: FAILED: ${e.message}`);
    console.error(`demo: logs in ${logDir}/`);
    await stopAll({ graceMs: 5_000 });
    process.exit(1);
  },
);
