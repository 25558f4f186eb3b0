// The console protocol and process handling of test/rig/dut.ts, against a stand-in
// console (fixtures/fake-console.mjs) so rig bugs show up without the meter.
import { afterAll, describe, expect, it } from "vitest";
import type { Board } from "../../build/boards.ts";
import { HostDut, type RigDescription } from "./dut.ts";
import { stopAll } from "./processes.ts";

const rig: RigDescription = { name: "fake", board: "fake", console: { kind: "process" }, power: { kind: "process" } };
const board = {
  name: "fake",
  run: { kind: "process", command: ["node", "test/rig/fixtures/fake-console.mjs", "--flash", "{flash}", "--fuse", "{fuse}"] },
} as unknown as Board;

describe("rig: Dut console protocol (stand-in console)", () => {
  const dut = new HostDut(rig, board, { logName: "rig-dut-selftest", seed: 5 });
  afterAll(async () => {
    await dut.stop();
    await stopAll();
  });

  it("start() waits for the console; command output excludes log lines and the final OK", async () => {
    await dut.start();
    expect(await dut.command("version")).toEqual(["meter-fw 0.0.0 board=fake engine=none"]);
    expect(dut.logs().some((l) => l.includes("interleaved after output"))).toBe(true);
  });

  it("ERROR: <reason> rejects with the reason", async () => {
    await expect(dut.command("frobnicate")).rejects.toThrow("unknown command 'frobnicate'");
  });

  it("waitForLog sees lines that arrive later, and lines already received", async () => {
    const from = dut.mark();
    await dut.command("later");
    expect(await dut.waitForLog("app: later event", { since: from })).toMatch(/<inf> app: later event$/);
    expect(await dut.waitForLog(/flash empty/, { since: 0 })).toContain("flash empty");
  });

  it("reboot() and powerCycle() keep the flash file; the seed is passed", async () => {
    await dut.command("store abc");
    await dut.reboot();
    await dut.waitForLog("app: stored abc");
    const from = dut.mark();
    await dut.powerCycle();
    expect(await dut.waitForLog("app: stored abc", { since: from })).toBeTruthy();
    expect(dut.seed).toBe(5);
  });

  it("stop() ends the process with SIGTERM (orderly) and a command then fails", async () => {
    await dut.stop();
    expect(dut.logs().some((l) => l.includes("SIGTERM, leaving"))).toBe(true);
    await expect(dut.command("version")).rejects.toThrow(/not running/);
  });
});
