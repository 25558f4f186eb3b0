// The patches to Duktape's source (DUKTAPE_PATCHES in build/cbuild.ts), checked inside the
// patched engine: test/c/test_duk_prototype.c (lazy default .prototype of compiled functions)
// built 32-bit like the meters, with 16-bit heap pointers (a 256 KB js_heap_pool, as on the
// meters) and without (-DENGINE_NO_HEAPPTR16, as dukdump and heaprun), plus a
// DUK_USE_ASSERTIONS build (Duktape's internal checks, refcounts included), each also under
// --torture (every other allocation fails: emergency GC, finalizers and object compaction at
// every allocation point). Binaries in out/test-c/duk-prototype/.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEBIAN_DUKTAPE, DUKTAPE_PATCHES, patchDuktape, prepareDuktape, run } from "../../build/cbuild.ts";

const root = join(import.meta.dirname, "../..");
const outDir = join(root, "out/test-c/duk-prototype");

const VARIANTS = {
  /** 16-bit heap pointers, as on the meters. */
  ptr16: { dir: "duktape", defines: [] as string[] },
  /** 32-bit pointers, as dukdump and heaprun. */
  ptr32: { dir: "duktape", defines: ["-DENGINE_NO_HEAPPTR16"] },
  /** The project's configuration plus DUK_USE_ASSERTIONS. */
  assert: { dir: "duktape-assert", defines: [] as string[] },
};
type Variant = keyof typeof VARIANTS;

const exes: Partial<Record<Variant, string>> = {};

/** out/test-c/duk-prototype/duktape-assert: the prepared Duktape with a duk_config.h that adds
 * DUK_USE_ASSERTIONS to the project's (duktape.h includes the duk_config.h beside it). */
function prepareAssertDir(dukDir: string): string {
  const dir = join(outDir, "duktape-assert");
  mkdirSync(dir, { recursive: true });
  for (const f of ["duktape.c", "duktape.h", "duk_config_debian.h", "duk_builtin_stubs.inc"]) copyFileSync(join(dukDir, f), join(dir, f));
  copyFileSync(join(dukDir, "duk_config.h"), join(dir, "duk_config_project.h"));
  writeFileSync(join(dir, "duk_config.h"), '#include "duk_config_project.h"\n#define DUK_USE_ASSERTIONS\n');
  return dir;
}

async function build(variant: Variant, dukDir: string): Promise<string> {
  const v = VARIANTS[variant];
  const inc = [`-I${dukDir}`, `-I${join(root, "hal/engine")}`];
  const common = ["-m32", "-std=c99", "-O1", "-g", ...v.defines];
  const obj = join(outDir, `duktape-${variant}.o`);
  const exe = join(outDir, `test_duk_prototype-${variant}`);
  await run("gcc", [...common, "-w", ...inc, "-c", join(dukDir, "duktape.c"), "-o", obj]);
  await run("gcc", [
    ...common, "-Wall", "-Wextra", "-Werror", ...inc,
    join(root, "test/c/test_duk_prototype.c"), join(root, "hal/engine/js_pool.c"), obj, "-lm", "-o", exe,
  ]);
  return exe;
}

describe("Duktape source patches", () => {
  it("every patch applies exactly once to Debian's duktape.c", () => {
    const source = readFileSync(join(DEBIAN_DUKTAPE, "duktape.c"), "utf8");
    const patched = patchDuktape(source);
    for (const p of DUKTAPE_PATCHES) expect(patched.includes(p.replace), p.why).toBe(true);
    expect(patched).not.toContain("\tif (add_auto_proto) {\n");
  });
});

describe("lazy default .prototype (test/c/test_duk_prototype.c)", () => {
  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    const { dir } = prepareDuktape(root);
    const assertDir = prepareAssertDir(dir);
    const built = await Promise.all([build("ptr16", dir), build("ptr32", dir), build("assert", assertDir)]);
    [exes.ptr16, exes.ptr32, exes.assert] = built;
  });

  const cases: [Variant, string[]][] = [
    ["ptr16", []],
    ["ptr16", ["--torture"]],
    ["ptr32", []],
    ["ptr32", ["--torture"]],
    ["assert", []],
    ["assert", ["--torture"]],
  ];
  for (const [variant, args] of cases) {
    it(`passes: ${variant} ${args.join(" ")}`.trim(), async () => {
      const out = await run(exes[variant]!, args); // rejects with the output on a non-zero exit
      expect(out).not.toMatch(/^FAIL/m);
      expect(out).toMatch(/^ok \d+ checks$/m);
      // A closure nobody constructs no longer carries a .prototype object.
      const m = out.match(/^closure: (\d+) bytes, default prototype created on use: (\d+) bytes$/m);
      expect(m).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThan(0);
    });
  }
});
