// The qemu-mps2-an386 board under qemu-system-arm: its drivers on their own (a C self-test
// image, no engine), the budget enforced at link time, then the real firmware image booting
// to the JS event loop and answering on the UART console. No wall-clock assertions: the
// timeouts only stop a hung run.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadBoard, type Board } from "../../build/boards.ts";
import { writeAppImage } from "../../build/firmware.ts";
import { root } from "../../build/gen-boundary.ts";
import {
  buildImage, measureBootInstructions, QEMU_EXIT, runQemu, startQemu, type QemuSession,
} from "../../build/toolchains/arm-none-eabi.ts";

const BOARD = "qemu-mps2-an386";
const board = loadBoard(BOARD);
const outDir = join(root, "out", BOARD);
const HANG_GUARD_MS = 120_000;

async function writeConfig(b: Board, genDir: string): Promise<void> {
  const { writeBoardConfig } = await import("../../build/cbuild.ts");
  mkdirSync(genDir, { recursive: true });
  writeBoardConfig(b, genDir);
}

/** The drivers with hal/src's event ring and deadline, driven by test/c/qemu_board_selftest.c. */
async function buildSelftest(b: Board, name: string, opts: { exitOnReset?: boolean } = {}) {
  const dir = join(outDir, "selftest");
  const genDir = join(dir, "gen-" + name);
  await writeConfig(b, genDir);
  return buildImage({
    root, board: b, outDir: dir, genDir,
    options: {
      quiet: true, elfName: `${name}.elf`, rngSeed: 0x5eedn, exitOnReset: opts.exitOnReset,
      sourcesOverride: [
        join(root, "test/c/qemu_board_selftest.c"),
        join(root, "hal/src/event_ring.c"),
        join(root, "hal/src/timer_deadline.c"),
      ],
    },
  });
}

describe("qemu-mps2-an386 drivers (self-test image)", () => {
  let elf = "";
  beforeAll(async () => {
    elf = (await buildSelftest(board, "selftest")).elf;
  });

  it("answers on the UART console, fires the one-shot timer and exits with the halt code", async () => {
    const q = startQemu(board, elf, { hangGuardMs: HANG_GUARD_MS });
    try {
      await q.waitFor("selftest: ready\n");
      expect(q.output()).toContain("no TRNG; rng is a PRNG seeded at build time, seed 0x0000000000005eed");
      let from = q.output().length;
      q.send("ping");
      await q.waitFor("pong\n", { from });
      from = q.output().length;
      q.send("time");
      const before = Number(/time: (\d+) ms/.exec((await q.waitFor(/time: \d+ ms\n/, { from })).slice(from))![1]);
      from = q.output().length;
      q.send("wait 30");
      const fired = Number(/timer: fired at (\d+) ms/.exec((await q.waitFor(/fired at \d+ ms\n/, { from })).slice(from))![1]);
      expect(fired).toBeGreaterThanOrEqual(before + 30);
      q.send("exit 7");
      expect(await q.exited).toBe(7);
    } finally {
      await q.stop();
    }
  });

  it("takes console lines ending in CR, LF or CRLF, drops over-long ones, loses nothing in a burst", async () => {
    const q = startQemu(board, elf, { hangGuardMs: HANG_GUARD_MS });
    try {
      await q.waitFor("selftest: ready\n");
      const from = q.output().length;
      q.proc.stdin!.write("ping\rping\r\nping\n\n" + "x".repeat(board.hal.console.lineBytes + 10) + "\n");
      // 40 commands in one write: far more than the 256-byte RX ring holds.
      q.proc.stdin!.write("ping\n".repeat(40) + "exit 0\n");
      expect(await q.exited).toBe(0);
      const out = q.output().slice(from);
      expect(out.match(/^pong$/gm)?.length).toBe(43);
      expect(out).toContain("console: line too long, dropped\n");
      expect(out).not.toContain("unknown:");
    } finally {
      await q.stop();
    }
  });

  it("gives the store region NOR semantics and keeps it across a system reset", async () => {
    const q = startQemu(board, elf, { hangGuardMs: HANG_GUARD_MS });
    try {
      await q.waitFor("selftest: ready\n");
      let from = q.output().length;
      q.send("store");
      await q.waitFor("store: ok\n", { from });
      expect(q.output().slice(from)).toContain("store: first byte 255\n"); // erased at power-on
      from = q.output().length;
      q.send("reset"); // SYSRESETREQ: QEMU reloads the image, RAM outside it and the store stay
      await q.waitFor("selftest: ready\n", { from });
      from = q.output().length;
      q.send("store");
      await q.waitFor("store: ok\n", { from });
      expect(q.output().slice(from)).toContain("store: first byte 90\n"); // the mark left before the reset
      q.send("exit 0");
      expect(await q.exited).toBe(0);
    } finally {
      await q.stop();
    }
  });

  it.each([
    ["fault", QEMU_EXIT.memManage, "fault: MemManage"],
    ["overflow", QEMU_EXIT.stackOverflow, "fault: stack overflow"],
    ["malloc", QEMU_EXIT.malloc, "halt: malloc called"],
  ])("reports '%s' on the UART and exits with its own code", async (cmd, code, text) => {
    const { code: exit, output } = await runQemu(board, elf, { input: [cmd], hangGuardMs: HANG_GUARD_MS });
    expect(output).toContain(text);
    expect(exit).toBe(code);
  });

  it("ends QEMU with code 0 on reset when built with exitOnReset", async () => {
    const { elf: exiting } = await buildSelftest(board, "selftest-exit", { exitOnReset: true });
    const { code, output } = await runQemu(board, exiting, { input: ["reset"], hangGuardMs: HANG_GUARD_MS });
    expect(output).toContain("reset: console\n");
    expect(code).toBe(0);
  });

  it("fails the link when the image does not fit the RAM budget", async () => {
    const tooSmall: Board = { ...board, budget: { ...board.budget, ramBytes: 16 * 1024 } };
    await expect(buildSelftest(tooSmall, "selftest-small")).rejects.toThrow(/region `RAM' overflowed/);
  });
});

/** The engine and the board with test/c/qemu_test_app.js as the app image. Source, not
 * bytecode: with DUK_USE_FUNC_NAME_PROPERTY off, Duktape 2.7's duk_load_function leaves the
 * loaded function without a lexical environment (NULL dereference on the first call). */
async function buildTestApp(name = "meter-testapp", opts: { exitOnReset?: boolean } = {}) {
  const genDir = join(outDir, "gen-testapp");
  await writeConfig(board, genDir);
  writeAppImage(genDir, readFileSync(join(root, "test/c/qemu_test_app.js")), false);
  const ctx = { root, board, outDir, genDir, options: { quiet: true, rngSeed: 1n, elfName: `${name}.elf`, ...opts } };
  return { ctx, ...(await buildImage(ctx)) };
}

describe("qemu-mps2-an386 engine and board (test app)", () => {
  let elf = "";
  beforeAll(async () => {
    elf = (await buildTestApp()).elf;
  });

  it("boots to the JS event loop, answers on the UART, keeps the store and restarts on reboot", async () => {
    const q = startQemu(board, elf, { hangGuardMs: HANG_GUARD_MS });
    try {
      await q.waitFor(`*** Booting GEISA meter firmware on ${BOARD}`);
      await q.waitFor("test-app: ready\n");
      let from = q.output().length;
      q.send("version");
      expect((await q.waitFor(/^OK$/m, { from })).slice(from)).toContain("test-app 1");
      from = q.output().length;
      q.send("echo hello meter");
      expect((await q.waitFor(/^OK$/m, { from })).slice(from)).toContain("hello meter\n");
      from = q.output().length;
      q.send("store");
      expect((await q.waitFor(/^(OK|ERROR.*)$/m, { from })).slice(from)).toMatch(/^OK$/m);
      from = q.output().length;
      q.send("after 25");
      await q.waitFor("timer fired\n", { from });
      from = q.output().length;
      q.send("reboot");
      await q.waitFor("reset: console\n", { from });
      await q.waitFor("test-app: ready\n", { from });
    } finally {
      await q.stop();
    }
  });

  it("measures the instructions from reset to the idle event loop", async () => {
    const { ctx, size } = await buildTestApp();
    const { instructions, stackPeakBytes } = await measureBootInstructions(ctx);
    console.log(`qemu-mps2-an386 (test app, source): boot: ready after ${instructions} instructions, stack peak ${stackPeakBytes} bytes`);
    expect(instructions).toBeGreaterThan(0);
    expect(stackPeakBytes).toBeLessThan(size.stackBytes);
  });
});

describe("qemu-mps2-an386 firmware image (the real bundle)", () => {
  const elf = join(outDir, "meter.elf");
  // Built by the build step of `npm test` (build/build.ts --board qemu-mps2-an386).
  const built = existsSync(elf);
  if (!built) console.warn(`${elf} not built: run \`npm run build -- --board ${BOARD}\` first`);

  it("fits the budget and says so in size.json", () => {
    expect(built, `${elf} not built`).toBe(true);
    const size = JSON.parse(readFileSync(join(outDir, "size.json"), "utf8"));
    expect(size.flashBytes).toBe(size.text + size.data + size.storeBytes);
    expect(size.flashBytes).toBeLessThanOrEqual(board.budget.flashBytes!);
    expect(size.ramBytes).toBeLessThanOrEqual(board.budget.ramBytes!);
    expect(size.bss).toBeGreaterThan(board.js.heapBytes); // the JS heap pool is in .bss
  });

  it("boots to the JS event loop and answers 'version' on the UART", async () => {
    expect(built, `${elf} not built`).toBe(true);
    const q = startQemu(board, elf, { hangGuardMs: HANG_GUARD_MS });
    try {
      await q.waitFor(`*** Booting GEISA meter firmware on ${BOARD}`);
      // The console may not answer before the app is up: repeat until it does.
      const out = await answer(q, "version");
      expect(out).toMatch(/^OK$/m);
    } finally {
      await q.stop();
    }
  });
});

/** Sends `line` until the console ends an answer with OK or ERROR (lines sent before the
 * app installed its handler are read by nobody). Fails at once when the meter resets. */
async function answer(q: QemuSession, line: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const from = q.output().length;
    q.send(line);
    let out: string;
    try {
      out = (await q.waitFor(/^(OK|ERROR: .*|reset: .*)$/m, { from, timeoutMs: 10_000 })).slice(from);
    } catch (e) {
      if (attempt >= 5) throw e;
      continue;
    }
    if (/^reset: /m.test(out)) throw new Error(`the meter reset instead of answering '${line}':\n${q.output()}`);
    return out;
  }
}
