// The firmware half of the build: type-check and compile firmware/ to ES5 with tsc against
// the engine's own lib, refuse constructs the engine lacks, bundle and minify with esbuild,
// and turn the bundle into the C image a board links (source text or Duktape bytecode).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import * as esbuild from "esbuild";
import ts from "typescript";
import uglify from "uglify-js";
import { root } from "./gen-boundary.ts";
import type { Board } from "./boards.ts";
import { OVERLAYS, planOverlays, residentPlugin, overlayBuild } from "./overlays.ts";

const FIRMWARE = join(root, "firmware");
const JS_OUT = join(root, "out/firmware-js");

function firmwareSources(dir = FIRMWARE): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) files.push(...firmwareSources(full));
    else if (name.endsWith(".ts")) files.push(full);
  }
  return files;
}

/** The engine is built without RegExp: one regex literal makes the whole script fail to load. */
export function findRegexLiterals(): string[] {
  const hits: string[] = [];
  for (const file of firmwareSources()) {
    if (file.endsWith(".d.ts")) continue;
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES5, true);
    const visit = (node: ts.Node): void => {
      if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        hits.push(`${relative(root, file)}:${line + 1}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return hits;
}

export function compileFirmware(): void {
  const regexes = findRegexLiterals();
  if (regexes.length) throw new Error(`regex literals are not available on the engine: ${regexes.join(", ")}`);
  const tsc = join(root, "node_modules/.bin/tsc");
  try {
    execFileSync(tsc, ["-p", join(FIRMWARE, "tsconfig.json")], { stdio: "pipe" });
  } catch (e: any) {
    throw new Error(`firmware does not type-check against the engine lib:\n${e.stdout}${e.stderr}`);
  }
}

function boardModule(board: Board): string {
  const info = {
    name: board.name,
    heapBytes: board.js.heapBytes,
    linkMtu: board.hal.link.mtu,
    linkHandles: board.hal.link.handles,
    consoleLineBytes: board.hal.console.lineBytes,
  };
  // Identifier keys, not JSON's quoted ones: the minifier renames the firmware's property
  // accesses (BOARD.linkMtu) and must rename these keys with them.
  const fields = Object.entries(info).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return `export var BOARD = { ${fields.join(", ")} };\n`;
}

// Property names the minifier must keep: everything the engine and the HAL declare (their
// objects are not ours to rename) and the SenML labels, which are data on the wire.
const WIRE_NAMES = ["bver", "bn", "bt", "bu", "bv", "bs", "n", "u", "v", "vs", "vb", "vd", "s", "t", "ut", "vlo"];

function reservedProperties(): RegExp {
  const names = new Set<string>(WIRE_NAMES.concat(["prototype", "constructor", "__proto__"]));
  for (const lib of ["firmware/types/engine-es5.d.ts", "firmware/hal/native.d.ts"]) {
    const scanner = ts.createScanner(ts.ScriptTarget.ES5, true, ts.LanguageVariant.Standard, readFileSync(join(root, lib), "utf8"));
    for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
      const word = k === ts.SyntaxKind.Identifier || (k >= ts.SyntaxKind.FirstKeyword && k <= ts.SyntaxKind.LastKeyword);
      if (word) names.add(scanner.getTokenText());
    }
  }
  return new RegExp(`^(${[...names].join("|")})$`);
}

/** The images of a bundled firmware in out/<board>: the resident app.js, then one
 * ovl<i>.js per overlay (build/overlays.ts), in overlay index order. */
export function firmwareImages(outDir: string): string[] {
  return [join(outDir, "app.js"), ...OVERLAYS.map((o) => join(outDir, `ovl${o.index}.js`))];
}

/** Minified bytes of every image: what the meter's flash holds of the firmware. */
export function bundleBytes(outDir: string): number {
  return firmwareImages(outDir).reduce((n, f) => n + statSync(f).size, 0);
}

/** Bundles the ES5 output into the resident script and its overlays, minified, with the
 * board's own info module. Returns the resident script's path. */
export async function bundleFirmware(board: Board, outDir: string, opts: { metafile?: boolean } = {}): Promise<string> {
  const boardJs = join(JS_OUT, "board.js");
  const plans = planOverlays(FIRMWARE, JS_OUT);
  const common: esbuild.BuildOptions = {
    bundle: true,
    format: "iife",
    target: "es5",
    minify: true,
    write: false,
    metafile: !!opts.metafile,
    legalComments: "none",
    // The firmware's own property names are shortened: they are most of the bytes the meter
    // keeps resident. The type checker already proved every other name is the engine's.
    mangleProps: /./,
    reserveProps: reservedProperties(),
  };
  const boardInfo: esbuild.Plugin = {
    name: "board-info",
    setup(b) {
      b.onLoad({ filter: /[\\/]board\.js$/ }, (args) =>
        args.path === boardJs ? { contents: boardModule(board), loader: "js" } : undefined);
    },
  };
  const resident = await esbuild.build({
    ...common,
    entryPoints: [join(JS_OUT, "main.js")],
    mangleCache: {},
    plugins: [residentPlugin(plans), boardInfo],
  });
  mkdirSync(outDir, { recursive: true });
  const [path, ...overlayPaths] = firmwareImages(outDir);
  writeFileSync(path, script(resident));
  if (opts.metafile) writeFileSync(join(outDir, "meta.json"), JSON.stringify(resident.metafile));
  for (let i = 0; i < plans.length; i++) {
    const o = overlayBuild(plans[i]);
    const r = await esbuild.build({ ...common, stdin: o.stdin, mangleCache: resident.mangleCache, plugins: [...o.plugins, boardInfo] });
    writeFileSync(overlayPaths[i], script(r));
    if (opts.metafile) writeFileSync(join(outDir, `meta-ovl${i}.json`), JSON.stringify(r.metafile));
  }
  return path;
}

// Strict mode gives every closure two extra "thrower" properties (caller, arguments) in
// the engine's heap; the type checker already holds the code to what strict mode would.
// esbuild bundles and renames properties; UglifyJS, an ES5 minifier, then compresses the
// result further (measured: 4 % fewer bytes, 3.5 % less bytecode). Only its safe transforms;
// module: false, which would otherwise turn functions into ES2015 arrows; reduce_funcs: false,
// which would otherwise inline single-use functions as function expressions, a closure made
// at every call (measured: JS heap peak 5.5 KB higher).
function script(r: esbuild.BuildResult): string {
  const out = uglify.minify(r.outputFiles![0].text.replace(/^"use strict";/, ""), {
    module: false,
    compress: { passes: 2, module: false, directives: false, reduce_funcs: false },
    mangle: true,
    output: { ascii_only: true },
  });
  if (out.error) throw new Error(`uglify-js: ${out.error.message}`);
  return out.code;
}

function cBytes(image: Buffer, terminate: boolean): string[] {
  const bytes: string[] = [];
  for (let i = 0; i < image.length; i += 16) {
    bytes.push("    " + Array.from(image.subarray(i, i + 16), (b) => `0x${b.toString(16).padStart(2, "0")},`).join(""));
  }
  // A source image is NUL-terminated so the engine can compile it in place.
  if (terminate) bytes.push("    0x00,");
  return bytes;
}

/** Writes gen/app_image.c: the resident bundle and its overlays, as text or as Duktape
 * bytecode dumps. */
export function writeAppImage(genDir: string, image: Buffer, isBytecode: boolean, overlays: Buffer[] = []): void {
  mkdirSync(genDir, { recursive: true });
  const text = [
    "/* Generated by build/build.ts: the firmware bundle the engine loads at boot, and its overlays. */",
    "const unsigned char app_image[] __attribute__((aligned(4))) = {",
    ...cBytes(image, !isBytecode),
    "};",
    `const unsigned int app_image_len = ${image.length}u;`,
    `const int app_image_is_bytecode = ${isBytecode ? 1 : 0};`,
  ];
  overlays.forEach((o, i) => text.push(`static const unsigned char overlay_${i}[] __attribute__((aligned(4))) = {`, ...cBytes(o, !isBytecode), "};"));
  text.push(
    `const unsigned char *const app_overlays[] = { ${overlays.map((_, i) => `overlay_${i}, `).join("")}0 };`,
    `const unsigned int app_overlay_lens[] = { ${overlays.map((o) => `${o.length}u, `).join("")}0 };`,
    `const int app_overlay_count = ${overlays.length};`,
    "",
  );
  writeFileSync(join(genDir, "app_image.c"), text.join("\n"));
}
