import { describe, expect, it } from "vitest";
import {
  Reader, Writer, base64urlDecode, putBytes, putNum, skip, written, base64urlEncode, bytesEqual, concatBytes, copyBytes, hex, readFloat, readInt,
  unhex, utf8Decode, utf8Encode,
} from "../../../firmware/lib/bytes";
import { bin, hexOf } from "./helpers";

describe("utf8", () => {
  const samples = ["", "abc", "é", "ü€", "\u{1F600}", "a\u0000b", "\u07ff\u0800\uffff\u{10000}\u{10ffff}"];
  for (const s of samples) {
    it(`matches Node for ${JSON.stringify(s)}`, () => {
      expect(hexOf(utf8Encode(s))).toBe(Buffer.from(s, "utf8").toString("hex"));
      expect(utf8Decode(new Uint8Array(Buffer.from(s, "utf8")))).toBe(s);
    });
  }

  it("encodes a lone surrogate as U+FFFD", () => {
    expect(hexOf(utf8Encode("a\ud800b"))).toBe("61efbfbd62");
  });

  it("decodes long text in chunks", () => {
    const s = "añ€".repeat(1000);
    expect(utf8Decode(utf8Encode(s))).toBe(s);
  });

  const bad: [string, string][] = [
    ["80", "stray continuation"],
    ["c328", "bad continuation"],
    ["c3", "truncated 2-byte"],
    ["e282", "truncated 3-byte"],
    ["c0af", "overlong /"],
    ["e080af", "overlong 3-byte"],
    ["f08282ac", "overlong 4-byte"],
    ["eda080", "surrogate D800"],
    ["f4908080", "above U+10FFFF"],
    ["f5808080", "lead byte F5"],
    ["ff", "lead byte FF"],
  ];
  for (const [h, why] of bad) {
    it(`rejects ${h} (${why})`, () => {
      expect(() => utf8Decode(bin(h))).toThrow(/^utf8: /);
    });
  }
});

describe("hex", () => {
  it("round-trips and tolerates spaces and upper case", () => {
    expect(hex(new Uint8Array([0, 1, 0xab, 0xff]))).toBe("0001abff");
    expect(hexOf(unhex("00 01 AB ff"))).toBe("0001abff");
  });
  it("rejects odd length and non-hex", () => {
    expect(() => unhex("abc")).toThrow("hex: odd length");
    expect(() => unhex("zz")).toThrow("hex: invalid digit");
  });
});

describe("base64url", () => {
  // RFC 4648 section 10 vectors, without padding
  const vectors: [string, string][] = [
    ["", ""], ["f", "Zg"], ["fo", "Zm8"], ["foo", "Zm9v"], ["foob", "Zm9vYg"], ["fooba", "Zm9vYmE"], ["foobar", "Zm9vYmFy"],
  ];
  for (const [plain, enc] of vectors) {
    it(`"${plain}" <-> "${enc}"`, () => {
      expect(base64urlEncode(utf8Encode(plain))).toBe(enc);
      expect(utf8Decode(base64urlDecode(enc))).toBe(plain);
    });
  }
  it("uses the URL-safe alphabet", () => {
    expect(base64urlEncode(bin("fbff"))).toBe("-_8");
    expect(base64urlEncode(bin("010203ff"))).toBe("AQID_w");
    expect(hexOf(base64urlDecode("-_8"))).toBe("fbff");
  });
  it("accepts padding", () => {
    expect(utf8Decode(base64urlDecode("Zm8="))).toBe("fo");
    expect(utf8Decode(base64urlDecode("Zg=="))).toBe("f");
  });
  it("rejects bad characters and lengths", () => {
    expect(() => base64urlDecode("Zm+v")).toThrow("base64: invalid character");
    expect(() => base64urlDecode("Z")).toThrow("base64: bad length");
    expect(() => base64urlDecode("Zg===")).toThrow("base64: bad length");
  });
  it("round-trips every length up to 40", () => {
    for (let n = 0; n <= 40; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
      expect(hexOf(base64urlDecode(base64urlEncode(b)))).toBe(hexOf(b));
    }
  });
});

describe("integers and floats", () => {
  it("readInt handles signed and unsigned widths", () => {
    expect(readInt(bin("ff"), 0, 1, true)).toBe(-1);
    expect(readInt(bin("ff"), 0, 1, false)).toBe(255);
    expect(readInt(bin("8000"), 0, 2, true)).toBe(-32768);
    expect(readInt(bin("ffffffff"), 0, 4, false)).toBe(4294967295);
    expect(readInt(bin("001fffffffffffff"), 0, 8, true)).toBe(Number.MAX_SAFE_INTEGER);
    expect(readInt(bin("ffe0000000000001"), 0, 8, true)).toBe(-Number.MAX_SAFE_INTEGER);
    expect(readInt(bin("ffffffffffffffff"), 0, 8, true)).toBe(-1);
  });
  it("readInt refuses values beyond 2^53", () => {
    expect(() => readInt(bin("0020000000000000"), 0, 8, true)).toThrow("integer exceeds 2^53");
    expect(() => readInt(bin("ffffffffffffffff"), 0, 8, false)).toThrow("integer exceeds 2^53");
    expect(() => readInt(bin("8000000000000000"), 0, 8, true)).toThrow("integer exceeds 2^53");
  });
  it("putNum writes two's complement", () => {
    const w: Writer = { b: new Uint8Array(1), n: 0 };
    putNum(w, -1, 1);
    putNum(w, -257, 2);
    putNum(w, Number.MAX_SAFE_INTEGER, 8);
    putNum(w, -Number.MAX_SAFE_INTEGER, 8);
    putNum(w, 0x12345678, 4);
    expect(hexOf(written(w))).toBe("ff" + "feff" + "001fffffffffffff" + "ffe0000000000001" + "12345678");
  });
  it("floats of 2, 4 and 8 bytes", () => {
    expect(readFloat(bin("3c00"), 0, 2)).toBe(1);
    expect(readFloat(bin("c400"), 0, 2)).toBe(-4);
    expect(readFloat(bin("0001"), 0, 2)).toBe(5.960464477539063e-8);
    expect(readFloat(bin("7c00"), 0, 2)).toBe(Infinity);
    expect(readFloat(bin("7e00"), 0, 2)).toBeNaN();
    expect(readFloat(bin("00 3fc00000"), 1, 4)).toBe(1.5);
    const w: Writer = { b: new Uint8Array(0), n: 0 };
    putNum(w, 0.1, 8, true);
    putNum(w, 1.5, 4, true);
    expect(hexOf(written(w))).toBe("3fb999999999999a3fc00000");
  });
});

describe("Writer / Reader / misc", () => {
  it("grows and finishes at the exact size", () => {
    const w: Writer = { b: new Uint8Array(2), n: 0 };
    for (let i = 0; i < 100; i++) putNum(w, i, 1);
    putNum(w, 0x1234, 2);
    putNum(w, 0xdeadbeef, 4);
    putBytes(w, [1, 2]);
    const out = written(w);
    expect(out.length).toBe(108);
    expect(out.buffer.byteLength).toBe(108);
    expect(hexOf(out.subarray(100))).toBe("1234deadbeef0102");
  });
  it("skip checks bounds against the reader's window", () => {
    const r: Reader = { b: bin("0102030405"), n: 1, end: 4, name: "x" };
    expect(r.b[skip(r, 1)]).toBe(2);
    expect(readInt(r.b, skip(r, 2), 2, false)).toBe(0x0304);
    expect(() => skip(r, 1)).toThrow("x: truncated");
    expect(() => skip({ b: bin("01"), n: 0, end: 1, name: "y" }, 2)).toThrow("y: truncated");
  });
  it("concat, equal, copy", () => {
    const a = bin("0102");
    expect(hexOf(concatBytes([a, bin(""), bin("03")]))).toBe("010203");
    expect(bytesEqual(a, bin("0102"))).toBe(true);
    expect(bytesEqual(a, bin("0103"))).toBe(false);
    expect(bytesEqual(a, bin("01"))).toBe(false);
    const c = copyBytes(a.subarray(1));
    a[1] = 9;
    expect(hexOf(c)).toBe("02");
  });
});
