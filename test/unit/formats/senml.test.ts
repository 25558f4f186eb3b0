import { describe, expect, it } from "vitest";
import { decodeSenmlCbor, encodeSenmlCbor } from "../../../firmware/formats/senml-cbor";
import { decodeSenmlJson, encodeSenmlJson } from "../../../firmware/formats/senml-json";
import { Entry } from "../../../firmware/formats/model";
import { utf8Decode, utf8Encode } from "../../../firmware/lib/bytes";
import { bin, deviceEntries, hexOf, mutate, noTypes, returnsOrThrowsPlainError, rng, types } from "./helpers";

// LwM2M 1.1 Core 7.4.7 (SenML CBOR) Read /3/0 example
const DEVICE_CBOR =
  "90a321652f332f302f00613003744f70656e204d6f62696c6520416c6c69616e6365a200613103764c696768747765696768" +
  "74204d324d20436c69656e74a20061320369333435303030313233a20061330363312e30a20063362f300201a20063362f310205a20063372f" +
  "3002190ed8a20063372f3102191388a20063382f3002187da20063382f3102190384a2006139021864a200623130020fa2006431312f300200" +
  "a200623133021a5182428fa20062313403662b30323a3030a200623136036155";

// 7.4.5 (SenML JSON) Read /3/0 example, without the whitespace
const DEVICE_JSON =
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},' +
  '{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},' +
  '{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},' +
  '{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","vs":"+02:00"},{"n":"16","vs":"U"}]';

// Send (CBOR) of /3/0/9 and /3/0/20 from the Transport binding examples
const SEND_CBOR = "82a321652f332f302f006139020fa2006232300204";

const e = (path: number[], value: Entry["value"]): Entry => ({ path, value });
const json = (base: number[], entries: Entry[], t = types) => utf8Decode(encodeSenmlJson(base, entries, t));
const fromJson = (base: number[], text: string, t = types) => decodeSenmlJson(base, utf8Encode(text), t);

describe("SenML CBOR: specification examples", () => {
  it("encodes Read /3/0 byte for byte", () => {
    expect(hexOf(encodeSenmlCbor([3, 0], deviceEntries(), types))).toBe(DEVICE_CBOR);
  });
  it("decodes Read /3/0", () => {
    expect(decodeSenmlCbor([3, 0], bin(DEVICE_CBOR), types)).toEqual(deviceEntries());
    expect(decodeSenmlCbor([3], bin(DEVICE_CBOR), noTypes)).toEqual(deviceEntries());
  });
  it("Send from the root: the base name is the common prefix", () => {
    const entries = [e([3, 0, 9], 15), e([3, 0, 20], 4)];
    expect(decodeSenmlCbor([], bin(SEND_CBOR), noTypes)).toEqual(entries);
    expect(hexOf(encodeSenmlCbor([], entries, noTypes))).toBe(SEND_CBOR);
  });
});

describe("SenML JSON: specification examples", () => {
  it("encodes Read /3/0", () => {
    expect(json([3, 0], deviceEntries())).toBe(DEVICE_JSON);
  });
  it("decodes Read /3/0, also pretty-printed", () => {
    expect(fromJson([3, 0], DEVICE_JSON)).toEqual(deviceEntries());
    expect(fromJson([3, 0], JSON.stringify(JSON.parse(DEVICE_JSON), null, 2))).toEqual(deviceEntries());
  });
});

describe("SenML: names and values", () => {
  const all = [
    e([9999, 0, 1], "text é"),
    e([9999, 0, 2], -5),
    e([9999, 0, 3], 4294967296),
    e([9999, 0, 4], 3.25),
    e([9999, 0, 5], true),
    e([9999, 0, 6], bin("010203ff")),
    e([9999, 0, 7], 1700000000),
    e([9999, 0, 8], { objectId: 3, instanceId: 0 }),
    e([9999, 0, 9], "</3/0>"),
  ];

  it("JSON labels per type, vd in base64url", () => {
    expect(json([9999, 0], all)).toBe(
      '[{"bn":"/9999/0/","n":"1","vs":"text é"},{"n":"2","v":-5},{"n":"3","v":4294967296},{"n":"4","v":3.25},' +
        '{"n":"5","vb":true},{"n":"6","vd":"AQID_w"},{"n":"7","v":1700000000},{"n":"8","vlo":"3:0"},{"n":"9","vs":"</3/0>"}]',
    );
    expect(fromJson([9999, 0], json([9999, 0], all))).toEqual(all);
  });

  it("CBOR labels per type, vd as a byte string, vlo as a text key", () => {
    const h = hexOf(encodeSenmlCbor([9999, 0, 6], [all[5]], types));
    expect(h).toBe("81a3" + "21" + "682f393939392f302f" + "00" + "6136" + "08" + "44010203ff");
    expect(hexOf(encodeSenmlCbor([9999, 0, 8], [all[7]], types))).toBe(
      "81a3" + "21" + "682f393939392f302f" + "00" + "6138" + "63766c6f" + "63333a30",
    );
    expect(hexOf(encodeSenmlCbor([9999, 0, 4], [all[3]], types))).toBe(
      "81a3" + "21" + "682f393939392f302f" + "00" + "6134" + "02" + "fb400a000000000000",
    );
    expect(decodeSenmlCbor([9999], encodeSenmlCbor([9999, 0], all, types), types)).toEqual(all);
  });

  it("single resource and multiple resource reads", () => {
    expect(json([3, 0, 9], [e([3, 0, 9], 100)])).toBe('[{"bn":"/3/0/","n":"9","v":100}]');
    expect(json([3, 0, 6], [e([3, 0, 6, 0], 1), e([3, 0, 6, 1], 5)])).toBe('[{"bn":"/3/0/6/","n":"0","v":1},{"n":"1","v":5}]');
    expect(json([3, 0, 6, 1], [e([3, 0, 6, 1], 5)])).toBe('[{"bn":"/3/0/6/","n":"1","v":5}]');
  });

  it("entries of several objects share no base name", () => {
    const entries = [e([3, 0, 9], 1), e([1, 0, 1], 300)];
    expect(json([], entries)).toBe('[{"n":"/3/0/9","v":1},{"n":"/1/0/1","v":300}]');
    expect(fromJson([], json([], entries))).toEqual(entries);
  });

  it("entries without a value are left out", () => {
    expect(json([3], [e([3, 0], null), e([3, 1, 0], "x")])).toBe('[{"bn":"/3/1/","n":"0","vs":"x"}]');
    expect(json([3], [e([3, 0], null)])).toBe("[]");
  });

  it("a base name applies until the next one", () => {
    const text = '[{"bn":"/3/0/","n":"0","vs":"a"},{"n":"1","vs":"b"},{"bn":"/1/0/","n":"1","v":300},{"n":"7","vs":"U"}]';
    expect(fromJson([], text)).toEqual([e([3, 0, 0], "a"), e([3, 0, 1], "b"), e([1, 0, 1], 300), e([1, 0, 7], "U")]);
  });

  it("names only (Read-Composite request) decode to null values", () => {
    expect(fromJson([], '[{"n":"/3/0/1"},{"n":"/1"},{"bn":"/5/0","n":""}]')).toEqual([
      e([3, 0, 1], null), e([1], null), e([5, 0], null),
    ]);
  });

  it("times and units are ignored", () => {
    expect(fromJson([3, 0], '[{"bn":"/3/0/","bt":1.7e9,"n":"9","v":1,"t":-5,"u":"%"}]')).toEqual([e([3, 0, 9], 1)]);
    expect(decodeSenmlCbor([3, 0], bin("81a4" + "22fb41d954fc40000000" + "00662f332f302f39" + "0201" + "0600"), types)).toEqual([e([3, 0, 9], 1)]);
  });

  it("values of unknown resources are kept as SenML gives them", () => {
    expect(fromJson([5000, 0], '[{"bn":"/5000/0/","n":"0","v":1.5},{"n":"1","vs":"s"},{"n":"2","vb":false},{"n":"3","vd":"AA"},{"n":"4","vlo":"1:2"}]', noTypes)).toEqual([
      e([5000, 0, 0], 1.5), e([5000, 0, 1], "s"), e([5000, 0, 2], false), e([5000, 0, 3], bin("00")),
      e([5000, 0, 4], { objectId: 1, instanceId: 2 }),
    ]);
  });

  it("8-byte integers up to 2^53 are exact", () => {
    const v = [e([9999, 0, 2], Number.MAX_SAFE_INTEGER), e([9999, 0, 3], Number.MAX_SAFE_INTEGER)];
    expect(decodeSenmlCbor([9999, 0], encodeSenmlCbor([9999, 0], v, types), types)).toEqual(v);
    expect(fromJson([9999, 0], json([9999, 0], v))).toEqual(v);
  });

  it("refuses entries outside the base and values above resource level", () => {
    expect(() => json([3, 0], [e([3, 1, 0], "x")])).toThrow("senml: entry outside /3/0");
    expect(() => json([3], [e([3, 0], "x")])).toThrow("senml: value above resource level");
    expect(() => json([9999, 0], [e([9999, 0, 2], "x")])).toThrow("value does not fit the type of /9999/0/2");
  });
});

describe("SenML: malformed input", () => {
  const badJson: [number[], string, string | RegExp][] = [
    [[3, 0], "", "senml: malformed JSON"],
    [[3, 0], "[{", "senml: malformed JSON"],
    [[3, 0], '{"n":"0"}', "senml: bad pack"],
    [[3, 0], "[1]", "senml: bad record"],
    [[3, 0], "[[]]", "senml: bad record"],
    [[3, 0], "[null]", "senml: bad record"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","bv":1}]', "senml: unknown label bv"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","s":1}]', "senml: unknown label s"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","vs":"a","foo_":1}]', "senml: unknown label foo_"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","vs":"a","constructor":1}]', "senml: unknown label constructor"],
    [[3, 0], '[{"bn":"/3/0/","n":0,"vs":"a"}]', "senml: bad n"],
    [[3, 0], '[{"bn":3,"n":"0","vs":"a"}]', "senml: bad bn"],
    [[3, 0], '[{"bn":"/3/0/","n":"9","v":"1"}]', "senml: bad v"],
    [[3, 0], '[{"bn":"/3/0/","n":"9","vb":1}]', "senml: bad vb"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","vs":"a","v":1}]', "senml: bad record: several values"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","vd":"A"}]', "base64: bad length"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","vd":"A+=="}]', "base64: invalid character"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","vlo":"3"}]', "bad integer"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","vlo":"3:70000"}]', "bad object link"],
    [[3, 0], '[{"bn":"/3/1/","n":"0","vs":"a"}]', "senml: /3/1/0 outside the request path"],
    [[3, 0], '[{"bn":"/3/0/","n":"/0","vs":"a"}]', "path: bad segment"],
    [[3, 0], '[{"bn":"/3/0","n":"0","vs":"a"}]', "senml: bad record: value above resource level"],
    [[3, 0], '[{"n":"3/0/0","vs":"a"}]', "path: must start with /"],
    [[3, 0], '[{"bn":"/3/0/","n":"x","vs":"a"}]', "path: non-numeric"],
    [[3, 0], '[{"bn":"/3/0/","n":"0/1/2","vs":"a"}]', "path: too many levels"],
    [[3], '[{"n":"/3/0","vs":"a"}]', "senml: bad record: value above resource level"],
    [[3, 0], '[{"bn":"/3/0/","n":"9","v":1.5}]', "senml: type mismatch at /3/0/9"],
    [[3, 0], '[{"bn":"/3/0/","n":"0","v":1}]', "senml: type mismatch at /3/0/0"],
    [[3, 0], '[{"bn":"/3/0/","n":"9","v":1e300}]', "senml: type mismatch at /3/0/9"],
  ];
  for (const [base, text, msg] of badJson) {
    it(`JSON ${text || "(empty)"}`, () => {
      expect(() => fromJson(base, text)).toThrow(msg);
    });
  }
  it("JSON that is not UTF-8", () => {
    expect(() => decodeSenmlJson([3, 0], bin("5b22c3"), types)).toThrow(/^utf8: /);
  });

  const badCbor: [string, string, string | RegExp][] = [
    ["a0", "a map instead of an array", "senml: bad pack"],
    ["8101", "a number record", "senml: bad record"],
    ["818100", "an array record", "senml: bad record"],
    ["81a1616e6130", "the JSON label n as text", "senml: unknown label n"],
    ["81a10501", "the sum label 5", "senml: unknown label 5"],
    ["81a12501", "base value -6", "senml: unknown label -6"],
    ["81a2 0061 30 0844 0102".replace(/ /g, ""), "vd past end", "cbor: truncated"],
    ["81a300613003617808 63 616263".replace(/ /g, ""), "vd as text", "senml: bad vd"],
    ["81a2006130 0361 78 00".replace(/ /g, ""), "trailing byte", "cbor: trailing bytes"],
    ["81a2006130 d82061 78".replace(/ /g, ""), "a tagged value", "cbor: unsupported major type 6"],
    ["81a3 21 65 2f 33 2f 30 2f 00 61 30 02 01".replace(/ /g, ""), "number for a string resource", "senml: type mismatch at /3/0/0"],
  ];
  for (const [h, why, msg] of badCbor) {
    it(`CBOR ${why}`, () => {
      expect(() => decodeSenmlCbor([3, 0], bin(h), types)).toThrow(msg);
    });
  }

  it("never crashes or hangs on corrupted CBOR", () => {
    const rnd = rng(112);
    const seeds = [bin(DEVICE_CBOR), bin(SEND_CBOR)];
    for (let k = 0; k < 4000; k++) {
      const p = mutate(seeds[k & 1], rnd);
      returnsOrThrowsPlainError(() => decodeSenmlCbor(k & 2 ? [] : [3, 0], p, k & 4 ? types : noTypes));
    }
  });

  it("never crashes or hangs on corrupted JSON", () => {
    const rnd = rng(110);
    const seed = utf8Encode(DEVICE_JSON);
    for (let k = 0; k < 4000; k++) {
      const p = mutate(seed, rnd);
      returnsOrThrowsPlainError(() => decodeSenmlJson(k & 2 ? [] : [3, 0], p, k & 4 ? types : noTypes));
    }
  });

  it("deeply nested JSON fails cleanly", () => {
    expect(() => fromJson([3, 0], "[".repeat(100000) + "]".repeat(100000))).toThrow(/^senml: /);
  });
});
