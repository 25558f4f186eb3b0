// Where the firmware's bytes go: `npx tsx build/size.ts` compiles and bundles the firmware
// exactly as the build does and prints the minified bytes per module.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadBoard } from "./boards.ts";
import { bundleFirmware, compileFirmware } from "./firmware.ts";
import { root } from "./gen-boundary.ts";

compileFirmware();
const out = join(root, "out/size");
const result = await bundleFirmware(loadBoard("host"), out, { metafile: true });
const total = readFileSync(result).length;
const meta = JSON.parse(readFileSync(join(out, "meta.json"), "utf8"));
const inputs = Object.entries((Object.values(meta.outputs)[0] as any).inputs as Record<string, { bytesInOutput: number }>)
  .map(([path, v]) => [path.replace(/^out\/firmware-js\//, ""), v.bytesInOutput] as [string, number])
  .sort((a, b) => b[1] - a[1]);
for (const [path, bytes] of inputs) console.log(`${String(bytes).padStart(7)}  ${path}`);
console.log(`${String(total).padStart(7)}  total minified bundle (budget 49152)`);
