import { describe, expect, it } from "vitest";
import { parsePath, pathStartsWith, pathToString } from "../../../firmware/formats/model";
import { parseObjLink, objLinkToString, parseDecimal } from "../../../firmware/formats/values";

describe("paths", () => {
  it("formats and parses", () => {
    expect(pathToString([3, 0, 1])).toBe("/3/0/1");
    expect(pathToString([])).toBe("/");
    expect(parsePath("/3/0/1")).toEqual([3, 0, 1]);
    expect(parsePath("/")).toEqual([]);
    expect(parsePath("/65535/0/1/2")).toEqual([65535, 0, 1, 2]);
  });
  const bad: [string, RegExp][] = [
    ["", /must start with/],
    ["3/0", /must start with/],
    ["/3/x", /non-numeric/],
    ["/3/-1", /non-numeric/],
    ["/3/0/", /bad segment/],
    ["//3", /bad segment/],
    ["/65536", /above 65535/],
    ["/99999999999999999999", /bad segment/],
    ["/1/2/3/4/5", /too many levels/],
    ["/1 ", /non-numeric/],
  ];
  for (const [s, msg] of bad) {
    it(`rejects ${JSON.stringify(s)}`, () => {
      expect(() => parsePath(s)).toThrow(msg);
    });
  }
  it("prefix test", () => {
    expect(pathStartsWith([3, 0, 1], [3, 0])).toBe(true);
    expect(pathStartsWith([3, 0, 1], [])).toBe(true);
    expect(pathStartsWith([3], [3, 0])).toBe(false);
    expect(pathStartsWith([3, 1], [3, 0])).toBe(false);
  });
});

describe("value helpers", () => {
  it("object links", () => {
    expect(parseObjLink("66:0")).toEqual({ objectId: 66, instanceId: 0 });
    expect(objLinkToString({ objectId: 65535, instanceId: 65535 })).toBe("65535:65535");
    for (const s of ["66", "66:", ":0", "66:0:1", "a:b", "65536:0", "-1:0"]) expect(() => parseObjLink(s)).toThrow();
  });
  it("strict decimals", () => {
    expect(parseDecimal("-42")).toBe(-42);
    expect(parseDecimal("9007199254740991")).toBe(Number.MAX_SAFE_INTEGER);
    for (const s of ["", "-", "+1", "1.0", " 1", "0x10", "9007199254740992", "12345678901234567"])
      expect(() => parseDecimal(s)).toThrow("bad integer");
  });
});
