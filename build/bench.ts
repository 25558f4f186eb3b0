// `npm run bench`: every size and memory figure the meter pays for, as a table and as
// out/bench.json. Counts, never wall-clock time: bytes, heap bytes, datagrams, and
// instructions under QEMU's -icount (repeatable on a noisy machine).
//   --no-build   use what is in out/ instead of building both boards first
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUDGETS } from "./budgets.ts";
import { buildBoard, type BuildContext } from "./build.ts";
import { loadBoard } from "./boards.ts";
import { writeAppImage } from "./firmware.ts";
import { root } from "./gen-boundary.ts";
import { startUdpCapture } from "../test/rig/capture.ts";
import { createDut, loadRig, type HostDut } from "../test/rig/dut.ts";
import { ensureLeshan, nosecConfig, startLeshanBootstrap, startLeshanServer } from "../test/rig/leshan.ts";
import { stopAll } from "../test/rig/processes.ts";

interface Row { figure: string; value: number | string; budget?: number; unit: string }

const rows: Row[] = [];
const figures: Record<string, unknown> = {};

function record(key: string, figure: string, value: number | string, unit: string, budget?: number): void {
  rows.push({ figure, value, unit, budget });
  figures[key] = budget === undefined ? value : { value, budget };
}

const EP = "bench-meter";

/** Bootstrap + registration on the host board against Leshan, through capturing relays. */
async function hostFlow(): Promise<void> {
  ensureLeshan();
  const [bs, srv] = await Promise.all([startLeshanBootstrap({ name: "bench-bootstrap" }), startLeshanServer({ name: "bench-server" })]);
  const bsCapture = await startUdpCapture(Number(new URL(bs.coapUri.replace("coap:", "http:")).port));
  const srvCapture = await startUdpCapture(Number(new URL(srv.coapUri.replace("coap:", "http:")).port));
  const dut = createDut(loadRig("host"), { seed: 1, logName: "bench-meter" }) as HostDut;
  try {
    await bs.setConfig(EP, nosecConfig({ bootstrapUri: bsCapture.uri, serverUri: srvCapture.uri, ssid: 101, lifetime: 300 }));
    await dut.start();
    await dut.command(`set endpoint ${EP}`);
    await dut.command(`set bs-uri ${bsCapture.uri}`);
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
  } finally {
    await dut.stop().catch(() => undefined);
    await bsCapture.stop();
    await srvCapture.stop();
    await stopAll();
  }
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
    const image = readFileSync(join(root, "out", "host", isBytecode ? "app.bc" : "app.js"));
    writeAppImage(join(dir, "gen"), image, isBytecode);
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
  const bundle = statSync(join(root, "out/host/app.js")).size;
  record("bundleBytes", "app bundle, minified", bundle, "B", BUDGETS.bundleBytes);
  const bc = join(root, "out/host/app.bc");
  if (existsSync(bc)) record("bytecodeBytes", "app bytecode (the default image)", statSync(bc).size, "B");
  await qemuBoot(qemu);
  await hostFlow();

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
