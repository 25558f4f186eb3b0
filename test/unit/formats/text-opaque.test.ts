import { describe, expect, it } from "vitest";
import { decodeText, encodeText } from "../../../firmware/formats/text";
import { decodeOpaque, encodeOpaque } from "../../../firmware/formats/opaque";
import { Entry } from "../../../firmware/formats/model";
import { utf8Decode, utf8Encode } from "../../../firmware/lib/bytes";
import { bin, hexOf, noTypes, types } from "./helpers";

const e = (path: number[], value: Entry["value"]): Entry => ({ path, value });
const text = (r: number, v: Entry["value"], t = types) => utf8Decode(encodeText([9999, 0, r], [e([9999, 0, r], v)], t));
const parse = (r: number, s: string, t = types) => decodeText([9999, 0, r], utf8Encode(s), t)[0].value;

describe("plain text", () => {
  it("encodes each type", () => {
    expect(text(1, "Open Mobile Alliance é")).toBe("Open Mobile Alliance é");
    expect(text(2, -42)).toBe("-42");
    expect(text(2, Number.MAX_SAFE_INTEGER)).toBe("9007199254740991");
    expect(text(3, 4294967296)).toBe("4294967296");
    expect(text(4, 3.5)).toBe("3.5");
    expect(text(4, 2)).toBe("2");
    expect(text(5, true)).toBe("1");
    expect(text(5, false)).toBe("0");
    expect(text(7, 1367491215)).toBe("1367491215");
    expect(text(8, { objectId: 3, instanceId: 0 })).toBe("3:0");
    expect(text(9, "</3/0>")).toBe("</3/0>");
  });

  it("decodes each type", () => {
    expect(parse(1, "héllo")).toBe("héllo");
    expect(parse(1, "")).toBe("");
    expect(parse(2, "-42")).toBe(-42);
    expect(parse(2, "9007199254740991")).toBe(Number.MAX_SAFE_INTEGER);
    expect(parse(3, "4294967296")).toBe(4294967296);
    expect(parse(4, "3.5")).toBe(3.5);
    expect(parse(4, "-1.5e-3")).toBe(-0.0015);
    expect(parse(4, "7")).toBe(7);
    expect(parse(4, "1E+2")).toBe(100);
    expect(parse(5, "1")).toBe(true);
    expect(parse(5, "0")).toBe(false);
    expect(parse(7, "1367491215")).toBe(1367491215);
    expect(parse(8, "66:65535")).toEqual({ objectId: 66, instanceId: 65535 });
    expect(parse(9, "</3/0>")).toBe("</3/0>");
  });

  it("keeps the text of resources of unknown type", () => {
    expect(decodeText([5000, 0, 1], utf8Encode("12"), noTypes)).toEqual([e([5000, 0, 1], "12")]);
  });

  it("resource instance paths", () => {
    expect(utf8Decode(encodeText([3, 0, 6, 1], [e([3, 0, 6, 1], 5)], types))).toBe("5");
    expect(decodeText([3, 0, 6, 1], utf8Encode("5"), types)).toEqual([e([3, 0, 6, 1], 5)]);
  });

  const bad: [number, string, string | RegExp][] = [
    [2, "", "text: bad integer"],
    [2, "1.5", "text: bad integer"],
    [2, " 1", "text: bad integer"],
    [2, "+1", "text: bad integer"],
    [2, "0x10", "text: bad integer"],
    [2, "9007199254740992", "text: bad integer"],
    [3, "-1", "text: negative unsigned"],
    [4, "", "text: bad number"],
    [4, "1.", "text: bad number"],
    [4, ".5", "text: bad number"],
    [4, "1e", "text: bad number"],
    [4, "NaN", "text: bad number"],
    [4, "Infinity", "text: bad number"],
    [4, "1,5", "text: bad number"],
    [5, "true", "text: bad boolean"],
    [5, "2", "text: bad boolean"],
    [6, "AAEC", "text: opaque has no text form"],
    [8, "3", "text: bad integer"],
    [8, "3:70000", "text: bad object link"],
  ];
  for (const [r, s, msg] of bad) {
    it(`rejects ${JSON.stringify(s)} for /9999/0/${r}`, () => {
      expect(() => parse(r, s)).toThrow(msg);
    });
  }

  it("rejects invalid UTF-8", () => {
    expect(() => decodeText([9999, 0, 1], bin("c328"), types)).toThrow(/^utf8: /);
  });

  it("refuses what has no single-value text form", () => {
    expect(() => text(6, bin("00"))).toThrow("text: opaque has no text form");
    expect(() => encodeText([3, 0], [e([3, 0, 1], "x")], types)).toThrow("text: needs a resource path");
    expect(() => decodeText([3, 0], utf8Encode("x"), types)).toThrow("text: needs a resource path");
    expect(() => encodeText([3, 0, 6], [e([3, 0, 6, 0], 1), e([3, 0, 6, 1], 5)], types)).toThrow(
      "text: needs exactly one value at /3/0/6",
    );
    expect(() => encodeText([3, 0, 6], [e([3, 0, 6, 0], 1)], types)).toThrow("text: needs exactly one value");
    expect(() => encodeText([3, 0, 1], [], types)).toThrow("text: needs exactly one value");
    expect(() => encodeText([3, 0, 1], [e([3, 0, 1], null)], types)).toThrow("text: needs exactly one value");
    expect(() => encodeText([3, 0, 1], [e([3, 0, 2], "x")], types)).toThrow("text: needs exactly one value");
    expect(() => text(2, "12")).toThrow(/does not fit/);
  });
});

describe("opaque", () => {
  it("passes bytes through", () => {
    const v = bin("00ff10");
    expect(hexOf(encodeOpaque([9999, 0, 6], [e([9999, 0, 6], v)], types))).toBe("00ff10");
    expect(decodeOpaque([9999, 0, 6], v, types)).toEqual([e([9999, 0, 6], v)]);
    expect(decodeOpaque([9999, 0, 6], new Uint8Array(0), types)).toEqual([e([9999, 0, 6], new Uint8Array(0))]);
    expect(decodeOpaque([5000, 0, 1], v, noTypes)).toEqual([e([5000, 0, 1], v)]);
  });
  it("copies the payload", () => {
    const p = bin("0102");
    const out = decodeOpaque([9999, 0, 6], p, types);
    p[0] = 9;
    expect(hexOf(out[0].value as Uint8Array)).toBe("0102");
  });
  it("refuses other types and paths", () => {
    expect(() => decodeOpaque([9999, 0, 1], bin("00"), types)).toThrow("opaque: resource is not opaque");
    expect(() => encodeOpaque([9999, 0, 1], [e([9999, 0, 1], "x")], types)).toThrow("opaque: resource is not opaque");
    expect(() => encodeOpaque([5000, 0, 1], [e([5000, 0, 1], "x")], noTypes)).toThrow("opaque: value is not bytes");
    expect(() => decodeOpaque([9999, 0], bin("00"), types)).toThrow("opaque: needs a resource path");
    expect(() => encodeOpaque([9999, 0, 6], [], types)).toThrow("opaque: needs exactly one value");
  });
});
