// One command to build for a board: `npm run build -- --board <name>` (default: host).
// Steps: boundary artefacts, firmware (tsc ES5 + bundle), app image (source or bytecode),
// then the board's C toolchain. Output in out/<board>/.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { boardNames, loadBoard, type Board } from "./boards.ts";
import { bundleFirmware, compileFirmware, firmwareImages, writeAppImage } from "./firmware.ts";
import { checkBoundary, root, writeBoundary } from "./gen-boundary.ts";

export interface BuildContext { root: string; board: Board; outDir: string; genDir: string }

function step(text: string): void {
  console.log(`build: ${text}`);
}

async function toolchain(board: Board) {
  return import(`./toolchains/${board.toolchain}.ts`);
}

/** Dumps the bundle to Duktape bytecode with the host tool built in the same engine configuration. */
async function dumpBytecode(appJs: string): Promise<Buffer> {
  const { buildDukdump } = await import("./cbuild.ts");
  const tool: string = await buildDukdump(root);
  const out = appJs.replace(/\.js$/, ".bc");
  const { execFileSync } = await import("node:child_process");
  execFileSync(tool, [appJs, out], { stdio: "inherit" });
  return readFileSync(out);
}

export async function buildBoard(name: string, opts: { app?: "bytecode" | "source" } = {}): Promise<BuildContext> {
  const board = loadBoard(name);
  const ctx: BuildContext = { root, board, outDir: join(root, "out", name), genDir: join(root, "out", name, "gen") };
  if (checkBoundary().length) {
    step("regenerating boundary artefacts from hal/boundary.json");
    writeBoundary();
  }
  step(`${name}: compiling firmware (tsc, ES5, engine lib)`);
  compileFirmware();
  await bundleFirmware(board, ctx.outDir);
  const images = firmwareImages(ctx.outDir);
  const format = opts.app ?? board.js.app;
  const sizes = images.map((f) => readFileSync(f).length);
  step(`${name}: bundle ${sizes.reduce((a, b) => a + b)} bytes minified (resident ${sizes[0]}, overlays ${sizes.slice(1).join(" + ") || "none"})`);
  const { writeBoardConfig } = await import("./cbuild.ts");
  writeBoardConfig(board, ctx.genDir);
  const blobs: Buffer[] = [];
  for (const f of images) blobs.push(format === "bytecode" ? await dumpBytecode(f) : readFileSync(f));
  if (format === "bytecode") step(`${name}: bytecode ${blobs.reduce((n, b) => n + b.length, 0)} bytes (resident ${blobs[0].length})`);
  writeAppImage(ctx.genDir, blobs[0], format === "bytecode", blobs.slice(1));
  step(`${name}: compiling C (${board.toolchain})`);
  const tc = await toolchain(board);
  await tc.compileBoard(ctx);
  step(`${name}: done (${ctx.outDir})`);
  return ctx;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf("--board");
  const names = at >= 0 ? [args[at + 1]] : args.includes("--all") ? boardNames() : ["host"];
  const appAt = args.indexOf("--app");
  const app = appAt >= 0 ? (args[appAt + 1] as "bytecode" | "source") : undefined;
  for (const name of names) await buildBoard(name, { app });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`build: FAILED: ${e.message ?? e}`);
    process.exit(1);
  });
}
