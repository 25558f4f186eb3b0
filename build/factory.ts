// Factory line: per-meter provisioning profiles and the server-side import from one CSV.
//
//   npx tsx build/factory.ts --csv meters.csv --out out/factory [--apply http://127.0.0.1:8080] [--force]
//
// Writes <out>/<endpoint>.json for each meter (apply with build/provision.ts) and
// <out>/leshan-security.json (the Leshan server demo's security store entries). With --apply,
// PUTs each entry to that Leshan demo's /api/security/clients/. Every row is checked first
// (errors name the CSV line); when any row is bad nothing is written. Output files hold
// secrets: they are created mode 0600. Column list: build/provision/factory.ts.
import { applyLeshan, LESHAN_IMPORT, outputExists, readDevices, writeOutputs } from "./provision/factory.ts";

const USAGE = "usage: factory --csv FILE --out DIR [--apply http://HOST:WEBPORT] [--force]";

export async function main(argv: string[]): Promise<number> {
  let csv = "";
  let out = "";
  let apply = "";
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    try {
      if (k === "--csv") csv = val();
      else if (k === "--out") out = val();
      else if (k === "--apply") apply = val();
      else if (k === "--force") force = true;
      else throw new Error(`unknown option ${k}`);
    } catch (e) {
      console.error(`factory: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
  }
  if (!csv || !out) {
    console.error(`factory: --csv and --out are required\n${USAGE}`);
    return 2;
  }
  if (apply && !/^https?:\/\/[^/]+\/?$/.test(apply)) {
    console.error(`factory: --apply wants the demo's base URL, e.g. http://127.0.0.1:8080 (got ${apply})`);
    return 2;
  }
  let devices;
  try {
    devices = readDevices(csv, out);
  } catch (e) {
    for (const l of (e as Error).message.split("\n")) console.error(`factory: ${csv}: ${l}`);
    console.error("factory: nothing written");
    return 1;
  }
  const clash = outputExists(out, devices);
  if (clash.length && !force) {
    console.error(`factory: ${out} already holds ${clash.join(", ")} (use --force to overwrite); nothing written`);
    return 1;
  }
  for (const d of devices) for (const w of d.warnings) console.error(`factory: warning: ${w}`);
  const files = writeOutputs(devices, out);
  const secure = devices.filter((d) => d.leshan).length;
  console.log(`factory: ${devices.length} profiles and ${LESHAN_IMPORT} (${secure} entries) written to ${out} (${files.length} files, mode 0600)`);
  if (apply) {
    const problems = await applyLeshan(apply, devices.flatMap((d) => (d.leshan ? [d.leshan] : [])));
    for (const p of problems) console.error(`factory: --apply: ${p}`);
    if (problems.length) {
      console.error(`factory: --apply: ${problems.length} of ${secure} entries refused`);
      return 1;
    }
    console.log(`factory: ${secure} security entries stored in ${apply}`);
  }
  return 0;
}

const isMain = process.argv[1] && /factory\.ts$/.test(process.argv[1]) && !/provision/.test(process.argv[1]);
if (isMain) main(process.argv.slice(2)).then((code) => process.exit(code));
