// The engine port, shared runtime and host board in C: the allocator and event ring
// (test/c/test_engine_pool.c), then out/test/engine-host/meter built with small JS app
// images and driven over stdin/stdout like a meter console.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildDukdump, checkDumpEquivalence, compileBoard, run } from "../../build/cbuild.ts";
import { loadBoard } from "../../build/boards.ts";

/** The host board's JS heap pool, as board.json sets it. */
const POOL = loadBoard("host").js.heapBytes;

const root = join(import.meta.dirname, "../..");
const testOut = join(root, "out/test/engine");

function cArray(name: string, bytes: Buffer): string {
  const rows: string[] = [];
  for (let i = 0; i < bytes.length; i += 24) rows.push(Array.from(bytes.subarray(i, i + 24)).join(","));
  return `const unsigned char ${name}[] = {\n${rows.join(",\n")}${bytes.length ? "," : ""}0};`;
}

function appImageC(bytes: Buffer, isBytecode: boolean, overlays: Buffer[]): string {
  return [
    cArray("app_image", bytes),
    `const unsigned int app_image_len = ${bytes.length};`,
    `const int app_image_is_bytecode = ${isBytecode ? 1 : 0};`,
    ...overlays.map((o, i) => cArray(`overlay_${i}`, o)),
    `const unsigned char *const app_overlays[] = { ${overlays.map((_, i) => `overlay_${i}, `).join("")}0 };`,
    `const unsigned int app_overlay_lens[] = { ${overlays.map((o) => `${o.length}, `).join("")}0 };`,
    `const int app_overlay_count = ${overlays.length};`,
    "",
  ].join("\n");
}

/** An overlay image for ECHO_APP's `overlay` command: it reads the API the app handed over
 * and leaves its exports behind, as build/overlays.ts stubs and overlays do. */
const OVERLAY_APP = `(function () {
var api = __ovl_api, big = []; for (var i = 0; i < 200; i++) big.push({ i: i });
function answer() { return api.base + big.length; }
__ovl_exports = { answer: answer };
})();`;

async function buildMeter(name: string, appJs: string, bytecode: boolean, overlaySrc: string[] = [OVERLAY_APP]): Promise<string> {
  const board = JSON.parse(readFileSync(join(root, "boards/host/board.json"), "utf8"));
  const outDir = join(testOut, name);
  const genDir = join(outDir, "gen");
  mkdirSync(genDir, { recursive: true });
  const images: Buffer[] = [];
  for (const [i, src] of [appJs, ...overlaySrc].entries()) {
    if (!bytecode) {
      images.push(Buffer.from(src));
      continue;
    }
    writeFileSync(join(genDir, `image${i}.js`), src);
    await run(await buildDukdump(root), [join(genDir, `image${i}.js`), join(genDir, `image${i}.bc`)]);
    images.push(readFileSync(join(genDir, `image${i}.bc`)));
  }
  writeFileSync(join(genDir, "app_image.c"), appImageC(images[0], bytecode, images.slice(1)));
  return compileBoard({ root, board, outDir, genDir });
}

class Meter {
  proc: ChildProcess;
  out = "";
  exit: Promise<{ code: number | null; signal: string | null }>;
  constructor(exe: string, args: string[]) {
    this.proc = spawn(exe, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stdout!.on("data", (d) => (this.out += d));
    this.proc.stderr!.on("data", (d) => (this.out += d));
    this.exit = new Promise((resolve) => this.proc.on("exit", (code, signal) => resolve({ code, signal })));
  }
  send(line: string): void {
    this.proc.stdin!.write(line + "\n");
  }
  async waitFor(re: RegExp, ms = 20000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.out.match(re);
      if (m) return m;
      if (Date.now() > end) throw new Error(`timed out waiting for ${re}; output:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  kill(): void {
    try {
      if (this.proc.exitCode === null && this.proc.pid) process.kill(this.proc.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

// Doubles in packed duk_tvals, property tables and buffers, with the 4-byte alignment the
// pool allocator gives (DUK_USE_ALIGN_BY 4): the meter must print what V8 computes.
const DOUBLES_SRC = `function doubles() {
  var a = [], o = {}, i, t = 0, dv = new DataView(new ArrayBuffer(20));
  for (i = 0; i < 300; i++) a.push(i / 7);
  for (i = 0; i < 40; i++) o["k" + i] = a[i * 7 + 3] * 1e300;
  for (i = 0; i < a.length; i++) t += a[i];
  dv.setFloat64(4, Math.PI / 3);
  return t + " " + o.k39 + " " + dv.getFloat64(4) + " " + JSON.stringify([0.1, -2.5e-300, a[299]]);
}`;
const doublesExpected = new Function(DOUBLES_SRC + "\nreturn doubles();")() as string;

const ECHO_APP = `
var line = new Uint8Array(1024);
__hal.log_write(3, "app: loaded, heap " + __hal.sys_heap(0) + "/" + __hal.sys_heap(2));
function text(n) { var s = ""; for (var i = 0; i < n; i++) s += String.fromCharCode(line[i]); return s; }
function onLine() {
  var s = text(__hal.console_read(line));
  __hal.console_write("echo: " + s + "\\n");
  if (s === "heap") __hal.console_write("heap used=" + __hal.sys_heap(0) + " peak=" + __hal.sys_heap(1) + " pool=" + __hal.sys_heap(2) + "\\n");
  if (s === "env") __hal.console_write("env " + Duktape.env + "\\n");
  if (s === "doubles") __hal.console_write("doubles " + doubles() + "\\n");
  if (s === "throw") throw new Error("boom");
  if (s === "random") { var b = new Uint8Array(4); __hal.rng_fill(b); __hal.console_write("random " + b[0] + "," + b[1] + "," + b[2] + "," + b[3] + "\\n"); }
  if (s === "grow") { var a = []; for (;;) a.push("item " + a.length); }
  if (s === "timer") __hal.timer_arm(50);
  if (s === "overlay") overlay();
}
function overlay() {
  var before = __hal.sys_heap(0);
  __ovl_api = { base: 1000 };
  __hal.overlay_load(0);
  var ex = __ovl_exports;
  __ovl_api = __ovl_exports = null;
  var loaded = __hal.sys_heap(0);
  var r = ex.answer();
  ex = null;
  __hal.overlay_load(-1);
  __hal.console_write("overlay " + r + " grew " + (loaded - before > 2000) + " released " + (__hal.sys_heap(0) - before < 200) + "\\n");
  try { __hal.overlay_load(7); } catch (e) { __hal.console_write("overlay 7: " + e.name + "\\n"); }
}
${DOUBLES_SRC}
__hal.dispatch = function (kind, handle, arg) {
  if (kind === __hal.EV_CONSOLE_LINE) onLine();
  else if (kind === __hal.EV_TIMER) __hal.console_write("timer fired at " + __hal.timer_now() + "\\n");
  else if (kind === __hal.EV_SHUTDOWN) __hal.sys_reset("shutdown");
};
`;

describe("engine allocator and event ring (C)", () => {
  it("passes test/c/test_engine_pool.c", async () => {
    mkdirSync(testOut, { recursive: true });
    writeFileSync(join(testOut, "board_config.h"), "#define BOARD_EVENT_RING 8\n");
    const exe = join(testOut, "test_engine_pool");
    await run("gcc", [
      "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined", "-DTEST_RING=8",
      `-I${testOut}`, `-I${join(root, "hal/include")}`, `-I${join(root, "hal/engine")}`, `-I${join(root, "hal/src")}`,
      join(root, "test/c/test_engine_pool.c"), join(root, "hal/engine/js_pool.c"), join(root, "hal/src/event_ring.c"),
      "-o", exe,
    ]);
    const out = await run(exe, []);
    expect(out).toMatch(/^ok \d+ checks/);
  });
});

describe("dukdump", () => {
  it("writes the same bytecode with and without heap pointer compression", async () => {
    mkdirSync(testOut, { recursive: true });
    const script = join(testOut, "dump-check.js");
    writeFileSync(script, ECHO_APP + "\nfunction named(a, b) { return [a, b, { k: a }].length; }\nvar o = { f: named, s: 'text' };\n");
    const r = await checkDumpEquivalence(root, script);
    expect(r.bytes).toBeGreaterThan(500);
    expect(r.same).toBe(true);
  });
});

describe("host meter with a tiny JS app", () => {
  let sourceMeter = "";
  let bytecodeMeter = "";
  beforeAll(async () => {
    sourceMeter = await buildMeter("source", ECHO_APP, false);
    bytecodeMeter = await buildMeter("bytecode", ECHO_APP, true);
  });

  for (const kind of ["source", "bytecode"] as const) {
    it(`boots, echoes console lines, reports heap figures and survives a JS error (${kind})`, async () => {
      const m = new Meter(kind === "source" ? sourceMeter : bytecodeMeter, ["--seed", "7"]);
      try {
        await m.waitFor(/host: rng seed 7\n/);
        await m.waitFor(/\*\*\* Booting GEISA meter firmware on host \(Duktape 2\.7\.0\) \*\*\*/);
        const created = await m.waitFor(new RegExp(`<inf> engine: js heap (\\d+)/${POOL} bytes in use after heap creation`));
        expect(Number(created[1])).toBeLessThan(48 * 1024);
        await m.waitFor(new RegExp(`<inf> app: loaded, heap \\d+/${POOL}`));
        m.send("hello meter");
        await m.waitFor(/echo: hello meter\n/);
        m.send("heap");
        const heap = await m.waitFor(new RegExp(`heap used=(\\d+) peak=(\\d+) pool=${POOL}\n`));
        expect(Number(heap[1])).toBeGreaterThan(0);
        expect(Number(heap[2])).toBeGreaterThanOrEqual(Number(heap[1]));
        m.send("env");
        await m.waitFor(/env .*RHSOL/); // 16-bit refcounts/hashes/lengths/object sizes, lightfunc built-ins (buffer lengths stay 32-bit)
        await m.waitFor(/env .* a4 /); // DUK_USE_ALIGN_BY 4: the pool's blocks are 4-byte aligned
        m.send("doubles");
        expect((await m.waitFor(/doubles (.*)\n/))[1]).toBe(doublesExpected);
        // An overlay image: loaded into the heap, used, released and collected; a missing one throws.
        m.send("overlay");
        await m.waitFor(/overlay 1200 grew true released true\n/);
        await m.waitFor(/overlay 7: RangeError\n/);
        m.send("throw");
        await m.waitFor(/\[\d\d:\d\d:\d\d\.\d{3}\] <err> engine: dispatch threw: Error: boom\n/);
        m.send("still alive");
        await m.waitFor(/echo: still alive\n/);
        m.proc.kill("SIGTERM");
        expect(await m.exit).toEqual({ code: 0, signal: null });
        expect(m.out).toContain("host: reset (shutdown)");
      } finally {
        m.kill();
      }
    });
  }

  it("replays the random stream from the printed seed", async () => {
    const draw = async (args: string[]) => {
      const m = new Meter(sourceMeter, args);
      try {
        const seed = (await m.waitFor(/host: rng seed (\d+)\n/))[1];
        await m.waitFor(/app: loaded/);
        m.send("random");
        const r = (await m.waitFor(/random ([\d,]+)\n/))[1];
        m.proc.kill("SIGTERM");
        await m.exit;
        return { seed, r };
      } finally {
        m.kill();
      }
    };
    const first = await draw([]);
    const again = await draw(["--seed", first.seed]);
    expect(again.r).toBe(first.r);
  });

  it("fires the timer armed by hal_timer_arm, at once on the virtual clock", async () => {
    const m = new Meter(sourceMeter, ["--virtual-clock"]);
    try {
      await m.waitFor(/app: loaded/);
      m.send("timer");
      await m.waitFor(/timer fired at 50\n/);
      m.proc.kill("SIGTERM");
      expect((await m.exit).code).toBe(0);
    } finally {
      m.kill();
    }
  });

  it("drops an over-long console line instead of overflowing", async () => {
    const m = new Meter(sourceMeter, []);
    try {
      await m.waitFor(/app: loaded/);
      m.send("x".repeat(5000));
      await m.waitFor(/host: console line too long, dropped\n/);
      m.send("short");
      await m.waitFor(/echo: short\n/);
      expect(m.out).not.toMatch(/echo: xxx/);
      m.proc.kill("SIGTERM");
      expect((await m.exit).code).toBe(0);
    } finally {
      m.kill();
    }
  });

  it("ends unbounded allocation in the clean out-of-heap fatal, then reboots in the same process", async () => {
    const m = new Meter(sourceMeter, ["--seed", "1"]);
    try {
      await m.waitFor(/app: loaded/);
      m.send("grow");
      const fatal = await m.waitFor(new RegExp(`FATAL: out of JS heap \\((\\d+)/${POOL} bytes\\) in dispatch\n`));
      expect(Number(fatal[1])).toBeLessThanOrEqual(POOL);
      await m.waitFor(/host: reset \(heap\)\nhost: reboot 1\n/);
      await m.waitFor(/host: reboot 1\n[^]*app: loaded/);
      expect(m.proc.exitCode).toBeNull(); // same process: re-exec, not a crash
      m.send("after reboot");
      await m.waitFor(/echo: after reboot\n/);
      m.proc.kill("SIGTERM");
      expect(await m.exit).toEqual({ code: 0, signal: null });
      expect(m.out).not.toMatch(/Segmentation|Aborted|core dumped/);
    } finally {
      m.kill();
    }
  });

  it("exits on SIGTERM within 5 s even when the app ignores HAL_EV_SHUTDOWN, and does not spin at stdin EOF", async () => {
    const exe = await buildMeter("deaf", "__hal.dispatch = function () {};", false);
    const m = new Meter(exe, []);
    try {
      await m.waitFor(new RegExp(`js heap \\d+/${POOL} bytes in use after app load`));
      m.proc.stdin!.end();
      await new Promise((r) => setTimeout(r, 300));
      const stat = readFileSync(`/proc/${m.proc.pid}/stat`, "utf8").split(" ");
      const cpuTicks = Number(stat[13]) + Number(stat[14]);
      expect(cpuTicks).toBeLessThan(20); // well under 0.2 s of CPU: idle in poll, not spinning
      const t0 = Date.now();
      m.proc.kill("SIGTERM");
      expect(await m.exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - t0).toBeGreaterThan(4000);
      expect(m.out).toContain("host: no orderly shutdown within 5 s, exiting");
    } finally {
      m.kill();
    }
  });
});
