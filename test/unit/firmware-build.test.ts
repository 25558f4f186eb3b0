import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bundleBytes, findRegexLiterals, firmwareImages } from "../../build/firmware.ts";
import { OVERLAYS } from "../../build/overlays.ts";
import { root } from "../../build/gen-boundary.ts";
import { BUDGETS } from "../../build/budgets.ts";

// `npm test` builds every board before vitest runs; these check what the meter pays for.
describe("firmware build", () => {
  it("has no regex literal (RegExp is compiled out of the engine)", () => {
    expect(findRegexLiterals()).toEqual([]);
  });

  it(`minified bundle, resident part and overlays together, is at most ${BUDGETS.bundleBytes} bytes`, () => {
    const images = firmwareImages(join(root, "out/host"));
    expect(images.length).toBe(1 + OVERLAYS.length);
    for (const f of images) expect(existsSync(f)).toBe(true);
    expect(bundleBytes(join(root, "out/host"))).toBeLessThanOrEqual(BUDGETS.bundleBytes);
  });

  it("the resident bundle reaches each overlay only through its stub", () => {
    const resident = readFileSync(join(root, "out/host/app.js"), "utf8");
    // one shared loader, and one slot per overlay naming its image
    expect(resident.split("__hal.overlay_load(").length - 1).toBe(2);
    expect(resident).toContain("__hal.overlay_load(-1)");
    expect(OVERLAYS.map((o) => o.index)).toEqual(OVERLAYS.map((_, i) => i));
    // the console's text lives in its overlays, not in the resident bundle: the everyday
    // commands in one, provisioning in another (so `status` does not load it)
    expect(resident).not.toContain("unknown command");
    expect(readFileSync(join(root, "out/host/ovl0.js"), "utf8")).toContain("unknown command");
    expect(readFileSync(join(root, "out/host/ovl0.js"), "utf8")).not.toContain("clear credentials");
    expect(resident).not.toContain("clear credentials");
    expect(readFileSync(join(root, "out/host/ovl2.js"), "utf8")).toContain("clear credentials");
    // the smartcard reader too
    expect(resident).not.toContain("no PKCS#15 app");
    expect(readFileSync(join(root, "out/host/ovl1.js"), "utf8")).toContain("no PKCS#15 app");
  });

  it(`Cortex-M image fits ${BUDGETS.cortexFlashBytes} bytes of flash`, () => {
    const size = JSON.parse(readFileSync(join(root, "out/qemu-mps2-an386/size.json"), "utf8"));
    expect(size.text + size.data).toBeLessThanOrEqual(BUDGETS.cortexFlashBytes);
  });
});
