// board.json: the one file that describes a board (see README "Adding a board").
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./gen-boundary.ts";

export interface Board {
  name: string;
  description: string;
  cpu: string;
  toolchain: "host-gcc" | "arm-none-eabi";
  budget: { flashBytes: number | null; ramBytes: number | null };
  js: { heapBytes: number; app: "bytecode" | "source" };
  hal: {
    link: { handles: number; mtu: number };
    dtls: { sessions: number; sessionBytes?: number };
    store: { sectorBytes: number; sectors: number };
    console: { lineBytes: number };
    events: { ring: number };
    card: { apduBytes: number };
  };
  run: { kind: "process" | "qemu"; command: string[] };
  test: { transport: string; console: string };
}

export function boardNames(): string[] {
  return readdirSync(join(root, "boards")).filter((n) => existsSync(join(root, "boards", n, "board.json")));
}

export function loadBoard(name: string): Board {
  const path = join(root, "boards", name, "board.json");
  if (!existsSync(path)) throw new Error(`unknown board '${name}' (boards: ${boardNames().join(", ")})`);
  const board = JSON.parse(readFileSync(path, "utf8")) as Board;
  if (board.name !== name) throw new Error(`${path}: name '${board.name}' does not match its folder`);
  if (board.js.heapBytes > 256 * 1024) throw new Error(`${path}: js.heapBytes above 256 KB breaks 16-bit heap pointers`);
  return board;
}
