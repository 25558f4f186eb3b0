import { describe, expect, it } from "vitest";
import { decodeCbor, encodeCbor } from "../../../firmware/formats/cbor";
import { bin, hexOf, mutate, returnsOrThrowsPlainError, rng } from "./helpers";

// RFC 8949 Appendix A, the part of the subset we encode (integers, strings, arrays, maps,
// simple values; non-integral numbers always as float64)
const BOTH: [unknown, string][] = [
  [0, "00"],
  [1, "01"],
  [10, "0a"],
  [23, "17"],
  [24, "1818"],
  [25, "1819"],
  [100, "1864"],
  [1000, "1903e8"],
  [1000000, "1a000f4240"],
  [1000000000000, "1b000000e8d4a51000"],
  [Number.MAX_SAFE_INTEGER, "1b001fffffffffffff"],
  [-1, "20"],
  [-10, "29"],
  [-100, "3863"],
  [-1000, "3903e7"],
  [1.1, "fb3ff199999999999a"],
  [-4.1, "fbc010666666666666"],
  [1.0e300, "fb7e37e43c8800759c"],
  [false, "f4"],
  [true, "f5"],
  [null, "f6"],
  [new Uint8Array(0), "40"],
  [new Uint8Array([1, 2, 3, 4]), "4401020304"],
  ["", "60"],
  ["a", "6161"],
  ["IETF", "6449455446"],
  ['"\\', "62225c"],
  ["\u00fc", "62c3bc"],
  ["\u6c34", "63e6b0b4"],
  ["\ud800\udd51", "64f0908591"],
  [[], "80"],
  [[1, 2, 3], "83010203"],
  [[1, [2, 3], [4, 5]], "8301820203820405"],
  [Array.from({ length: 25 }, (_, i) => i + 1), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"],
  [{}, "a0"],
  [{ a: 1, b: [2, 3] }, "a26161016162820203"],
  [["a", { b: "c" }], "826161a161626163"],
];

// decode only: other float widths, indefinite lengths, integer keys
const DECODE: [unknown, string][] = [
  [0, "f90000"],
  [-0, "f98000"],
  [1, "f93c00"],
  [1.5, "f93e00"],
  [65504, "f97bff"],
  [5.960464477539063e-8, "f90001"],
  [0.00006103515625, "f90400"],
  [-4, "f9c400"],
  [Infinity, "f97c00"],
  [-Infinity, "f9fc00"],
  [100000, "fa47c35000"],
  [3.4028234663852886e38, "fa7f7fffff"],
  [1.1, "fb3ff199999999999a"],
  [[], "9fff"],
  [[1, [2, 3], [4, 5]], "9f018202039f0405ffff"],
  [[1, [2, 3], [4, 5]], "83018202039f0405ff"],
  [{ a: 1, b: [2, 3] }, "bf61610161629f0203ffff"],
  [{ "1": 2, "-2": "x" }, "a201022161 78".replace(" ", "")],
];

describe("CBOR", () => {
  for (const [v, h] of BOTH) {
    it(`${h}`, () => {
      expect(hexOf(encodeCbor(v))).toBe(h);
      expect(decodeCbor(bin(h))).toEqual(v);
    });
  }
  for (const [v, h] of DECODE) {
    it(`decodes ${h}`, () => {
      expect(decodeCbor(bin(h))).toEqual(v);
    });
  }
  it("decodes NaN", () => {
    expect(decodeCbor(bin("f97e00"))).toBeNaN();
    expect(decodeCbor(bin("fb7ff8000000000000"))).toBeNaN();
  });
  it("decoded byte strings do not alias the input", () => {
    const p = bin("420102");
    const v = decodeCbor(p) as Uint8Array;
    p[1] = 9;
    expect(hexOf(v)).toBe("0102");
  });

  const bad: [string, string, string | RegExp][] = [
    ["", "empty", "cbor: truncated"],
    ["18", "missing argument", "cbor: truncated"],
    ["1a0000", "short argument", "cbor: truncated"],
    ["1c", "reserved additional info 28", "cbor: bad additional info"],
    ["1f", "indefinite integer", "cbor: bad additional info"],
    ["5f4101ff", "indefinite byte string", "cbor: bad additional info"],
    ["7f6161ff", "indefinite text string", "cbor: bad additional info"],
    ["1bffffffffffffffff", "uint beyond 2^53", "integer exceeds 2^53"],
    ["3bffffffffffffffff", "negint beyond 2^53", "integer exceeds 2^53"],
    ["c11a514b67b0", "tag", "cbor: unsupported major type 6"],
    ["f7", "undefined", "cbor: unsupported simple value"],
    ["f820", "simple(32)", "cbor: unsupported simple value"],
    ["ff", "lone break", "cbor: unsupported simple value"],
    ["f93c", "short half float", "cbor: truncated"],
    ["fb3ff1", "short double", "cbor: truncated"],
    ["4401", "byte string past end", "cbor: truncated"],
    ["5affffffff00", "huge byte string", "cbor: truncated"],
    ["7b000000010000000000", "huge text string", "cbor: truncated"],
    ["7bffffffffffffff00", "text length beyond 2^53", "integer exceeds 2^53"],
    ["9affffffff00", "huge array", "cbor: length past end"],
    ["bb0000000100000000", "huge map", "cbor: length past end"],
    ["830102", "array count past end", "cbor: length past end"],
    ["82011a", "array item truncated", "cbor: truncated"],
    ["9f01", "unterminated indefinite array", "cbor: truncated"],
    ["bf0102 03ff".replace(" ", ""), "odd indefinite map", "cbor: unsupported simple value"],
    ["a10101" + "00", "trailing bytes", "cbor: trailing bytes"],
    ["a2010201 03", "duplicate key", "cbor: duplicate map key"],
    ["a18001", "array as key", "cbor: bad map key"],
    ["a1f501", "boolean as key", "cbor: bad map key"],
    ["a1695f5f70726f746f5f5f01", "__proto__ key", "cbor: duplicate map key"],
    ["62c328", "invalid UTF-8", /^utf8: /],
    ["81".repeat(9) + "00", "nesting depth 9", "cbor: nesting too deep"],
    ["81".repeat(100000) + "00", "very deep nesting", "cbor: nesting too deep"],
  ];
  for (const [h, why, msg] of bad) {
    it(`rejects ${why}`, () => {
      expect(() => decodeCbor(bin(h.replace(/ /g, "")))).toThrow(msg);
    });
  }
  it("accepts nesting depth 8", () => {
    expect(decodeCbor(bin("81".repeat(8) + "00"))).toEqual([[[[[[[[0]]]]]]]]);
  });

  it("never crashes or hangs on corrupted input", () => {
    const seeds = BOTH.concat(DECODE).map(([, h]) => bin(h)).filter((b) => b.length > 2);
    const rnd = rng(8949);
    for (let k = 0; k < 5000; k++) returnsOrThrowsPlainError(() => decodeCbor(mutate(seeds[k % seeds.length], rnd)));
  });
});
