// Shared fixtures: the Device object example of the LwM2M 1.1 Core specification and a few
// type tables, plus a seeded generator for the robustness tests.
import { expect } from "vitest";
import {
  Entry, TypeLookup, T_NONE, T_STRING, T_INTEGER, T_UNSIGNED, T_FLOAT, T_BOOLEAN, T_OPAQUE, T_TIME, T_OBJLNK, T_CORELNK,
} from "../../../firmware/formats/model";

const TYPES: Record<number, Record<number, number>> = {
  // Access Control: object id, instance id, ACL (multiple), owner
  2: { 0: T_INTEGER, 1: T_INTEGER, 2: T_INTEGER, 3: T_INTEGER },
  // Server: short server id, lifetime, notification storing, binding
  1: { 0: T_INTEGER, 1: T_INTEGER, 6: T_BOOLEAN, 7: T_STRING },
  // Device
  3: {
    0: T_STRING, 1: T_STRING, 2: T_STRING, 3: T_STRING, 6: T_INTEGER, 7: T_INTEGER, 8: T_INTEGER, 9: T_INTEGER,
    10: T_INTEGER, 11: T_INTEGER, 13: T_TIME, 14: T_STRING, 16: T_STRING,
  },
  // a test object with one resource of each type
  9999: {
    1: T_STRING, 2: T_INTEGER, 3: T_UNSIGNED, 4: T_FLOAT, 5: T_BOOLEAN, 6: T_OPAQUE, 7: T_TIME, 8: T_OBJLNK, 9: T_CORELNK,
  },
};

export const types: TypeLookup = (o, r) => (TYPES[o] && TYPES[o][r]) || T_NONE;
export const noTypes: TypeLookup = () => T_NONE;

export function deviceEntries(): Entry[] {
  const e = (path: number[], value: Entry["value"]): Entry => ({ path, value });
  return [
    e([3, 0, 0], "Open Mobile Alliance"),
    e([3, 0, 1], "Lightweight M2M Client"),
    e([3, 0, 2], "345000123"),
    e([3, 0, 3], "1.0"),
    e([3, 0, 6, 0], 1),
    e([3, 0, 6, 1], 5),
    e([3, 0, 7, 0], 3800),
    e([3, 0, 7, 1], 5000),
    e([3, 0, 8, 0], 125),
    e([3, 0, 8, 1], 900),
    e([3, 0, 9], 100),
    e([3, 0, 10], 15),
    e([3, 0, 11, 0], 0),
    e([3, 0, 13], 1367491215),
    e([3, 0, 14], "+02:00"),
    e([3, 0, 16], "U"),
  ];
}

export function hexOf(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function bin(hex: string): Uint8Array {
  const h = hex.replace(/\s+/g, "");
  return new Uint8Array(h.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);
}

export function ascii(s: string): string {
  return Array.from(Buffer.from(s, "utf8"), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Mulberry32: small seeded generator so a failing fuzz case can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random corruptions of a valid payload: flipped, inserted, deleted bytes and truncation. */
export function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  const b = Array.from(src);
  const edits = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(rnd() * (b.length + 1));
    const op = rnd();
    if (op < 0.4 && b.length) b[at % b.length] = Math.floor(rnd() * 256);
    else if (op < 0.6) b.splice(at, 0, Math.floor(rnd() * 256));
    else if (op < 0.8 && b.length) b.splice(at % b.length, 1);
    else b.length = Math.floor(rnd() * b.length);
  }
  return new Uint8Array(b);
}

/** Runs f; it must return normally or throw a plain Error (not a TypeError from a bug). */
export function returnsOrThrowsPlainError(f: () => unknown): "ok" | "error" {
  try {
    f();
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).constructor).toBe(Error);
    expect((e as Error).message.length).toBeGreaterThan(0);
    return "error";
  }
}
