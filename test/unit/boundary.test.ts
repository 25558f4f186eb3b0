import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkBoundary, cPrototype, loadBoundary, root } from "../../build/gen-boundary.ts";

describe("JS/C boundary", () => {
  const boundary = loadBoundary();

  it("generated headers, binding table and typings match hal/boundary.json", () => {
    expect(checkBoundary()).toEqual([]);
  });

  it("every capability header declares exactly its functions", () => {
    for (const [name, cap] of Object.entries(boundary.capabilities)) {
      const header = readFileSync(join(root, `hal/include/hal_${name}.h`), "utf8");
      for (const f of cap.functions) expect(header).toContain(cPrototype(f));
      const declared = header.match(/\bhal_\w+\(/g) ?? [];
      expect(declared.length).toBe(cap.functions.length);
    }
  });

  it("stays small: about 25 functions, all named hal_<capability>_<verb>", () => {
    const all = Object.entries(boundary.capabilities).flatMap(([cap, c]) => c.functions.map((f) => [cap, f.name]));
    expect(all.length).toBeLessThanOrEqual(28);
    for (const [cap, name] of all) expect(name.startsWith(`hal_${cap}_`)).toBe(true);
  });

  it("error codes are negative and distinct, event kinds distinct", () => {
    const errors = Object.entries(boundary.errors).filter(([k]) => k !== "HAL_OK").map(([, v]) => v);
    expect(errors.every((v) => v < 0)).toBe(true);
    expect(new Set(errors).size).toBe(errors.length);
    const events = Object.values(boundary.events);
    expect(new Set(events).size).toBe(events.length);
  });
});
