// Where the firmware's bytes go: `npx tsx build/size.ts` compiles and bundles the firmware
// exactly as the build does and prints the minified bytes per module.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadBoard } from "./boards.ts";
import { bundleBytes, bundleFirmware, compileFirmware } from "./firmware.ts";
import { OVERLAYS } from "./overlays.ts";
import { root } from "./gen-boundary.ts";
import { BUDGETS } from "./budgets.ts";

compileFirmware();
const out = join(root, "out/size");
const result = await bundleFirmware(loadBoard("host"), out, { metafile: true });
const total = bundleBytes(out);
const metas = ["meta.json", ...OVERLAYS.map((o) => `meta-ovl${o.index}.json`)];
metas.forEach((name, i) => {
  const meta = JSON.parse(readFileSync(join(out, name), "utf8"));
  const inputs = Object.entries((Object.values(meta.outputs)[0] as any).inputs as Record<string, { bytesInOutput: number }>)
    .map(([path, v]) => [path.replace(/^out\/firmware-js\//, ""), v.bytesInOutput] as [string, number])
    .filter(([, bytes]) => bytes > 0)
    .sort((a, b) => b[1] - a[1]);
  console.log(i === 0 ? `resident (${readFileSync(result).length} B):` : `overlay ${OVERLAYS[i - 1].module} (${readFileSync(join(out, `ovl${i - 1}.js`)).length} B):`);
  for (const [path, bytes] of inputs) console.log(`${String(bytes).padStart(7)}  ${path}`);
});
console.log(`${String(total).padStart(7)}  total minified bundle, resident + overlays (budget ${BUDGETS.bundleBytes})`);
