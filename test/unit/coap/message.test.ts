import { describe, expect, it } from "vitest";
import {
  ACK, BLOCK1, BLOCK2, CON, CONTENT, CoapMessage, GET, NON, OBSERVE, URI_PATH, URI_QUERY,
  addBlockOption, addOption, addStringOption, addUintOption, blockSize, codeToString, decodeBlock, decodeMessage,
  encodeBlock, encodeMessage, getBlockOption, getOption, getOptions, getStringOptions, getUintOption,
  hasUnknownCriticalOption, setUriPath, uintBytes, uriPath, uriQuery,
} from "../../../firmware/coap/message";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
function unhex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}
function msg(partial: Partial<CoapMessage>): CoapMessage {
  return { type: CON, code: GET, mid: 0, token: new Uint8Array(0), options: [], payload: null, ...partial };
}
const ascii = (s: string) => new TextEncoder().encode(s);

describe("encode/decode vectors", () => {
  it("CON GET with token and Uri-Path rd/abc", () => {
    const m = msg({ mid: 0x1234, token: unhex("aabb") });
    setUriPath(m, "/rd/abc");
    const bytes = encodeMessage(m);
    expect(hex(bytes)).toBe("42011234aabb" + "b27264" + "03616263");
    const d = decodeMessage(bytes);
    expect(d.type).toBe(CON);
    expect(d.code).toBe(GET);
    expect(d.mid).toBe(0x1234);
    expect(hex(d.token)).toBe("aabb");
    expect(uriPath(d)).toEqual(["rd", "abc"]);
    expect(d.payload).toBeNull();
  });

  it("extended deltas (>=13, >=269) and lengths, options sorted, payload marker", () => {
    const long = new Uint8Array(300).fill(1);
    const mid15 = new Uint8Array(15).fill(2);
    const m = msg({ type: ACK, code: CONTENT, mid: 0xffff, payload: unhex("010203") });
    addOption(m, 300, long);
    addStringOption(m, 3, "h");
    addOption(m, 20, mid15);
    const bytes = encodeMessage(m);
    const expected = "6045ffff" + "3168" + "dd0402" + hex(mid15) + "ee000b001f" + hex(long) + "ff010203";
    expect(hex(bytes)).toBe(expected);
    const d = decodeMessage(bytes);
    expect(d.options.map((o) => o.num)).toEqual([3, 20, 300]);
    expect(d.options[2].value.length).toBe(300);
    expect(hex(d.payload!)).toBe("010203");
  });

  it("repeated options keep their order; empty message", () => {
    const m = msg({ type: NON, mid: 7 });
    addStringOption(m, URI_QUERY, "ep=meter");
    addStringOption(m, URI_PATH, "rd");
    addStringOption(m, URI_QUERY, "lt=300");
    const d = decodeMessage(encodeMessage(m));
    expect(uriQuery(d)).toEqual(["ep=meter", "lt=300"]);
    expect(hex(encodeMessage(msg({ type: ACK, code: 0, mid: 0x0102 })))).toBe("60000102");
  });

  it("uint options are minimal big-endian", () => {
    expect(hex(uintBytes(0))).toBe("");
    expect(hex(uintBytes(255))).toBe("ff");
    expect(hex(uintBytes(256))).toBe("0100");
    expect(hex(uintBytes(0x12345678))).toBe("12345678");
    const m = msg({});
    addUintOption(m, OBSERVE, 0);
    addUintOption(m, 14, 86400);
    const d = decodeMessage(encodeMessage(m));
    expect(getUintOption(d, OBSERVE)).toBe(0);
    expect(getUintOption(d, 14)).toBe(86400);
    expect(getUintOption(d, 12)).toBe(-1);
    expect(getOption(d, 12)).toBeNull();
    expect(getOptions(d, OBSERVE).length).toBe(1);
  });

  it("UTF-8 option strings", () => {
    const m = msg({});
    addStringOption(m, URI_PATH, "zähler€😀");
    const d = decodeMessage(encodeMessage(m));
    expect(hex(d.options[0].value)).toBe(hex(ascii("zähler€😀")));
    expect(getStringOptions(d, URI_PATH)).toEqual(["zähler€😀"]);
  });

  it("setUriPath replaces the path and skips empty segments", () => {
    const m = msg({});
    setUriPath(m, "/a/b");
    setUriPath(m, "rd//x/");
    expect(uriPath(m)).toEqual(["rd", "x"]);
    setUriPath(m, "/");
    expect(uriPath(m)).toEqual([]);
  });
});

describe("block option values", () => {
  it("encodes and decodes", () => {
    expect(encodeBlock(0, true, 6)).toBe(0x0e);
    expect(encodeBlock(1, false, 6)).toBe(0x16);
    expect(hex(uintBytes(encodeBlock(16, true, 2)))).toBe("010a");
    expect(hex(uintBytes(encodeBlock(0, false, 0)))).toBe("");
    expect(decodeBlock(0x010a)).toEqual({ num: 16, more: true, szx: 2 });
    expect(decodeBlock(0)).toEqual({ num: 0, more: false, szx: 0 });
    expect(decodeBlock(0x17)).toBeNull(); // szx 7 reserved
    expect(blockSize(6)).toBe(1024);
    expect(blockSize(0)).toBe(16);
  });

  it("Block1/Block2 options on the wire", () => {
    const m = msg({ mid: 1 });
    addBlockOption(m, BLOCK2, 2, false, 6);
    addBlockOption(m, BLOCK1, 1, true, 5);
    const bytes = encodeMessage(m);
    // Block2: delta 23 -> 0xd1 0x0a, value 0x26; Block1: delta 4 len 1 -> 0x41, value 0x1d
    expect(hex(bytes)).toBe("40010001" + "d10a26" + "411d");
    const d = decodeMessage(bytes);
    expect(getBlockOption(d, BLOCK2)).toEqual({ num: 2, more: false, szx: 6 });
    expect(getBlockOption(d, BLOCK1)).toEqual({ num: 1, more: true, szx: 5 });
  });
});

describe("decode errors", () => {
  const bad: [string, string][] = [
    ["short header", "4001"],
    ["version 2", "80010001"],
    ["version 0", "00010001"],
    ["token length 9", "490100010102030405060708090a"],
    ["truncated token", "44010001aabb"],
    ["empty message with bytes", "60000001ff01"],
    ["empty message with token", "61000001aa"],
    ["truncated option value", "40010001b572"],
    ["truncated extended delta", "40010001d0"],
    ["truncated 2-byte extended length", "400100010e01"],
    ["delta nibble 15", "40010001f1"],
    ["length nibble 15", "400100011f"],
    ["payload marker without payload", "40010001ff"],
  ];
  for (const [name, h] of bad) {
    it(name, () => {
      expect(() => decodeMessage(unhex(h))).toThrow(Error);
    });
  }

  it("random bytes never escape as anything but Error", () => {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    for (let i = 0; i < 5000; i++) {
      const b = new Uint8Array(rnd() % 40);
      for (let j = 0; j < b.length; j++) b[j] = rnd();
      if (b.length > 0 && i % 2) b[0] = 0x40 | (b[0] & 0x37);
      try {
        const d = decodeMessage(b);
        expect(hex(encodeMessage(d)).length).toBeGreaterThan(0);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
      }
    }
  });
});

describe("helpers", () => {
  it("codeToString", () => {
    expect(codeToString(0x45)).toBe("2.05");
    expect(codeToString(0x5f)).toBe("2.31");
    expect(codeToString(0x84)).toBe("4.04");
    expect(codeToString(0xa0)).toBe("5.00");
    expect(codeToString(1)).toBe("0.01");
  });

  it("hasUnknownCriticalOption", () => {
    const m = msg({});
    setUriPath(m, "/1/0");
    addUintOption(m, BLOCK2, 0);
    addUintOption(m, 2048, 1); // even: elective
    expect(hasUnknownCriticalOption(m)).toBe(false);
    addUintOption(m, 9, 1); // odd, unknown
    expect(hasUnknownCriticalOption(m)).toBe(true);
  });
});
