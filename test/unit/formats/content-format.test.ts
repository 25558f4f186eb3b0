import { describe, expect, it } from "vitest";
import {
  CF_CBOR, CF_LINK, CF_LWM2M_JSON, CF_OPAQUE, CF_SENML_CBOR, CF_SENML_JSON, CF_TEXT, CF_TLV,
  decodeContent, encodeContent, isSupportedFormat,
} from "../../../firmware/formats/content-format";
import { Entry } from "../../../firmware/formats/model";
import { bin, deviceEntries, hexOf, types } from "./helpers";

const e = (path: number[], value: Entry["value"]): Entry => ({ path, value });

describe("content-format dispatcher", () => {
  it("numbers", () => {
    expect([CF_TEXT, CF_LINK, CF_OPAQUE, CF_CBOR, CF_SENML_JSON, CF_SENML_CBOR, CF_TLV, CF_LWM2M_JSON]).toEqual([
      0, 40, 42, 60, 110, 112, 11542, 11543,
    ]);
  });

  it("supported formats", () => {
    for (const f of [CF_TEXT, CF_OPAQUE, CF_SENML_JSON, CF_SENML_CBOR, CF_TLV]) expect(isSupportedFormat(f)).toBe(true);
    for (const f of [CF_LINK, CF_CBOR, CF_LWM2M_JSON, 1541, 50, -1]) expect(isSupportedFormat(f)).toBe(false);
  });

  it("round-trips the Device object through every multi-value format", () => {
    for (const f of [CF_TLV, CF_SENML_CBOR, CF_SENML_JSON]) {
      for (const base of [[3], [3, 0]]) {
        expect(decodeContent(f, base, encodeContent(f, base, deviceEntries(), types), types)).toEqual(deviceEntries());
      }
    }
  });

  it("round-trips a single resource through every format that can carry it", () => {
    const one = [e([3, 0, 9], 100)];
    for (const f of [CF_TLV, CF_SENML_CBOR, CF_SENML_JSON, CF_TEXT]) {
      expect(decodeContent(f, [3, 0, 9], encodeContent(f, [3, 0, 9], one, types), types)).toEqual(one);
    }
    const blob = [e([9999, 0, 6], bin("01ff"))];
    for (const f of [CF_TLV, CF_SENML_CBOR, CF_SENML_JSON, CF_OPAQUE]) {
      expect(decodeContent(f, [9999, 0, 6], encodeContent(f, [9999, 0, 6], blob, types), types)).toEqual(blob);
    }
  });

  it("dispatches to the right codec", () => {
    expect(hexOf(encodeContent(CF_TLV, [3, 0, 9], [e([3, 0, 9], 100)], types))).toBe("c10964");
    expect(hexOf(encodeContent(CF_TEXT, [3, 0, 9], [e([3, 0, 9], 100)], types))).toBe("313030");
    expect(hexOf(encodeContent(CF_OPAQUE, [9999, 0, 6], [e([9999, 0, 6], bin("01"))], types))).toBe("01");
    expect(decodeContent(CF_TEXT, [3, 0, 9], bin("313030"), types)).toEqual([e([3, 0, 9], 100)]);
  });

  it("refuses formats it does not handle", () => {
    for (const f of [CF_LINK, CF_CBOR, CF_LWM2M_JSON, 1541]) {
      expect(() => encodeContent(f, [3, 0], deviceEntries(), types)).toThrow(`unsupported content format ${f}`);
      expect(() => decodeContent(f, [3, 0], bin("00"), types)).toThrow(`unsupported content format ${f}`);
    }
  });
});
