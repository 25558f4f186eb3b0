// The record store (hal/store) in C: test/c/test_store.c over a RAM flash (three builds: the
// host geometry with AES-GCM credentials, the same without crypto, a small ring), then
// test/c/test_store_file.c over the host flash driver with real power cuts
// (--die-at-flash-op N makes the process exit 99 mid-write) swept over every flash operation.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = join(root, "out/test-c");
const HOST_GEOMETRY = ["-DBOARD_STORE_SECTOR_BYTES=4096", "-DBOARD_STORE_SECTORS=8"];
const CFLAGS = [
  "-std=c99", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
  "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
  "-Ihal/include", "-Ihal/store", "-Iboards/host",
];

function gcc(out: string, args: string[]): string {
  const exe = join(outDir, out);
  const r = spawnSync("gcc", [...CFLAGS, ...args, "-o", exe], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gcc ${out} failed:\n${r.stdout}${r.stderr}`);
  return exe;
}

interface RamBuild {
  name: string;
  defines: string[];
  crypto: boolean;
}

const RAM_BUILDS: RamBuild[] = [
  { name: "test_store", defines: HOST_GEOMETRY, crypto: true },
  { name: "test_store_clear", defines: [...HOST_GEOMETRY, "-DSTORE_CRYPTO=0"], crypto: false },
  {
    name: "test_store_small",
    defines: ["-DBOARD_STORE_SECTOR_BYTES=1024", "-DBOARD_STORE_SECTORS=4", "-DSTORE_MAX_DATA=512",
      "-DSTORE_MAX_RECORDS=16", "-DSTORE_TXN_MAX=8"],
    crypto: true,
  },
];

function buildRam(b: RamBuild): string {
  const crypto = b.crypto ? ["hal/store/store_crypto.c"] : ["hal/store/store_crypto_none.c"];
  return gcc(b.name, [...b.defines, "hal/store/store.c", "hal/store/sha256.c", ...crypto, "test/c/test_store.c", ...(b.crypto ? ["-lmbedcrypto"] : [])]);
}

describe("store engine over a RAM flash", () => {
  for (const b of RAM_BUILDS) {
    it(`${b.name}: every check passes`, () => {
      mkdirSync(outDir, { recursive: true });
      const exe = buildRam(b);
      const r = spawnSync(exe, [], { encoding: "utf8" });
      const lines = r.stdout.split("\n").filter((l) => l.length > 0);
      for (const l of lines) if (/^(ok|FAIL|store tests)/.test(l)) console.log(`[${b.name}] ${l}`);
      const failed = lines.filter((l) => l.startsWith("FAIL") || l.includes("check failed"));
      expect(failed, r.stdout + r.stderr).toEqual([]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(lines.at(-1)).toMatch(/store tests: \d+ checks, 0 failed/);
    });
  }
});

describe("store on the host flash driver, with power cuts", () => {
  let exe = "";
  const dir = join(outDir, "store-file");
  const flash = join(dir, "flash.bin");
  const fuse = join(dir, "fuse.bin");

  const run = (phase: string, dieAt?: number) => {
    const args = ["--flash", flash, "--fuse", fuse, ...(dieAt ? ["--die-at-flash-op", String(dieAt)] : []), phase];
    const r = spawnSync(exe, args, { encoding: "utf8" });
    return { status: r.status, out: r.stdout + r.stderr, ops: Number(/ops (\d+)/.exec(r.stdout)?.[1] ?? -1) };
  };

  beforeAll(() => {
    mkdirSync(outDir, { recursive: true });
    exe = gcc("test_store_file", [...HOST_GEOMETRY, "hal/store/store.c", "hal/store/sha256.c", "hal/store/store_crypto.c",
      "boards/host/flash_file.c", "test/c/test_store_file.c", "-lmbedcrypto"]);
  });

  /** Fresh image with the old configuration, then fill=N; returns a copy to restore from. */
  function prepare(fill: number): string {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    expect(run("setup").status).toBe(0);
    if (fill > 0) expect(run(`fill=${fill}`).status).toBe(0);
    const template = join(dir, "template.bin");
    copyFileSync(flash, template);
    return template;
  }

  it("creates a blank image and a fuse file, and keeps credentials encrypted", () => {
    prepare(0);
    expect(readFileSync(flash).length).toBe(32768);
    const key = readFileSync(fuse);
    expect(key.length).toBe(32);
    const check = run("check");
    expect(check.out).toContain("state old");
    expect(check.out).not.toContain(key.toString("hex"));
    expect(readFileSync(flash).includes(Buffer.from("PSK-SECRET-OLD"))).toBe(false);
    expect(readFileSync(flash).includes(Buffer.from("coaps://bootstrap.example"))).toBe(true);
  });

  it("lands on the old or the new configuration after a cut at any flash operation", () => {
    const base = (() => {
      const t = prepare(0);
      copyFileSync(t, flash);
      return run("update").ops;
    })();
    // A fill level where the update has to compact a sector as well.
    let compactingFill = -1;
    for (let fill = 60; fill < 100 && compactingFill < 0; fill++) {
      prepare(fill);
      if (run("update").ops > base) compactingFill = fill;
    }
    expect(compactingFill).toBeGreaterThan(0);
    for (const fill of [0, compactingFill]) {
      const template = prepare(fill);
      copyFileSync(template, flash);
      const total = run("update").ops;
      const states = { old: 0, new: 0 };
      for (let n = 1; n <= total + 1; n++) {
        copyFileSync(template, flash);
        const u = run("update", n);
        expect(u.status, u.out).toBe(n <= total ? 99 : 0);
        const c = run("check");
        expect(c.status, `cut at op ${n}:\n${c.out}`).toBe(0);
        const state = /state (\w+)/.exec(c.out)![1] as "old" | "new";
        if (n > total) expect(state).toBe("new");
        states[state]++;
      }
      console.log(`[store-file] fill ${fill}: update = ${total} flash ops, cut at each: ${states.old} old, ${states.new} new`);
      expect(states.old).toBeGreaterThan(0);
    }
  });

  /** Ciphertexts of every intact record of a credential id in the image (record layout:
   * hal/store/README.md). */
  function credentialCiphertexts(image: Buffer, id: number): Buffer[] {
    const found: Buffer[] = [];
    for (let i = 0; i + 20 <= image.length; i += 4) {
      if (image.readUInt16LE(i) !== 0xa55a || image.readUInt16LE(i + 2) !== id || image[i + 6] !== 0x44) continue;
      if ((image[i + 7] & 0x80) === 0) continue; // zeroized
      found.push(Buffer.from(image.subarray(i + 20 + 12, i + 20 + 12 + 16)));
    }
    return found;
  }

  it("wipes the credentials for good on a factory reset", () => {
    const template = prepare(0);
    copyFileSync(template, flash);
    expect(run("update").status).toBe(0);
    const before = credentialCiphertexts(readFileSync(flash), 0x8001);
    expect(before.length).toBe(2); // the old and the new PSK
    const w = run("wipe");
    expect(w.status, w.out).toBe(0);
    const image = readFileSync(flash);
    for (const c of before) expect(image.includes(c)).toBe(false);
    expect(image.includes(Buffer.from("PSK-SECRET"))).toBe(false);
    const check = run("check");
    expect(check.out).toContain("followup ok");
    expect(check.out).not.toContain("store:"); // zeroized records are skipped quietly
    expect(existsSync(fuse)).toBe(true);
  });
});
