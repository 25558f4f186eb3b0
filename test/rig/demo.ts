// `npm run demo`: build the host meter, start Leshan's bootstrap server and server on
// loopback, provision the meter over its console and show it bootstrapping and registering.
//
//   npm run demo                       # run, verify, stop everything, exit 0
//   npm run demo -- --keep             # leave everything running until Ctrl-C
//   npm run demo -- --security nosec   # plain CoAP (default)
//   npm run demo -- --security psk     # DTLS with random PSKs: coaps:// bootstrap and registration
//   npm run demo -- --security x509    # DTLS with certificates from a throw-away CA (openssl, out/rig/pki/)
//   npm run demo -- --seed 42          # replay the meter's RNG
//   npm run demo -- --no-build         # use the existing out/host/meter
import { randomBytes } from "node:crypto";
import { createDut, loadRig, type HostDut } from "./dut.ts";
import {
  ensureLeshan,
  leshanSecurityFor,
  resourceValue,
  securedConfig,
  startLeshanBootstrap,
  startLeshanServer,
  type AccountCredential,
  type LeshanBootstrap,
  type LeshanServer,
} from "./leshan.ts";
import { credentialCommands, fingerprint, redactConsoleLog } from "./meter-credentials.ts";
import { makePki, type Pki } from "./pki.ts";
import { installSignalHandlers, logDir, spawnLogged, stopAll } from "./processes.ts";

const EP = "meter-0001";
const SSID = 101;
const LIFETIME = 60;

type Security = "nosec" | "psk" | "x509";

interface Options {
  keep: boolean;
  security: Security;
  seed?: number;
  build: boolean;
}

function usage(msg?: string): never {
  if (msg) console.error(`demo: ${msg}`);
  console.error("usage: npm run demo -- [--keep] [--security nosec|psk|x509] [--seed N] [--no-build]");
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { keep: false, security: "nosec", build: true };
  let security = "nosec";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--keep") o.keep = true;
    else if (a === "--no-build") o.build = false;
    else if (a === "--security") security = argv[++i] ?? usage("--security needs a value");
    else if (a.startsWith("--security=")) security = a.slice("--security=".length);
    else if (a === "--seed") o.seed = Number(argv[++i] ?? usage("--seed needs a value"));
    else if (a === "-h" || a === "--help") usage();
    else usage(`unknown option ${a}`);
  }
  if (o.seed !== undefined && !Number.isInteger(o.seed)) usage("--seed needs an integer");
  if (security !== "nosec" && security !== "psk" && security !== "x509") usage(`unknown security mode '${security}' (nosec, psk or x509)`);
  o.security = security;
  return o;
}

let stepNo = 0;
const STEPS = 9; // the same steps for every security mode
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

  // Credentials: the bootstrap account's (given to the meter over its console and to the
  // bootstrap server's configuration) and the management account's (written by the bootstrap
  // server into /0/1, and put in the Leshan server's security store).
  let pki: Pki | undefined;
  let bsCred: AccountCredential = { mode: "nosec" };
  let srvCred: AccountCredential = { mode: "nosec" };
  if (opts.security === "psk") {
    bsCred = { mode: "psk", identity: `${EP}-bs-${randomBytes(4).toString("hex")}`, key: randomBytes(16) };
    srvCred = { mode: "psk", identity: `${EP}-${randomBytes(4).toString("hex")}`, key: randomBytes(16) };
  } else if (opts.security === "x509") {
    pki = makePki({ clientCn: EP });
    info(`certificates (EC P-256, one CA) in ${pki.dir}: CA, Leshan server, bootstrap server, meter (CN=${EP})`);
    bsCred = { mode: "x509", cert: pki.client.certDer, key: pki.client.keyDer, serverCert: pki.bootstrap.certDer, usage: "DOMAIN_ISSUER_CERTIFICATE" };
    srvCred = { mode: "x509", cert: pki.client.certDer, key: pki.client.keyDer, serverCert: pki.server.certDer, usage: "DOMAIN_ISSUER_CERTIFICATE" };
  }
  const secure = opts.security !== "nosec";

  step(`starting Leshan's bootstrap server and server on loopback${pki ? " with their X.509 identities" : ""}`);
  const [bs, srv]: [LeshanBootstrap, LeshanServer] = await Promise.all([
    startLeshanBootstrap({
      name: "demo-bootstrap",
      x509: pki && { certFile: pki.bootstrap.chainPem, keyFile: pki.bootstrap.keyDerFile, trust: [pki.ca.certDerFile] },
    }),
    startLeshanServer({
      name: "demo-server",
      x509: pki && { certFile: pki.server.chainPem, keyFile: pki.server.keyDerFile, truststore: pki.ca.certDerFile },
    }),
  ]);
  const bsUri = secure ? bs.coapsUri : bs.coapUri;
  const srvUri = secure ? srv.coapsUri : srv.coapUri;
  info(`bootstrap server ${bsUri} (pid ${bs.process.pid}, config API ${bs.api})`);
  info(`LwM2M server     ${srvUri} (pid ${srv.process.pid}, web UI http://127.0.0.1:${srv.webPort}/)`);

  const mode = { nosec: "NoSec", psk: "PSK", x509: "X.509, server certificate pinned (usage 3)" }[opts.security];
  step(`configuring the bootstrap server: ${mode}, ${EP} -> ${srvUri}, SSID ${SSID}, lifetime ${LIFETIME} s`);
  // The bootstrap server writes both accounts, its own included (for X.509 that is about
  // 2 KB of certificates and keys in one session), as a production bootstrap would.
  const rewriteBsAccount = true;
  await bs.setConfig(EP, securedConfig({ bootstrapUri: bsUri, bootstrap: bsCred, serverUri: srvUri, server: srvCred, ssid: SSID, lifetime: LIFETIME, bootstrapAccount: rewriteBsAccount }));
  const entry = leshanSecurityFor(EP, srvCred);
  if (entry) {
    await srv.addSecurity(entry);
    info(`Leshan server security store: ${EP} -> ${"psk" in entry ? `PSK identity ${entry.psk.identity}, key sha256 ${fingerprint(Buffer.from(entry.psk.key, "hex"))}...` : "X.509 (certificate CN = endpoint, chained to the rig CA)"}`);
  }

  const dut = redactConsoleLog(createDut(loadRig("host"), { seed: opts.seed, logName: "demo-meter" })) as HostDut;
  step(`starting the meter (host board, flash ${dut.flashPath}, seed ${dut.seed})`);
  await dut.start();
  info(`pid ${dut.pid}; console transcript in ${logDir}/demo-meter.log (keys redacted)`);

  const credLines = credentialCommands(bsCred).map((l) => l.split("\n")[0].replace(/^(set (psk-key|key)) (?!pem)\S+/, "$1 <secret>"));
  step(`provisioning over the console: set endpoint ${EP}; ${secure ? credLines.join("; ") + "; " : ""}set bs-uri ${bsUri}; reboot`);
  await dut.command(`set endpoint ${EP}`);
  for (const line of credentialCommands(bsCred).filter(() => secure)) await dut.command(line);
  await dut.command(`set bs-uri ${bsUri}`);
  if (secure) for (const l of await dut.command("show credentials")) info(l);
  await dut.reboot();

  step("waiting for the client-initiated bootstrap");
  await dut.waitForLog("bootstrap: finished, configuration committed");
  const [session] = await bs.waitForSessions(EP, (s) => s.length > 0 && s[0].state !== "started");
  if (session.state !== "finished") throw new Error(`Leshan's bootstrap session ${session.state}: ${session.failure}`);
  if (session.secure !== secure) throw new Error(`Leshan's bootstrap session is ${session.secure ? "" : "not "}secure`);
  const who = session.pskIdentity ? `, PSK identity ${session.pskIdentity}` : session.x509CommonName ? `, certificate CN=${session.x509CommonName}` : "";
  info(`Leshan bootstrap session (${session.secure ? "DTLS" : "plain CoAP"}${who}): ${session.requests.map((r) => `${r.kind} ${r.path} ${r.code ?? r.error}`).join(", ")}`);

  step("waiting for the registration");
  const REGISTERED = new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${EP}\\)`);
  const line = await dut.waitForLog(REGISTERED);
  const [, uri, location] = line.match(REGISTERED)!;
  info(line);
  const reg = await srv.waitForClient(EP, { timeoutMs: 30_000 });
  if (`/rd/${reg.registrationId}` !== location) throw new Error(`meter says ${location}, Leshan says /rd/${reg.registrationId}`);
  const listed = (await srv.clients()).some((c) => c.endpoint === EP);
  if (!listed) throw new Error(`Leshan's /api/clients does not list ${EP}`);
  if (reg.secure !== secure) throw new Error(`Leshan says the registration is ${reg.secure ? "" : "not "}secure`);
  info(`Leshan: ${EP} registered from ${reg.address} ${reg.secure ? "over DTLS" : "over plain CoAP"}`);
  if (secure) for (const l of await dut.command("show credentials")) info(l);

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
