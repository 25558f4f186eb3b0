import { describe, expect, it } from "vitest";
import { Link, decodeLinks, encodeLinks } from "../../../firmware/formats/link-format";
import { returnsOrThrowsPlainError, rng } from "./helpers";

describe("link format", () => {
  const register: Link[] = [
    { uri: "/", attrs: [["rt", "oma.lwm2m"], ["ct", 11543]] },
    { uri: "/1", attrs: [["ver", "1.1"]] },
    { uri: "/1/0", attrs: [["ssid", 101]] },
    { uri: "/3/0", attrs: [] },
  ];
  const REGISTER = '</>;rt="oma.lwm2m";ct=11543,</1>;ver=1.1,</1/0>;ssid=101,</3/0>';

  it("encodes a registration payload as LwM2M writes it", () => {
    expect(encodeLinks(register)).toBe(REGISTER);
  });

  it("encodes a Bootstrap-Discover payload", () => {
    const links: Link[] = [
      { uri: "/", attrs: [["lwm2m", "1.1"]] },
      { uri: "/0/0", attrs: [] },
      { uri: "/0/1", attrs: [["ssid", 101], ["uri", "coap://server_1.example.com:5683"]] },
      { uri: "/1/0", attrs: [["ssid", 101]] },
      { uri: "/3/0", attrs: [] },
    ];
    const text = '</>;lwm2m="1.1",</0/0>,</0/1>;ssid=101;uri="coap://server_1.example.com:5683",</1/0>;ssid=101,</3/0>';
    expect(encodeLinks(links)).toBe(text);
    expect(decodeLinks(text)).toEqual(links);
  });

  it("attributes without values, escapes, empty list", () => {
    const links: Link[] = [{ uri: "/3/0/7", attrs: [["obs", null], ["title", 'a "q" \\ b'], ["dim", 2]] }];
    const text = '</3/0/7>;obs;title="a \\"q\\" \\\\ b";dim=2';
    expect(encodeLinks(links)).toBe(text);
    expect(decodeLinks(text)).toEqual(links);
    expect(encodeLinks([])).toBe("");
    expect(decodeLinks("")).toEqual([]);
    expect(decodeLinks("  \r\n ")).toEqual([]);
  });

  it("decodes what it encodes, with bare values typed", () => {
    expect(decodeLinks(REGISTER)).toEqual([
      { uri: "/", attrs: [["rt", "oma.lwm2m"], ["ct", 11543]] },
      { uri: "/1", attrs: [["ver", 1.1]] },
      { uri: "/1/0", attrs: [["ssid", 101]] },
      { uri: "/3/0", attrs: [] },
    ]);
    expect(encodeLinks(decodeLinks(REGISTER))).toBe(REGISTER);
    // 1.0 is not a canonical number: it stays text, and ver stays bare on output
    expect(decodeLinks("</1>;ver=1.0;pmin=10;gt=-2.5;x=0x10;ct=60 ")).toEqual([
      { uri: "/1", attrs: [["ver", "1.0"], ["pmin", 10], ["gt", -2.5], ["x", "0x10"], ["ct", 60]] },
    ]);
    expect(encodeLinks(decodeLinks("</1>;ver=1.0"))).toBe("</1>;ver=1.0");
  });

  it("tolerates whitespace between the parts", () => {
    const text = ' </> ; rt = "oma.lwm2m" ; ct=11543 ,\n\t</1/0>;ssid=101 , </3/0> ';
    expect(decodeLinks(text)).toEqual([
      { uri: "/", attrs: [["rt", "oma.lwm2m"], ["ct", 11543]] },
      { uri: "/1/0", attrs: [["ssid", 101]] },
      { uri: "/3/0", attrs: [] },
    ]);
  });

  const bad: [string, string][] = [
    ["/1", "link: expected <uri>"],
    ["</1", "link: expected <uri>"],
    ["</1>,", "link: expected <uri>"],
    [",</1>", "link: expected <uri>"],
    ["</1> </2>", "link: expected , or ;"],
    ["</1>x", "link: expected , or ;"],
    ["</1>;", "link: empty attribute name"],
    ["</1>;=5", "link: empty attribute name"],
    ["</1>;a=", "link: empty attribute value"],
    ["</1>;a=;b", "link: empty attribute value"],
    ['</1>;a="x', "link: unterminated quote"],
    ['</1>;a="x\\', "link: unterminated quote"],
    ['</1>;a="x"y', "link: expected , or ;"],
  ];
  for (const [text, msg] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => decodeLinks(text)).toThrow(msg);
    });
  }

  it("never crashes or hangs on corrupted text", () => {
    const rnd = rng(6690);
    const alphabet = '<>/;,="\\ 0123abc\t';
    for (let k = 0; k < 5000; k++) {
      const chars = REGISTER.split("");
      for (let m = 0; m < 3; m++) chars[Math.floor(rnd() * chars.length)] = alphabet[Math.floor(rnd() * alphabet.length)];
      returnsOrThrowsPlainError(() => decodeLinks(chars.slice(0, Math.floor(rnd() * (chars.length + 1))).join("")));
    }
  });
});
