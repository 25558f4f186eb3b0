// Out-of-band provisioning of one meter over its console (GEISA ADM: an accessible way to
// pre-provision the bootstrap-server URI, the bootstrap account's credentials, certificates
// and keys).
//
//   npm run provision -- --profile meter.json --port /dev/ttyUSB0 [--baud 115200]
//   npm run provision -- --profile meter.json --pty /dev/pts/N
//   npm run provision -- --profile meter.json --tcp 127.0.0.1:PORT      (QEMU -serial tcp:...,server)
//   npm run provision -- --profile meter.json --spawn "out/host/meter --flash f.img --fuse f.fuse"
//   options: --verify-only (read back and compare, change nothing), --timeout MS (per command),
//            --sync-timeout MS (console must answer within), --quiet,
//            --transcript FILE (every console line received, secrets replaced by <secret>)
//
// Sends console commands, checks each answer, then reads the configuration back and compares
// every value and fingerprint with what it sent. Prints fingerprints, never secrets. Exit
// status: 0 provisioned and verified, 1 refused / mismatch / timeout, 2 bad usage or profile.
import { writeFileSync } from "node:fs";
import { applyPlan } from "./provision/apply.ts";
import { ConsoleSession } from "./provision/console.ts";
import { loadProfile, planProfile, type Plan } from "./provision/profile.ts";
import { createTransport, type TransportOptions } from "./provision/transport.ts";

const USAGE = `usage: provision --profile FILE (--port DEV [--baud N] | --pty /dev/pts/N | --tcp HOST:PORT | --spawn "CMD ARGS")
                 [--verify-only] [--timeout MS] [--sync-timeout MS] [--quiet] [--transcript FILE]`;

interface Args extends TransportOptions {
  profile?: string;
  verifyOnly: boolean;
  timeout: number;
  syncTimeout: number;
  quiet: boolean;
  transcript?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { verifyOnly: false, timeout: 10_000, syncTimeout: 30_000, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    const num = () => {
      const v = val();
      if (!/^\d+$/.test(v)) throw new Error(`${k} wants a number, got ${v}`);
      return +v;
    };
    if (k === "--profile") a.profile = val();
    else if (k === "--port") a.port = val();
    else if (k === "--baud") a.baud = num();
    else if (k === "--pty") a.pty = val();
    else if (k === "--tcp") a.tcp = val();
    else if (k === "--spawn") a.spawn = val();
    else if (k === "--verify-only") a.verifyOnly = true;
    else if (k === "--timeout") a.timeout = num();
    else if (k === "--sync-timeout") a.syncTimeout = num();
    else if (k === "--quiet") a.quiet = true;
    else if (k === "--transcript") a.transcript = val();
    else if (k === "--help" || k === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${k}`);
  }
  if (!a.profile) throw new Error("--profile is required");
  return a;
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  let plan: Plan;
  try {
    args = parseArgs(argv);
    plan = planProfile(loadProfile(args.profile!));
  } catch (e) {
    console.error(`provision: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let session: ConsoleSession;
  try {
    session = new ConsoleSession(await createTransport(args));
  } catch (e) {
    console.error(`provision: ${(e as Error).message}`);
    return 2;
  }
  const say = (l: string) => {
    if (!args.quiet) console.log(l);
  };
  say(`provision: ${plan.endpoint} via ${session.transport.name}${args.verifyOnly ? " (verify only)" : ""}`);
  let result;
  try {
    await session.open();
  } catch (e) {
    console.error(`provision: ${(e as Error).message}`);
    return 1;
  }
  try {
    result = await applyPlan(session, plan, {
      verifyOnly: args.verifyOnly,
      commandTimeoutMs: args.timeout,
      syncTimeoutMs: args.syncTimeout,
      log: say,
    });
  } finally {
    await session.close();
    if (args.transcript) writeFileSync(args.transcript, session.transcript.join("\n") + "\n");
  }
  for (const l of plan.summary) say(`  ${l}`);
  if (result.ok) {
    console.log(`provision: ${plan.endpoint}: OK (${result.commands} commands, every value and fingerprint verified)`);
    return 0;
  }
  for (const p of result.problems) console.error(`provision: ${plan.endpoint}: ${p}`);
  const tail = (session.transport as { stderrTail?: string[] }).stderrTail;
  if (tail && tail.length) console.error(`provision: last stderr lines of the meter process:\n    ${tail.map((l) => session.redact(l)).join("\n    ")}`);
  console.error(`provision: ${plan.endpoint}: FAILED`);
  return 1;
}

const isMain = process.argv[1] && /provision\.ts$/.test(process.argv[1]);
if (isMain) main(process.argv.slice(2)).then((code) => process.exit(code));
