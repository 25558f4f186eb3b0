/// <reference path="../../firmware/hal/native.d.ts" />
// A smartcard for the simulated HAL: the host board's own UICC emulation (boards/host/host_card.c)
// behind test/c/test_card.c, asked APDU by APDU. The harness keeps no state, so every APDU
// replays the read it belongs to from power-up (a read starts with MANAGE CHANNEL open and
// needs nothing from earlier reads). The image file decides whether a card is in: delete it and
// the next APDU finds no card, as on the host board; the insert/remove events are the test's
// to post (sim.post(EV_CARD_CHANGED, 0, 1 | 0)), as the host board's polling would.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hal as codes } from "../../firmware/hal/codes";
import { SimHal } from "./hal";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const cardOutDir = join(root, "out/test-c");
const harness = join(cardOutDir, "test_card");

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").toUpperCase();

let built = false;

/** Builds the harness (once per test file). */
export function buildCardHarness(): void {
  if (built) return;
  mkdirSync(cardOutDir, { recursive: true });
  const r = spawnSync("gcc", [
    "-std=c99", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
    "-Ihal/include", "-Iboards/host", "boards/host/host_card.c", "test/c/test_card.c", "-o", harness,
  ], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gcc test_card failed:\n${r.stdout}${r.stderr}`);
  built = true;
}

export class SimCard {
  /** Every APDU sent, in hex, and every answer ("rc=N" when the HAL call failed). */
  apdus: string[] = [];
  answers: string[] = [];
  /** While set, the card takes APDUs and never answers. */
  mute = false;
  private read: string[] = [];
  private pending: Uint8Array | null = null;

  constructor(readonly sim: SimHal, public image: string) {
    sim.card_transmit = (apdu) => this.transmit(apdu);
    sim.card_receive = (out) => this.receive(out);
  }

  /** Number of reads begun (MANAGE CHANNEL open, the first APDU of each). */
  get reads(): number {
    return this.apdus.filter((a) => a === "0070000001").length;
  }

  private transmit(apdu: Uint8Array): number {
    const a = hex(apdu);
    this.apdus.push(a);
    if (a === "0070000001") this.read = [];
    this.read.push(a);
    const r = spawnSync(harness, ["apdu", this.image, ...this.read], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`test_card: ${r.stderr}`);
    const lines = r.stdout.split("\n").filter((l) => l && !l.startsWith("host:"));
    const answer = lines[lines.length - 1];
    this.answers.push(answer);
    if (answer.startsWith("rc=")) return Number(answer.slice(3));
    if (this.mute) return 0;
    this.pending = Uint8Array.from(Buffer.from(answer, "hex"));
    this.sim.post(codes.EV_CARD_RESPONSE, 0, this.pending.length);
    return 0;
  }

  private receive(out: Uint8Array): number {
    const p = this.pending;
    if (!p) return codes.EAGAIN;
    this.pending = null;
    out.set(p);
    return p.length;
  }
}
