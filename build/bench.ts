// `npm run bench`: every size and memory figure the meter pays for, as a table and as
// out/bench.json. Counts, never wall-clock time: bytes, heap bytes, datagrams, flash
// operations, and instructions under QEMU's -icount (repeatable on a noisy machine).
//   --no-build   use what is in out/ instead of building both boards first
//
// On the air, every figure comes from a capturing UDP relay (test/rig/capture.ts) between the
// meter and its real peer: the bootstrap and registration against Leshan; the DTLS handshake
// of the host board's offload (hal/dtls through boards/host's link driver) against openssl
// s_server, PSK and X.509, full and resumed (test/rig/dtls-handshake.ts), and the meter's own
// PSK handshake with Leshan when it registers over coaps://. Flash operations come from the
// host board's --flash-trace lines (test/rig/flash-trace.ts).
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUDGETS } from "./budgets.ts";
import { buildBoard, type BuildContext } from "./build.ts";
import { loadBoard } from "./boards.ts";
import { bundleBytes, firmwareImages, writeAppImage } from "./firmware.ts";
import { root } from "./gen-boundary.ts";
import { applyLeshan } from "./provision/factory.ts";
import { startUdpCapture } from "../test/rig/capture.ts";
import { handshakeTraffic, measureDtlsHandshakes, serverHelloSuite, type HandshakeTraffic } from "../test/rig/dtls-handshake.ts";
import { createDut, loadRig, type HostDut } from "../test/rig/dut.ts";
import { flashOps, lineIndex, type FlashOps } from "../test/rig/flash-trace.ts";
import { ensureLeshan, nosecConfig, startLeshanBootstrap, startLeshanServer, type LeshanServer } from "../test/rig/leshan.ts";
import { stopAll } from "../test/rig/processes.ts";

interface Row { figure: string; value: number | string; budget?: number; unit: string }

const rows: Row[] = [];
const figures: Record<string, unknown> = {};

function record(key: string, figure: string, value: number | string, unit: string, budget?: number): void {
  rows.push({ figure, value, unit, budget });
  figures[key] = budget === undefined ? value : { value, budget };
}

const EP = "bench-meter";
const EP_COAPS = "bench-meter-coaps";

const upDown = (t: HandshakeTraffic) => `${t.up} / ${t.down}`;
const upDownBytes = (t: HandshakeTraffic) => `${t.upBytes} / ${t.downBytes}`;
const flashRow = (f: FlashOps) => `${f.programs} / ${f.erases}`;

/** Bootstrap + registration on the host board against Leshan, through capturing relays. */
async function hostFlow(): Promise<void> {
  ensureLeshan();
  const [bs, srv] = await Promise.all([startLeshanBootstrap({ name: "bench-bootstrap" }), startLeshanServer({ name: "bench-server" })]);
  const bsCapture = await startUdpCapture(Number(new URL(bs.coapUri.replace("coap:", "http:")).port));
  const srvCapture = await startUdpCapture(Number(new URL(srv.coapUri.replace("coap:", "http:")).port));
  // --flash-trace: the host board prints every flash program/erase in order with the log.
  const dut = createDut(loadRig("host"), { seed: 1, logName: "bench-meter", extraArgs: ["--flash-trace"] }) as HostDut;
  try {
    await bs.setConfig(EP, nosecConfig({ bootstrapUri: bsCapture.uri, serverUri: srvCapture.uri, ssid: 101, lifetime: 300 }));
    await dut.start();
    await dut.command(`set endpoint ${EP}`);
    await dut.command(`set bs-uri ${bsCapture.uri}`);
    const bootMark = dut.mark();
    await dut.reboot();
    await dut.waitForLog("bootstrap: finished, configuration committed");
    await dut.waitForLog(new RegExp(`registration: registered with .* \\(ep=${EP}\\)`));
    await srv.waitForClient(EP, { timeoutMs: 60_000 });
    const status = (await dut.command("status")).join("\n");
    const heap = status.match(/heap: used=(\d+) peak=(\d+) pool=(\d+)/);
    if (!heap) throw new Error(`no heap line in status:\n${status}`);
    const loaded = dut.logs().map((l) => l.match(/js heap (\d+)\/\d+ bytes in use after app load, peak (\d+)/)).filter(Boolean).pop();
    if (loaded) {
      record("heapAfterLoadBytes", "JS heap in use after the app loaded (host)", Number(loaded[1]), "B");
      record("heapLoadPeakBytes", "JS heap peak while the app loads (host)", Number(loaded[2]), "B");
    }
    record("heapPeakBytes", "JS heap peak, boot + bootstrap + registration (host)", Number(heap[2]), "B", BUDGETS.heapPeakBytes);
    record("heapUsedAfterRegistrationBytes", "JS heap in use after registration (host)", Number(heap[1]), "B");
    record("heapPoolBytes", "JS heap pool (board.json)", Number(heap[3]), "B");
    const b = bsCapture.totals();
    const r = srvCapture.totals();
    record("bootstrapDatagrams", "bootstrap: datagrams sent / received", `${b.up} / ${b.down}`, "");
    record("bootstrapBytes", "bootstrap: bytes sent / received", `${b.upBytes} / ${b.downBytes}`, "B");
    record("registrationDatagrams", "registration: datagrams sent / received", `${r.up} / ${r.down}`, "");
    record("registrationBytes", "registration: bytes sent / received", `${r.upBytes} / ${r.downBytes}`, "B");
    figures.traffic = { bootstrap: b, registration: r };
    // A second full bootstrap on the same meter (console `bootstrap`), now on a formatted store.
    const againMark = dut.mark();
    await dut.command("bootstrap");
    await dut.waitForLog("bootstrap: finished, configuration committed", { since: againMark });
    await dut.waitForLog(new RegExp(`registration: registered with .* \\(ep=${EP}\\)`), { since: againMark });
    flashFigures(dut.logs(), bootMark, againMark);
    await coapsRegistration(srv);
  } finally {
    await dut.stop().catch(() => undefined);
    await bsCapture.stop();
    await srvCapture.stop();
    await stopAll();
  }
}

/** The flash operations of one full bootstrap from `from`: from the line that starts it to
 * "finished, configuration committed", and of the registration that follows. */
function bootstrapFlash(lines: string[], from: number, start: RegExp): { before: FlashOps; bootstrap: FlashOps; registration: FlashOps } {
  const begin = lineIndex(lines, start, from);
  const done = begin < 0 ? -1 : lineIndex(lines, "bootstrap: finished, configuration committed", begin);
  const registered = done < 0 ? -1 : lineIndex(lines, new RegExp(`registration: registered with .* \\(ep=${EP}\\)`), done);
  if (registered < 0) throw new Error("flash figures: bootstrap or registration lines not found in the meter's console output");
  return { before: flashOps(lines, from, begin), bootstrap: flashOps(lines, begin, done + 1), registration: flashOps(lines, done + 1, registered + 1) };
}

/**
 * Flash program/erase operations per full client-initiated bootstrap, from the host board's
 * --flash-trace lines: from the line that starts it ("app: no management server,
 * bootstrapping" at boot, the `bootstrap` command's Bootstrap-Request) to "finished,
 * configuration committed": the Bootstrap-Request, the server's writes into the staging copy
 * and the atomic commit. Twice: the first bootstrap of a meter whose store was only written by
 * the console provisioning (fresh flash: it also formats the store's blank sectors once), and a
 * second one on the same meter.
 */
function flashFigures(lines: string[], bootMark: number, againMark: number): void {
  if (flashOps(lines, bootMark).ops === 0) throw new Error("flash figures: no --flash-trace lines (host board built without them?)");
  const first = bootstrapFlash(lines.slice(0, againMark), bootMark, /<inf> app: .*bootstrapping|bootstrap: Bootstrap-Request sent/);
  const again = bootstrapFlash(lines, againMark, /bootstrap: Bootstrap-Request sent/);
  record("flashBootstrapOps", "flash per full bootstrap, first (fresh store): programs / erases", flashRow(first.bootstrap), "");
  record("flashBootstrapBytes", "flash per full bootstrap, first: bytes programmed", first.bootstrap.programBytes, "B");
  record("flashRebootstrapOps", "flash per full bootstrap, again: programs / erases", flashRow(again.bootstrap), "");
  record("flashRebootstrapBytes", "flash per full bootstrap, again: bytes programmed", again.bootstrap.programBytes, "B");
  record("flashRegistrationOps", "flash per registration: programs / erases", flashRow(first.registration), "");
  figures.flash = {
    bootBeforeBootstrap: first.before,
    bootstrapFirst: first.bootstrap,
    registrationAfterFirst: first.registration,
    bootstrapAgain: again.bootstrap,
    registrationAfterAgain: again.registration,
    sectorBytes: loadBoard("host").hal.store.sectorBytes, // what one erase clears
  };
}

/**
 * The meter registering with Leshan over coaps:// with a PSK written at the factory (console),
 * through a capturing relay in front of Leshan's DTLS port: the handshake of the meter's own
 * DTLS offload with a real LwM2M server, and the registration inside the session.
 */
async function coapsRegistration(srv: LeshanServer): Promise<void> {
  const identity = `${EP_COAPS}-id`;
  const key = randomBytes(16).toString("hex");
  const problems = await applyLeshan(`http://127.0.0.1:${srv.webPort}`, [{ endpoint: EP_COAPS, psk: { identity, key } }]);
  if (problems.length) throw new Error(`Leshan security store: ${problems.join("; ")}`);
  const capture = await startUdpCapture(srv.coapsPort, "coaps");
  const dut = createDut(loadRig("host"), { seed: 2, logName: "bench-meter-coaps" }) as HostDut;
  try {
    await dut.start();
    for (const c of [`set endpoint ${EP_COAPS}`, `set server 101 ${capture.uri} 300`, "set security psk 101", `set psk-identity ${identity} 101`, `set psk-key ${key} 101`])
      await dut.command(c);
    await dut.reboot();
    await dut.waitForLog(new RegExp(`registration: registered with ${capture.uri.replace(/[.]/g, "\\.")} .* \\(ep=${EP_COAPS}\\)`));
    await srv.waitForClient(EP_COAPS, { timeoutMs: 60_000 });
    const [hs] = handshakeTraffic(capture.datagrams);
    if (!hs) throw new Error("coaps registration: no DTLS handshake on the air");
    const all = capture.totals();
    const inSession = { up: all.up - hs.up, down: all.down - hs.down, upBytes: all.upBytes - hs.upBytes, downBytes: all.downBytes - hs.downBytes };
    const suite = serverHelloSuite(capture.datagrams) ?? "?";
    record("dtlsLeshanPskDatagrams", `DTLS PSK handshake, meter with Leshan (${suite}): datagrams sent / received`, upDown(hs), "");
    record("dtlsLeshanPskBytes", "DTLS PSK handshake, meter with Leshan: bytes sent / received", upDownBytes(hs), "B");
    record("registrationCoapsDatagrams", "registration over coaps, after the handshake: datagrams sent / received", upDown(inSession), "");
    record("registrationCoapsBytes", "registration over coaps, after the handshake: bytes sent / received", upDownBytes(inSession), "B");
    const dtls = (figures.dtls ??= {}) as Record<string, unknown>;
    dtls.leshanPsk = { suite, handshake: hs, registration: inSession };
  } finally {
    await dut.stop().catch(() => undefined);
    await capture.stop();
  }
}

/** DTLS handshakes of the host board's offload against openssl s_server, on the air. */
async function dtlsHandshakes(): Promise<void> {
  const { psk, x509 } = await measureDtlsHandshakes(join(root, "out", "bench-dtls"));
  for (const [key, name, f] of [["Psk", "PSK", psk], ["X509", "X.509 ECDSA", x509]] as const) {
    record(`dtls${key}Datagrams`, `DTLS ${name} handshake vs openssl s_server (${f.suite}): datagrams sent / received`, upDown(f.full), "");
    record(`dtls${key}Bytes`, `DTLS ${name} handshake vs openssl s_server: bytes sent / received`, upDownBytes(f.full), "B");
    if (f.resumed) {
      record(`dtls${key}ResumedDatagrams`, `DTLS ${name} resumed handshake vs openssl s_server: datagrams sent / received`, upDown(f.resumed), "");
      record(`dtls${key}ResumedBytes`, `DTLS ${name} resumed handshake vs openssl s_server: bytes sent / received`, upDownBytes(f.resumed), "B");
    }
  }
  const dtls = (figures.dtls ??= {}) as Record<string, unknown>;
  Object.assign(dtls, { peer: "openssl s_server -dtls1_2", psk, x509 });
}

/** Instructions from reset to the JS event loop, for the bytecode image and the source image. */
async function qemuBoot(ctx: BuildContext): Promise<void> {
  const arm = await import("./toolchains/arm-none-eabi.ts");
  const size = JSON.parse(readFileSync(join(ctx.outDir, "size.json"), "utf8"));
  record("cortexText", "Cortex-M image .text", size.text, "B");
  record("cortexData", "Cortex-M image .data", size.data, "B");
  record("cortexBss", "Cortex-M image .bss (JS heap pool included)", size.bss, "B");
  record("cortexFlashBytes", "Cortex-M flash (text + data)", size.text + size.data, "B", BUDGETS.cortexFlashBytes);
  const variants: [string, boolean][] = [["bytecode", true], ["source", false]];
  for (const [name, isBytecode] of variants) {
    const dir = join(root, "out", `bench-${ctx.board.name}-${name}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "gen"), { recursive: true });
    cpSync(ctx.genDir, join(dir, "gen"), { recursive: true });
    const [image, ...overlays] = firmwareImages(join(root, "out", "host")).map((f) => readFileSync(isBytecode ? f.replace(/\.js$/, ".bc") : f));
    writeAppImage(join(dir, "gen"), image, isBytecode, overlays);
    try {
      const boot = await arm.measureBootInstructions({ ...ctx, outDir: dir, genDir: join(dir, "gen") });
      record(`bootInstructions_${name}`, `QEMU instructions to the event loop (${name} app)`, boot.instructions, "insn");
    } catch (e: any) {
      record(`bootInstructions_${name}`, `QEMU instructions to the event loop (${name} app)`, `does not boot: ${String(e.message ?? e).split("\n")[0]}`, "");
    }
  }
}

async function main(): Promise<void> {
  const build = !process.argv.includes("--no-build");
  const host = build ? await buildBoard("host") : null;
  const qemu = build ? await buildBoard("qemu-mps2-an386")
    : { root, board: loadBoard("qemu-mps2-an386"), outDir: join(root, "out/qemu-mps2-an386"), genDir: join(root, "out/qemu-mps2-an386/gen") };
  void host;
  const images = firmwareImages(join(root, "out/host"));
  record("bundleBytes", "app bundle, minified (resident + overlays)", bundleBytes(join(root, "out/host")), "B", BUDGETS.bundleBytes);
  record("residentBundleBytes", "  of which resident (loaded at boot)", statSync(images[0]).size, "B");
  const bcs = images.map((f) => f.replace(/\.js$/, ".bc"));
  if (bcs.every((f) => existsSync(f))) {
    record("bytecodeBytes", "app bytecode (the default image), resident + overlays", bcs.reduce((n, f) => n + statSync(f).size, 0), "B");
    record("residentBytecodeBytes", "  of which resident", statSync(bcs[0]).size, "B");
  }
  await qemuBoot(qemu);
  await hostFlow();
  await dtlsHandshakes();

  const width = Math.max(...rows.map((r) => r.figure.length));
  console.log(`\n${"figure".padEnd(width)}  ${"value".padStart(14)}  budget`);
  let over = 0;
  for (const r of rows) {
    const exceeded = r.budget !== undefined && typeof r.value === "number" && r.value > r.budget;
    over += exceeded ? 1 : 0;
    const budget = r.budget === undefined ? "" : `${r.budget} ${r.unit}${exceeded ? "  OVER" : ""}`;
    console.log(`${r.figure.padEnd(width)}  ${String(r.value).padStart(12)} ${r.unit.padEnd(4)} ${budget}`);
  }
  mkdirSync(join(root, "out"), { recursive: true });
  writeFileSync(join(root, "out/bench.json"), JSON.stringify(figures, null, 2) + "\n");
  console.log(`\nbench: figures written to out/bench.json${over ? `; ${over} over budget` : ""}`);
  process.exit(over ? 1 : 0);
}

main().catch(async (e) => {
  console.error(`bench: FAILED: ${e.message ?? e}`);
  await stopAll();
  process.exit(1);
});
