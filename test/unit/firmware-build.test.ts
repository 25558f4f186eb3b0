import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findRegexLiterals } from "../../build/firmware.ts";
import { root } from "../../build/gen-boundary.ts";
import { BUDGETS } from "../../build/budgets.ts";

// `npm test` builds every board before vitest runs; these check what the meter pays for.
describe("firmware build", () => {
  it("has no regex literal (RegExp is compiled out of the engine)", () => {
    expect(findRegexLiterals()).toEqual([]);
  });

  it(`minified bundle is at most ${BUDGETS.bundleBytes} bytes`, () => {
    const bundle = join(root, "out/host/app.js");
    expect(existsSync(bundle)).toBe(true);
    expect(readFileSync(bundle).length).toBeLessThanOrEqual(BUDGETS.bundleBytes);
  });

  it(`Cortex-M image fits ${BUDGETS.cortexFlashBytes} bytes of flash`, () => {
    const size = JSON.parse(readFileSync(join(root, "out/qemu-mps2-an386/size.json"), "utf8"));
    expect(size.text + size.data).toBeLessThanOrEqual(BUDGETS.cortexFlashBytes);
  });
});
