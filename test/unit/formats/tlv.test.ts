import { describe, expect, it } from "vitest";
import { decodeTlv, encodeTlv } from "../../../firmware/formats/tlv";
import { Entry, NO_ID, TypeLookup, T_NONE, T_OBJLNK, T_INTEGER, T_STRING } from "../../../firmware/formats/model";
import { ascii, bin, deviceEntries, hexOf, mutate, noTypes, returnsOrThrowsPlainError, rng, types } from "./helpers";

// LwM2M 1.1 Core 7.4.3.2, "Single Object Instance Request Example": GET /3/0
const DEVICE_RESOURCES =
  "c80014" + ascii("Open Mobile Alliance") +
  "c80116" + ascii("Lightweight M2M Client") +
  "c80209" + ascii("345000123") +
  "c303" + ascii("1.0") +
  "8606 410001 410105" +
  "880708 42000ed8 42011388" +
  "8708 41007d 42010384" +
  "c10964" +
  "c10a0f" +
  "830b 410000" +
  "c40d5182428f" +
  "c60e" + ascii("+02:00") +
  "c110" + ascii("U");

// 7.4.3.2 "Multiple Object Instance Request Example": GET /3 wraps the same resources
const DEVICE_OBJECT = "080079" + DEVICE_RESOURCES;

// GET /2: Access Control instances 0 and 2, ACL instance 310 has a 16-bit id
const ACCESS_CONTROL =
  "08000e c10001 c10100 8302 417f07 c1037f" +
  "080212 c10003 c10100 8702 417f07 61013601 c1037f";

// GET /1: one Server instance, lifetime 86400 needs 4 bytes
const SERVER = "08000f c10001 c401 00015180 c10601 c107" + ascii("U");

// 7.4.3.3 object link examples: a multiple objlnk resource, then two instances with objlnks
const OBJLNK_1 = "88000c 440000420000 440100420001 c8010d" + ascii("8613800755500") + "c40212345678";
const OBJLNK_2 =
  "080026 c8000b" + ascii("myService 1") + "c8010f" + ascii("Internet.15.234") + "c40200430000" +
  "080126 c8000b" + ascii("myService 2") + "c8010f" + ascii("Internet.15.235") + "c402ffffffff";

const types66a: TypeLookup = (o, r) => (r === 0 ? T_OBJLNK : r === 1 ? T_STRING : T_INTEGER);
const types66b: TypeLookup = (o, r) => (r === 2 ? T_OBJLNK : T_STRING);

const e = (path: number[], value: Entry["value"]): Entry => ({ path, value });

function hexNoSpace(s: string): string {
  return s.replace(/\s+/g, "");
}

describe("TLV: specification examples", () => {
  it("the object instance vector is 0x79 bytes long as its header says", () => {
    expect(bin(DEVICE_RESOURCES).length).toBe(0x79);
  });

  it("encodes Read /3/0 (resources at top level)", () => {
    expect(hexOf(encodeTlv([3, 0], deviceEntries(), types))).toBe(hexNoSpace(DEVICE_RESOURCES));
  });

  it("decodes Read /3/0", () => {
    expect(decodeTlv([3, 0], bin(DEVICE_RESOURCES), types)).toEqual(deviceEntries());
  });

  it("encodes and decodes Read /3 (object instance wrapper)", () => {
    expect(hexOf(encodeTlv([3], deviceEntries(), types))).toBe(hexNoSpace(DEVICE_OBJECT));
    expect(decodeTlv([3], bin(DEVICE_OBJECT), types)).toEqual(deviceEntries());
  });

  it("accepts an instance wrapper that restates the base instance", () => {
    expect(decodeTlv([3, 0], bin(DEVICE_OBJECT), types)).toEqual(deviceEntries());
  });

  it("Access Control: several instances, 16-bit resource instance id", () => {
    const entries = [
      e([2, 0, 0], 1), e([2, 0, 1], 0), e([2, 0, 2, 127], 7), e([2, 0, 3], 127),
      e([2, 2, 0], 3), e([2, 2, 1], 0), e([2, 2, 2, 127], 7), e([2, 2, 2, 310], 1), e([2, 2, 3], 127),
    ];
    expect(hexOf(encodeTlv([2], entries, types))).toBe(hexNoSpace(ACCESS_CONTROL));
    expect(decodeTlv([2], bin(ACCESS_CONTROL), types)).toEqual(entries);
  });

  it("Server object: 4-byte integer and boolean", () => {
    const entries = [e([1, 0, 0], 1), e([1, 0, 1], 86400), e([1, 0, 6], true), e([1, 0, 7], "U")];
    expect(hexOf(encodeTlv([1], entries, types))).toBe(hexNoSpace(SERVER));
    expect(decodeTlv([1], bin(SERVER), types)).toEqual(entries);
  });

  it("object link example 1: multiple objlnk resource", () => {
    const entries = [
      e([66, 0, 0, 0], { objectId: 66, instanceId: 0 }),
      e([66, 0, 0, 1], { objectId: 66, instanceId: 1 }),
      e([66, 0, 1], "8613800755500"),
      e([66, 0, 2], 0x12345678),
    ];
    expect(hexOf(encodeTlv([66, 0], entries, types66a))).toBe(hexNoSpace(OBJLNK_1));
    expect(decodeTlv([66, 0], bin(OBJLNK_1), types66a)).toEqual(entries);
  });

  it("object link example 2: two instances with objlnk resources", () => {
    const entries = [
      e([66, 0, 0], "myService 1"), e([66, 0, 1], "Internet.15.234"), e([66, 0, 2], { objectId: 67, instanceId: 0 }),
      e([66, 1, 0], "myService 2"), e([66, 1, 1], "Internet.15.235"), e([66, 1, 2], { objectId: 65535, instanceId: 65535 }),
    ];
    expect(hexOf(encodeTlv([66], entries, types66b))).toBe(hexNoSpace(OBJLNK_2));
    expect(decodeTlv([66], bin(OBJLNK_2), types66b)).toEqual(entries);
  });

  it("Read of a single resource and of a multiple resource", () => {
    expect(hexOf(encodeTlv([3, 0, 0], [e([3, 0, 0], "Open Mobile Alliance")], types))).toBe(
      "c80014" + ascii("Open Mobile Alliance"),
    );
    const multi = [e([3, 0, 6, 0], 1), e([3, 0, 6, 1], 5)];
    expect(hexOf(encodeTlv([3, 0, 6], multi, types))).toBe("8606410001410105");
    expect(decodeTlv([3, 0, 6], bin("8606410001410105"), types)).toEqual(multi);
    // resource instances at top level for a multiple resource path, and a single instance path
    expect(decodeTlv([3, 0, 6], bin("410001410105"), types)).toEqual(multi);
    expect(hexOf(encodeTlv([3, 0, 6, 1], [e([3, 0, 6, 1], 5)], types))).toBe("410105");
    expect(decodeTlv([3, 0, 6, 1], bin("410105"), types)).toEqual([e([3, 0, 6, 1], 5)]);
  });
});

describe("TLV: values", () => {
  const T = 9999;
  const one = (r: number, v: Entry["value"]) => hexOf(encodeTlv([T, 0], [e([T, 0, r], v)], types));
  const back = (r: number, h: string) => decodeTlv([T, 0], bin(h), types)[0].value;

  // [value, hex of the whole resource TLV for the integer resource 2]
  const ints: [number, string][] = [
    [0, "c10200"],
    [127, "c1027f"],
    [-128, "c10280"],
    [128, "c2020080"],
    [-129, "c202ff7f"],
    [32767, "c2027fff"],
    [-32768, "c2028000"],
    [32768, "c40200008000"],
    [-32769, "c402ffff7fff"],
    [2147483647, "c4027fffffff"],
    [-2147483648, "c40280000000"],
    [2147483648, "c802080000000080000000"],
    [2 ** 40, "c802080000010000000000"],
    [Number.MAX_SAFE_INTEGER, "c80208001fffffffffffff"],
    [-Number.MAX_SAFE_INTEGER, "c80208ffe0000000000001"],
    [-1, "c102ff"],
  ];
  for (const [v, h] of ints) {
    it(`integer ${v}`, () => {
      expect(one(2, v)).toBe(h);
      expect(back(2, h)).toBe(v);
    });
  }

  it("time is a signed integer", () => {
    expect(one(7, 1367491215)).toBe("c4075182428f");
    expect(back(7, "c107ff")).toBe(-1);
  });

  it("unsigned uses the full width of each size", () => {
    expect(one(3, 200)).toBe("c103c8");
    expect(one(3, 65535)).toBe("c203ffff");
    expect(one(3, 4294967295)).toBe("c403ffffffff");
    expect(one(3, 4294967296)).toBe("c8030800000001" + "00000000");
    expect(back(3, "c103c8")).toBe(200);
    expect(back(3, "c803080000000100000000")).toBe(4294967296);
    expect(() => one(3, -1)).toThrow(/does not fit/);
  });

  it("8-byte integers beyond 2^53 are refused, not rounded", () => {
    expect(() => back(2, "c802080020000000000000")).toThrow("integer exceeds 2^53");
    expect(() => back(2, "c802088000000000000000")).toThrow("integer exceeds 2^53");
    expect(() => back(3, "c80308ffffffffffffffff")).toThrow("integer exceeds 2^53");
    expect(() => one(2, 2 ** 53)).toThrow(/does not fit/);
  });

  it("floats: 4 bytes when exact, else 8", () => {
    expect(one(4, 1.5)).toBe("c4043fc00000");
    expect(one(4, 1)).toBe("c4043f800000");
    expect(one(4, -0.1)).toBe("c80408bfb999999999999a");
    expect(back(4, "c4043fc00000")).toBe(1.5);
    expect(back(4, "c80408bfb999999999999a")).toBe(-0.1);
    expect(back(4, "c4047f800000")).toBe(Infinity);
    expect(() => back(4, "c20400ff")).toThrow("tlv: bad float length");
  });

  it("booleans", () => {
    expect(one(5, true)).toBe("c10501");
    expect(one(5, false)).toBe("c10500");
    expect(back(5, "c10501")).toBe(true);
    expect(back(5, "c10500")).toBe(false);
    expect(() => back(5, "c10502")).toThrow("tlv: bad boolean");
    expect(() => back(5, "c2050001")).toThrow("tlv: bad boolean");
  });

  it("opaque, string and core link", () => {
    expect(one(6, bin("00ff"))).toBe("c20600ff");
    expect(back(6, "c20600ff")).toEqual(bin("00ff"));
    expect(one(1, "héllo")).toBe("c601" + ascii("héllo"));
    expect(back(1, "c601" + ascii("héllo"))).toBe("héllo");
    expect(one(9, "</3/0>")).toBe("c609" + ascii("</3/0>"));
    expect(one(1, "")).toBe("c001");
    expect(back(1, "c001")).toBe("");
  });

  it("objlnk", () => {
    expect(one(8, { objectId: 3, instanceId: 1 })).toBe("c40800030001");
    expect(back(8, "c40800030001")).toEqual({ objectId: 3, instanceId: 1 });
    expect(() => back(8, "c308000300")).toThrow("tlv: bad objlnk length");
  });

  it("decoded opaque values do not alias the payload", () => {
    const p = bin("c20600ff");
    const v = decodeTlv([T, 0], p, types)[0].value as Uint8Array;
    p[2] = 7;
    expect(hexOf(v)).toBe("00ff");
  });

  it("unknown types decode to raw bytes and encode by the JS value", () => {
    expect(decodeTlv([5000, 1], bin("c1007f c20161 62"), noTypes)).toEqual([e([5000, 1, 0], bin("7f")), e([5000, 1, 1], bin("6162"))]);
    const enc = encodeTlv([5000, 1], [e([5000, 1, 0], 1), e([5000, 1, 1], "a"), e([5000, 1, 2], 0.5), e([5000, 1, 3], true)], noTypes);
    expect(hexOf(enc)).toBe("c10001 c10161 c4023f000000 c10301".replace(/ /g, ""));
  });

  it("a value that does not fit its declared type is refused", () => {
    expect(() => one(2, "12")).toThrow("value does not fit the type of /9999/0/2");
    expect(() => one(2, 1.5)).toThrow(/does not fit/);
    expect(() => one(1, 5)).toThrow(/does not fit/);
    expect(() => one(8, { objectId: 70000, instanceId: 0 })).toThrow(/does not fit/);
  });
});

describe("TLV: identifiers and lengths", () => {
  it("16-bit identifiers", () => {
    const entries = [e([3, 300, 256], "a")];
    // instance 300: 16-bit id, 3-bit length 4; resource 256: 16-bit id, length 1
    expect(hexOf(encodeTlv([3], entries, noTypes))).toBe("24012c" + "e1010061");
    expect(decodeTlv([3], bin("24012ce1010061"), types)).toEqual([e([3, 300, 256], bin("61"))]);
  });

  it("length fields of 0, 8, 16 and 24 bits", () => {
    for (const [n, head] of [[7, "c701"], [8, "c80108"], [255, "c801ff"], [256, "d0010100"], [65535, "d001ffff"], [65536, "d801010000"]] as const) {
      const s = "x".repeat(n);
      const enc = encodeTlv([3, 0], [e([3, 0, 1], s)], types);
      expect(hexOf(enc.subarray(0, head.length / 2))).toBe(head);
      expect(enc.length).toBe(head.length / 2 + n);
      expect(decodeTlv([3, 0], enc, types)).toEqual([e([3, 0, 1], s)]);
    }
  });

  it("an 8-bit length field may carry a small length", () => {
    expect(decodeTlv([3, 0], bin("c8010161"), types)).toEqual([e([3, 0, 1], "a")]);
  });
});

describe("TLV: structure", () => {
  it("empty object instance <-> [o,i] with null value", () => {
    const entries = [e([3, 0], null), e([3, 1, 0], "x")];
    expect(hexOf(encodeTlv([3], entries, types))).toBe("0000" + "0301c10078");
    expect(decodeTlv([3], bin("00000301c10078"), types)).toEqual(entries);
  });

  it("an instance marker next to its resources adds nothing", () => {
    expect(hexOf(encodeTlv([3], [e([3, 1], null), e([3, 1, 0], "x")], types))).toBe("0301c10078");
  });

  it("empty multiple resource <-> [o,i,r] with null value", () => {
    expect(hexOf(encodeTlv([3, 0], [e([3, 0, 6], null)], types))).toBe("8006");
    expect(decodeTlv([3, 0], bin("8006"), types)).toEqual([e([3, 0, 6], null)]);
  });

  it("empty payload", () => {
    expect(encodeTlv([3, 0], [], types).length).toBe(0);
    expect(decodeTlv([3, 0], new Uint8Array(0), types)).toEqual([]);
  });

  it("sorts entries so each resource and instance is written once", () => {
    const shuffled = [e([3, 0, 7, 1], 5000), e([3, 0, 1], "m"), e([3, 0, 7, 0], 3800), e([3, 0, 0], "o")];
    const sorted = [e([3, 0, 0], "o"), e([3, 0, 1], "m"), e([3, 0, 7, 0], 3800), e([3, 0, 7, 1], 5000)];
    expect(hexOf(encodeTlv([3, 0], shuffled, types))).toBe(hexOf(encodeTlv([3, 0], sorted, types)));
    expect(decodeTlv([3, 0], encodeTlv([3, 0], shuffled, types), types).map((x) => x.path)).toEqual([[3, 0, 0], [3, 0, 1], [3, 0, 7, 0], [3, 0, 7, 1]]);
  });

  it("Create without an instance id: resources directly under /o", () => {
    expect(decodeTlv([3], bin("c10078"), types)).toEqual([e([3, NO_ID, 0], "x")]);
  });

  it("refuses entries outside the base path, duplicates and mixed single/multiple", () => {
    expect(() => encodeTlv([3, 0], [e([3, 1, 0], "x")], types)).toThrow("tlv: entry outside /3/0");
    expect(() => encodeTlv([3, 0], [e([3, 0, 0], "x"), e([3, 0, 0], "y")], types)).toThrow("tlv: duplicate entry /3/0/0");
    expect(() => encodeTlv([3, 0], [e([3, 0, 6], 1), e([3, 0, 6, 0], 1)], types)).toThrow(/value above its level/);
    expect(() => encodeTlv([3, 0], [e([3, 0, 6, 0], null)], types)).toThrow("tlv: no value for /3/0/6/0");
    expect(() => encodeTlv([], [], types)).toThrow("tlv: bad base path");
    expect(() => encodeTlv([3], [e([3], null)], types)).toThrow("tlv: entry outside /3");
  });
});

describe("TLV: malformed input", () => {
  const bad: [number[], string, string | RegExp][] = [
    [[3, 0], "c8", "tlv: truncated"],
    [[3, 0], "c800", "tlv: truncated"],
    [[3, 0], "e801", "tlv: truncated"],
    [[3, 0], "d00001", "tlv: truncated"],
    [[3, 0], "c800144f70", "tlv: length past end"],
    [[3, 0], "c3000102", "tlv: length past end"],
    [[3, 0], "d800ffffff00", "tlv: length past end"],
    [[3], "0800ff", "tlv: length past end"],
    [[3], "0300c100", "tlv: length past end"],
    [[3, 0], "0801020100", "tlv: unexpected element at /3/0"],
    [[3, 0], "410001", "tlv: unexpected element at /3/0"],
    [[3], "410001", "tlv: unexpected element at /3"],
    [[3], "02000000", "tlv: unexpected element at /3/0"],
    [[3], "0302410001", "tlv: unexpected element at /3/2"],
    [[3, 0], "8306c10001", "tlv: unexpected element at /3/0/6"],
    [[3, 0, 1], "c80200", "tlv: unexpected element at /3/0/1"],
    [[3, 0], "c30900 0001".replace(" ", ""), "tlv: bad integer length"],
    [[3, 0], "c009", "tlv: bad integer length"],
    [[3, 0], "c200c328", /^utf8: /],
    [[3, 0, 0, 0], "c100ff", "tlv: unexpected element at /3/0/0/0"],
  ];
  for (const [base, h, msg] of bad) {
    it(`${h} at /${base.join("/")}`, () => {
      expect(() => decodeTlv(base, bin(h), types)).toThrow(msg);
    });
  }

  it("never crashes or hangs on corrupted payloads", () => {
    const seeds = [bin(DEVICE_OBJECT), bin(ACCESS_CONTROL), bin(OBJLNK_2), bin(SERVER)];
    const rnd = rng(11542);
    let errors = 0;
    for (let k = 0; k < 3000; k++) {
      const p = mutate(seeds[k % seeds.length], rnd);
      for (const base of [[3], [3, 0], [2]]) {
        if (returnsOrThrowsPlainError(() => decodeTlv(base, p, k & 1 ? types : noTypes)) === "error") errors++;
      }
    }
    expect(errors).toBeGreaterThan(1000);
  });

  it("never crashes on random bytes", () => {
    const rnd = rng(7);
    for (let k = 0; k < 2000; k++) {
      const p = new Uint8Array(Math.floor(rnd() * 40)).map(() => Math.floor(rnd() * 256));
      returnsOrThrowsPlainError(() => decodeTlv([3], p, types));
    }
  });
});
