// The Cortex-M4 image boots under QEMU and its console answers. Nothing is skipped: if
// out/qemu-mps2-an386/meter.elf has not been built, this fails and says how to build it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDut, type Dut } from "../rig/dut.ts";
import { stopAll } from "../rig/processes.ts";

describe("QEMU board (rig qemu): boot and console", () => {
  let dut: Dut;

  beforeAll(async () => {
    dut = createDut("qemu", { logName: "qemu-meter" });
    await dut.start(); // waits until `version` is answered
  });

  afterAll(async () => {
    await dut?.stop();
    await stopAll();
  });

  it("boots and answers `version` with the firmware version and the board name", async () => {
    expect(dut.board).toBe("qemu-mps2-an386");
    const out = await dut.command("version");
    expect(out.length).toBeGreaterThan(0);
    expect(out.join("\n")).toContain("qemu-mps2-an386");
  });

  it("rejects an unknown command with ERROR", async () => {
    await expect(dut.command("no-such-command")).rejects.toThrow(/.+/);
  });
});
