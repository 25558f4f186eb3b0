// Overlays: firmware modules the meter needs only now and then (the console, the smartcard
// reader) ship as separate images. The resident bundle holds a small stub instead; the first
// call loads the overlay into the JS heap (__hal.overlay_load), and when the call is done and
// the overlay does not ask to stay (its keep() returns true, e.g. half-way through PEM input)
// the stub drops it and the heap it used is collected. On a meter this moves the overlay's
// code out of the resident heap: the console alone is ~14 KB of heap.
//
// An overlay is one module of firmware/. It may import values from resident modules only
// (they reach it through an API object the stub hands over), never a `let` binding (a copy
// would not follow later assignments), and the resident code may call its exported functions.
// Both builds share esbuild's mangle cache, so renamed property names agree on both sides.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type * as esbuild from "esbuild";
import ts from "typescript";

export interface Overlay {
  /** Index of the image (HAL overlay_load argument). */
  index: number;
  /** Module path below firmware/, without extension. */
  module: string;
}

export const OVERLAYS: Overlay[] = [
  { index: 0, module: "app/console" },
  { index: 1, module: "lwm2m/smartcard" },
  { index: 2, module: "app/provisioning" },
];

interface ModuleShape {
  /** Resident module (absolute .js path) -> names imported from it. */
  imports: Map<string, string[]>;
  /** Functions the overlay exports. */
  exports: string[];
}

/** What the compiled overlay module imports and exports (tsc output, type imports gone). */
function shapeOf(jsPath: string, firmwareDir: string, jsOut: string): ModuleShape {
  const src = ts.createSourceFile(jsPath, readFileSync(jsPath, "utf8"), ts.ScriptTarget.ES5, true);
  const shape: ModuleShape = { imports: new Map(), exports: [] };
  for (const st of src.statements) {
    if (ts.isImportDeclaration(st)) {
      const spec = (st.moduleSpecifier as ts.StringLiteral).text;
      const target = resolve(dirname(jsPath), spec + ".js");
      const bindings = st.importClause?.namedBindings;
      if (!bindings || !ts.isNamedImports(bindings) || st.importClause?.name) {
        throw new Error(`overlay ${relative(jsOut, jsPath)}: only named imports are supported (${spec})`);
      }
      const names = bindings.elements.map((e) => (e.propertyName ?? e.name).text);
      const tsSource = readFileSync(join(firmwareDir, relative(jsOut, target).replace(/\.js$/, ".ts")), "utf8");
      for (const n of names) {
        if (new RegExp(`export\\s+let\\s+${n}\\b`).test(tsSource)) {
          throw new Error(`overlay ${relative(jsOut, jsPath)} imports '${n}', a let binding of ${spec}: export a function that reads it instead`);
        }
      }
      shape.imports.set(target, (shape.imports.get(target) ?? []).concat(names));
    } else if (ts.isFunctionDeclaration(st) && st.name && st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      shape.exports.push(st.name.text);
    }
  }
  return shape;
}

function apiNames(shape: ModuleShape, what: string): string[] {
  const all: string[] = [];
  for (const names of shape.imports.values()) {
    for (const n of names) {
      if (all.indexOf(n) >= 0) throw new Error(`${what}: '${n}' is imported from two modules`);
      all.push(n);
    }
  }
  return all;
}

/** Path of the loader every stub shares (a virtual module of the resident bundle). */
const RUNTIME = "overlay-runtime";

/**
 * The shared loader: loads the overlay of slot o when it is not loaded, calls one of its
 * exports through call (a thunk per export, below), then drops it unless it asks to stay. The
 * overlay's function runs in the thunk's frame: once that has returned, nothing on the stack
 * refers to the overlay any more, so the collection drops it at once (the minifier may inline
 * this function into its callers, never the thunks, which are used by name). A slot is
 * { i: image index, a: the imports array, x: the loaded exports or null }.
 */
const RUNTIME_SOURCE = `
export function run(o, call, a, b, c, d) {
  if (!o.x) { __ovl_api = o.a; __hal.overlay_load(o.i); o.x = __ovl_exports; __ovl_api = __ovl_exports = null; }
  var r = call(o.x, a, b, c, d);
  if (o.x && !(o.x.keep && o.x.keep())) { o.x = null; __hal.overlay_load(-1); }
  return r;
}
`;

/** The resident stand-in for an overlay: the same exported functions, loading on demand. */
function stubSource(o: Overlay, shape: ModuleShape): string {
  const lines: string[] = [`import { run } from ${JSON.stringify(RUNTIME)};`];
  const names = apiNames(shape, o.module);
  let k = 0;
  for (const [path, imported] of shape.imports) {
    lines.push(`import { ${imported.map((n) => `${n} as _${k++}`).join(", ")} } from ${JSON.stringify(path)};`);
  }
  // An array: the overlay reads each value at its index in apiNames (apiModuleSource).
  lines.push(`var slot = { i: ${o.index}, a: [${names.map((_, i) => `_${i}`).join(", ")}], x: null };`);
  for (const f of shape.exports) {
    lines.push(`function call_${f}(x, a, b, c, d) { return x.${f}(a, b, c, d); }`);
    lines.push(`export function ${f}(a, b, c, d) { return run(slot, call_${f}, a, b, c, d); }`);
  }
  return lines.join("\n") + "\n";
}

/** The overlay's entry: hands its exports to the stub. */
function entrySource(path: string, shape: ModuleShape): string {
  return [
    `import { ${shape.exports.join(", ")} } from ${JSON.stringify(path)};`,
    `__ovl_exports = { ${shape.exports.map((f) => `${f}: ${f}`).join(", ")} };`,
  ].join("\n") + "\n";
}

/** A resident module as the overlay sees it: values read from the API array at load, each at
 * its index among all the overlay's imports. */
function apiModuleSource(names: string[], all: string[]): string {
  return `var api = __ovl_api;\nexport var ${names.map((n) => `${n} = api[${all.indexOf(n)}]`).join(", ")};\n`;
}

export interface OverlayPlan {
  overlay: Overlay;
  jsPath: string;
  shape: ModuleShape;
}

export function planOverlays(firmwareDir: string, jsOut: string): OverlayPlan[] {
  return OVERLAYS.map((o) => {
    const jsPath = join(jsOut, o.module + ".js");
    return { overlay: o, jsPath, shape: shapeOf(jsPath, firmwareDir, jsOut) };
  });
}

/** esbuild plugin for the resident bundle: every overlay module is replaced by its stub. */
export function residentPlugin(plans: OverlayPlan[]): esbuild.Plugin {
  return {
    name: "overlay-stubs",
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${RUNTIME}$`) }, () => ({ path: RUNTIME, namespace: RUNTIME }));
      b.onLoad({ filter: /.*/, namespace: RUNTIME }, () => ({ contents: RUNTIME_SOURCE, loader: "js" }));
      b.onLoad({ filter: /\.js$/ }, (args) => {
        const plan = plans.find((p) => p.jsPath === args.path);
        return plan ? { contents: stubSource(plan.overlay, plan.shape), loader: "js", resolveDir: dirname(plan.jsPath) } : undefined;
      });
    },
  };
}

/** esbuild options for one overlay image (entry, plugin); the caller adds the common ones. */
export function overlayBuild(plan: OverlayPlan): { stdin: esbuild.StdinOptions; plugins: esbuild.Plugin[] } {
  const resident = plan.shape.imports;
  const all = apiNames(plan.shape, plan.overlay.module);
  return {
    stdin: { contents: entrySource(plan.jsPath, plan.shape), resolveDir: dirname(plan.jsPath), loader: "js" },
    plugins: [{
      name: "overlay-api",
      setup(b) {
        b.onLoad({ filter: /\.js$/ }, (args) => {
          const names = resident.get(args.path);
          return names ? { contents: apiModuleSource(names, all), loader: "js" } : undefined;
        });
      },
    }],
  };
}
