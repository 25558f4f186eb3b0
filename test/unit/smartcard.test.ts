/// <reference path="../../firmware/hal/native.d.ts" />
// Bootstrap from Smartcard, end to end: the card image builder (build/card-image.ts), the host
// UICC emulation in C (boards/host/host_card.c, through test/c/test_card.c) and the firmware's
// reader (firmware/lwm2m/smartcard.ts) running against that emulation APDU by APDU.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BootstrapProfile, bootstrapCard, bootstrapFile, bootstrapObject, cardImage, dodf, encodeBootstrapFile, fnv1a as nodeFnv1a, odf, tlvElement,
} from "../../build/card-image";
import { fnv1a, keep, parseBootstrap } from "../../firmware/lwm2m/smartcard";
import { Registry } from "../../firmware/lwm2m/registry";
import { securityDef } from "../../firmware/lwm2m/objects/security";
import { serverDef } from "../../firmware/lwm2m/objects/server";
import { Entry } from "../../firmware/formats/model";
import { encodeTlv } from "../../firmware/formats/tlv";
import { App } from "../../firmware/app/boot";
import { SimHal } from "../sim/hal";
import { buildCardHarness, cardOutDir, SimCard } from "../sim/card";
import { boot } from "./lwm2m/helpers";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cardDir = join(cardOutDir, "card-unit");
const harness = join(cardOutDir, "test_card");
const profile = JSON.parse(readFileSync(join(root, "test/fixtures/card/profile.json"), "utf8")) as BootstrapProfile;

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").toUpperCase();
const unhex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

function registry(): Registry {
  const r = new Registry();
  r.add(securityDef);
  r.add(serverDef);
  return r;
}
const types = registry().types;

// EF LwM2M_Bootstrap of test/fixtures/card/profile.json, decoded by hand.
const PROFILE_EF = [
  "0002 0062", //                         2 objects, 98 bytes follow
  "0000 00 0048", //                      /0, implicit version, 72 bytes
  "08 00 1D", //                            /0/0, 29 bytes
  "C8 00 0E 636F61703A2F2F62733A35363833", //  0: "coap://bs:5683"
  "C1 01 01  C1 02 03  C0 03  C0 04  C0 05", // 1: true, 2: 3 (NoSec), 3-5 empty
  "08 01 25", //                            /0/1, 37 bytes
  "C8 00 0F 636F6170733A2F2F646D3A35363834", // 0: "coaps://dm:5684"
  "C1 01 00  C1 02 00  C2 03 6D31  C0 04  C2 05 0102  C1 0A 65", // 1 false, 2 PSK, 3 "m1", 4, 5, 10: 101
  "0001 00 0010", //                      /1, implicit version, 16 bytes
  "08 00 0D", //                            /1/0, 13 bytes
  "C1 00 65  C2 01 012C  C1 06 00  C1 07 55", // 0: 101, 1: 300, 6: false, 7: "U"
].join("");

// EF LwM2M_Bootstrap as published with nRF Connect SDK's UICC LwM2M test (a 0xFF-padded file).
const NORDIC_EF =
  "00010036000000003108002EC80025636F61703A2F2F6C657368616E2E65636C6970736570726F6A656374732E696F3A35373833C10101C10203FFFF";
const NORDIC_ODF = "A706300404026430";
const NORDIC_DODF = "A127300030110C0F4C774D324D20426F6F747374726170A110300E06060604672B0901300404026432";

interface CardObject {
  id: number;
  entries: Entry[];
}

function parse(b: Uint8Array): CardObject[] {
  const objs: CardObject[] = [];
  parseBootstrap(b, types, (id, entries) => objs.push({ id, entries }));
  return objs;
}

function values(objs: CardObject[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of objs) for (const e of o.entries) out["/" + e.path.join("/")] = e.value instanceof Uint8Array ? hex(e.value) : e.value;
  return out;
}

describe("card image builder", () => {
  it("encodes the example profile exactly as decoded by hand", () => {
    expect(hex(encodeBootstrapFile(profile))).toBe(PROFILE_EF.replace(/\s+/g, ""));
  });

  it("encodes TLV lengths and identifiers of every size", () => {
    expect(hex(tlvElement(0xc0, 1, new Uint8Array(7)))).toBe("C701" + "00".repeat(7));
    expect(hex(tlvElement(0xc0, 1, new Uint8Array(8)))).toBe("C80108" + "00".repeat(8));
    expect(hex(tlvElement(0xc0, 300, new Uint8Array(256)))).toMatch(/^F0012C0100/);
    expect(hex(tlvElement(0x00, 1, new Uint8Array(70000)))).toMatch(/^1801011170/);
  });

  it("agrees with the firmware's own TLV encoder", () => {
    const objs = parse(encodeBootstrapFile(profile));
    for (const o of objs) {
      const fromFirmware = encodeTlv([o.id], o.entries, types);
      const ef = encodeBootstrapFile(profile);
      expect(hex(ef)).toContain(hex(fromFirmware));
    }
  });

  it("refuses profiles that would make a useless card", () => {
    expect(() => encodeBootstrapFile({ security: [] })).toThrow(/at least one account/);
    expect(() => encodeBootstrapFile({ security: [{ instanceId: 0, uri: "http://x", bootstrap: true, mode: 3 }] })).toThrow(/coap/);
    expect(() => encodeBootstrapFile({ security: [{ instanceId: 0, uri: "coap://x", bootstrap: false, mode: 3 }] })).toThrow(/ssid/);
    expect(() => encodeBootstrapFile({ security: [{ instanceId: 0, uri: "coap://x", bootstrap: true, mode: "tls" }] })).toThrow(/mode/);
    expect(() => encodeBootstrapFile({ security: [{ instanceId: 0, uri: "coap://x", bootstrap: true, mode: 3, secretKeyHex: "abc" } as any] })).toThrow(/hex/);
    expect(() => encodeBootstrapFile({ security: [{ instanceId: 0, uri: "coap://x", bootstrap: true, mode: 3, secret: "x" } as any] })).toThrow(/unknown field "secret"/);
    const big = { security: [{ instanceId: 0, uri: "coap://x", bootstrap: true, mode: 3, identityHex: "00".repeat(33000) }] };
    expect(() => encodeBootstrapFile(big)).toThrow(/32 KB/);
  });

  it("writes the PKCS#15 directory files and the image header", () => {
    const image = bootstrapCard(unhex("0000 0000"), 8);
    expect(hex(image.subarray(0, 19))).toBe("55494343" + "01" + "0C" + "A000000063504B43532D3135" + "03");
    expect(hex(image)).toContain("0150310008" + "A706300404026430");
    expect(hex(image)).toContain("0604672B0901"); // OID 2.23.43.9.1
    expect(hex(image.subarray(image.length - 13))).toBe("0164320008" + "00000000" + "FFFFFFFF");
  });

  it("CLI writes the card and the bare EF", () => {
    mkdirSync(cardDir, { recursive: true });
    const card = join(cardDir, "cli.card");
    const ef = join(cardDir, "cli.ef");
    const r = spawnSync("npx", ["tsx", "build/card-image.ts", "test/fixtures/card/profile.json", card, "--ef", ef, "--pad", "200"], { cwd: root, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("EF LwM2M_Bootstrap 102 bytes");
    expect(r.stdout).not.toContain("0102"); // no secret on the console
    expect(hex(readFileSync(ef))).toBe(PROFILE_EF.replace(/\s+/g, ""));
    expect(readFileSync(card).length).toBe(19 + 5 + odf().length + 5 + dodf().length + 5 + 200);
  });
});

describe("EF LwM2M_Bootstrap parser", () => {
  it("reads back what the builder wrote", () => {
    const objs = parse(encodeBootstrapFile(profile));
    expect(objs.map((o) => o.id)).toEqual([0, 1]);
    expect(values(objs)).toEqual({
      "/0/0/0": "coap://bs:5683", "/0/0/1": true, "/0/0/2": 3, "/0/0/3": "", "/0/0/4": "", "/0/0/5": "",
      "/0/1/0": "coaps://dm:5684", "/0/1/1": false, "/0/1/2": 0, "/0/1/3": "6D31", "/0/1/4": "", "/0/1/5": "0102", "/0/1/10": 101,
      "/1/0/0": 101, "/1/0/1": 300, "/1/0/6": false, "/1/0/7": "U",
    });
  });

  it("reads a file padded by the card issuer (nRF Connect SDK test vector)", () => {
    const objs = parse(unhex(NORDIC_EF));
    expect(values(objs)).toEqual({ "/0/0/0": "coap://leshan.eclipseprojects.io:5783", "/0/0/1": true, "/0/0/2": 3 });
  });

  it("takes object versions of two bytes", () => {
    const inst = tlvElement(0x00, 0, tlvElement(0xc0, 1, Uint8Array.of(60)));
    const ef = bootstrapFile([bootstrapObject(1, [inst], [1, 2]), bootstrapObject(1, [tlvElement(0x00, 1, tlvElement(0xc0, 1, Uint8Array.of(70)))])]);
    expect(values(parse(ef))).toEqual({ "/1/0/1": 60, "/1/1/1": 70 });
  });

  it("refuses malformed files with a clear reason", () => {
    const good = encodeBootstrapFile(profile);
    const bad = (b: Uint8Array) => () => parse(b);
    expect(bad(good.subarray(0, 3))).toThrow(/^bad size$/); // header past the end of the file
    expect(bad(good.subarray(0, 50))).toThrow(/^bad size$/);
    const lyingLength = Uint8Array.from(good);
    lyingLength[8] = 0xff; // /0 claims 255 bytes
    expect(bad(lyingLength)).toThrow(/^bad size$/);
    const moreObjects = Uint8Array.from(good);
    moreObjects[1] = 3; // the third object would start at the end
    expect(bad(moreObjects)).toThrow(/^bad size$/);
    const fewerObjects = Uint8Array.from(good);
    fewerObjects[1] = 1; // bytes after the last object
    expect(bad(fewerObjects)).toThrow(/^bad size$/);
    const badTlv = bootstrapFile([bootstrapObject(0, [Uint8Array.of(0x08, 0x00, 0x09, 0xc1, 0x01)])]);
    expect(bad(badTlv)).toThrow(/tlv/);
  });

  it("fingerprints with FNV-1a like the builder", () => {
    expect(fnv1a(new TextEncoder().encode("a"))).toBe(0xe40c292c);
    const ef = encodeBootstrapFile(profile);
    expect(fnv1a(ef)).toBe(nodeFnv1a(ef));
  });
});

// ---------------------------------------------------------------- against the C emulation

function writeCard(name: string, image: Uint8Array): string {
  const path = join(cardDir, name);
  mkdirSync(cardDir, { recursive: true });
  writeFileSync(path, image);
  return path;
}

interface CardMeter {
  sim: SimHal;
  card: SimCard;
  app: App;
}

/** A meter booting with the card image at `image` (nothing else configured), run until the
 * start-up read has ended. */
function cardMeter(image: string, mute = false): CardMeter {
  const sim = new SimHal();
  const card = new SimCard(sim, image);
  card.mute = mute;
  const app = boot(sim);
  sim.runWhile(() => keep(), 60_000);
  return { sim, card, app };
}

function config(app: App): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const oid of [0, 1]) {
    const entries: Entry[] = [];
    app.reg.read([oid], entries, false);
    for (const e of entries) if (e.value !== null) out["/" + e.path.join("/")] = e.value instanceof Uint8Array ? hex(e.value) : e.value;
  }
  return out;
}

const warnings = (sim: SimHal) => sim.logs.filter((l) => l.includes("<wrn> card:")).map((l) => l.replace(/^.*<wrn> card: /, ""));

describe("host UICC emulation (C)", () => {
  beforeAll(buildCardHarness);

  it("passes its own checks (SELECT, READ BINARY, GET RESPONSE, channels, status words, insertion)", () => {
    const dir = join(cardDir, "selftest");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const r = spawnSync(harness, ["check", dir], { encoding: "utf8" });
    const failed = r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
    expect(failed, r.stdout + r.stderr).toEqual([]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/card tests: \d+ checks, 0 failed/);
  });
});

describe("firmware card reader against the emulated card", () => {
  beforeAll(buildCardHarness);

  it("opens a channel, follows ODF and DODF, reads the EF, closes the channel and applies the data", () => {
    const ef = encodeBootstrapFile(profile);
    const m = cardMeter(writeCard("profile.card", bootstrapCard(ef)));
    expect(warnings(m.sim)).toEqual([]);
    const a = m.card.apdus;
    expect(a[0]).toBe("0070000001");
    expect(a[1]).toBe("01A4040C0CA000000063504B43532D3135");
    expect(a[2]).toBe("01A4000402503100");
    expect(a[3]).toMatch(/^01C00000/);
    expect(a).toContain("01A4000402643000");
    expect(a).toContain("01A4000402643200");
    expect(a[a.length - 1]).toBe("00708001");
    expect(m.card.answers.every((x) => /(9000|61..|6282)$/.test(x))).toBe(true);
    expect(m.card.reads).toBe(1);
    // The card's instances, keys replaced by markers (the keys went to the secure store).
    const want = values(parse(ef));
    const got = config(m.app);
    for (const k of Object.keys(want)) if (!/^\/0\/1\/[345]$/.test(k)) expect(got[k], k).toEqual(want[k]);
    expect(got["/0/1/5"]).not.toBe("0102");
    expect(m.sim.logs.some((l) => l.includes("<inf> card: applied 3 instance(s)"))).toBe(true);
    // The record of what came from the card: /0/0, /0/1, /1/0, then the fingerprint.
    const fp = nodeFnv1a(ef);
    expect([...m.sim.store.get(0x7f03)!]).toEqual([0, 0, 0, 1, 1, 0, fp >>> 24, (fp >> 16) & 255, (fp >> 8) & 255, fp & 255]);
  });

  it("reads a large padded EF in chunks, only as far as its header says", () => {
    const big: BootstrapProfile = {
      security: [{ instanceId: 0, uri: "coaps://dm:5684", bootstrap: false, mode: 2, ssid: 1, identityHex: "11".repeat(600), serverPublicKeyHex: "22".repeat(500), secretKeyHex: "33".repeat(121) }],
      server: [{ instanceId: 0, ssid: 1, lifetime: 86400 }],
    };
    const ef = encodeBootstrapFile(big);
    const m = cardMeter(writeCard("big.card", bootstrapCard(ef, 4000)));
    expect(warnings(m.sim)).toEqual([]);
    const reads = m.card.apdus.filter((x) => x.startsWith("01B0"));
    expect(reads.length).toBe(Math.ceil(ef.length / 255) + 2); // ODF, DODF, then the EF
    expect(reads[reads.length - 1]).toBe("01B0" + (255 * (reads.length - 3)).toString(16).padStart(4, "0").toUpperCase() + (ef.length % 255).toString(16).padStart(2, "0").toUpperCase());
    expect(m.app.reg.str(0, 0, 0)).toBe("coaps://dm:5684");
    // the certificate went to the secure store (credential handle 2 = /0/0), not into /0
    expect(m.sim.store.get(0x8000 | (2 << 4) | 1)!.length).toBe(600);
  });

  it("finds the EF through a DODF written like the nRF Connect SDK test card (a bootstrap account only)", () => {
    const image = cardImage([
      { dir: "app", fid: 0x5031, data: unhex(NORDIC_ODF) },
      { dir: "app", fid: 0x6430, data: unhex(NORDIC_DODF) },
      { dir: "app", fid: 0x6432, data: unhex(NORDIC_EF) },
    ]);
    const m = cardMeter(writeCard("nordic.card", image));
    expect(warnings(m.sim)).toEqual([]);
    expect(config(m.app)).toMatchObject({ "/0/0/0": "coap://leshan.eclipseprojects.io:5783", "/0/0/1": true, "/0/0/2": 3 });
  });

  it("tries every DODF the ODF lists", () => {
    const otherDodf = "300C30003000A106300404026440"; // an opaque data object without the OID
    const image = cardImage([
      { dir: "app", fid: 0x5031, data: unhex("A706300404026431" + "A706300404026430") },
      { dir: "app", fid: 0x6431, data: unhex(otherDodf) },
      { dir: "app", fid: 0x6430, data: unhex(NORDIC_DODF) },
      { dir: "app", fid: 0x6432, data: unhex(NORDIC_EF) },
    ]);
    const m = cardMeter(writeCard("two-dodf.card", image));
    expect(warnings(m.sim)).toEqual([]);
    expect(m.card.apdus).toContain("01A4000402643100");
    expect(m.app.reg.str(0, 0, 0)).toBe("coap://leshan.eclipseprojects.io:5783");
  });

  it("reports a card without bootstrap data, and closes the channel", () => {
    const image = cardImage([{ dir: "app", fid: 0x5031, data: unhex("A706300404026430") }, { dir: "app", fid: 0x6430, data: unhex("300C30003000A106300404026440") }]);
    const m = cardMeter(writeCard("no-bootstrap.card", image));
    expect(warnings(m.sim)).toEqual(["no bootstrap data"]);
    expect(m.card.apdus[m.card.apdus.length - 1]).toBe("00708001");
    expect(m.sim.store.has(0x7f03)).toBe(false);
  });

  it("reports a card without the PKCS#15 application", () => {
    const image = cardImage([{ dir: "mf", fid: 0x2fe2, data: unhex("00") }], new Uint8Array(0));
    const m = cardMeter(writeCard("no-app.card", image));
    expect(warnings(m.sim)).toEqual(["no PKCS#15 app, status 6a82"]);
  });

  it("refuses malformed card content, applying nothing", () => {
    const ef = encodeBootstrapFile(profile);
    const lying = Uint8Array.from(ef);
    lying[3] += 10; // header size past the end of the file
    let m = cardMeter(writeCard("lying.card", bootstrapCard(lying)));
    expect(warnings(m.sim)).toEqual(["bad size"]);
    const bigHeader = Uint8Array.of(0, 1, 0x80, 0x00); // 32768 + 4 bytes claimed, in a 34000-byte EF
    m = cardMeter(writeCard("too-big.card", bootstrapCard(bigHeader, 34000)));
    expect(warnings(m.sim)).toEqual(["bad size"]);
    const badObject = Uint8Array.from(ef);
    badObject[8] = 0x60; // /0 claims more bytes than the file has
    m = cardMeter(writeCard("bad-object.card", bootstrapCard(badObject)));
    expect(warnings(m.sim)).toEqual(["bad size"]);
    // a resource outside an instance: the meter refuses the object, so the whole card
    const noInstance = bootstrapFile([bootstrapObject(1, [tlvElement(0xc0, 1, Uint8Array.of(60))])]);
    m = cardMeter(writeCard("no-instance.card", bootstrapCard(noInstance)));
    expect(warnings(m.sim)).toEqual(["object /1 rejected"]);
    // a configuration that would not work
    const noKeys = encodeBootstrapFile({ security: [{ instanceId: 1, uri: "coaps://dm:5684", bootstrap: false, mode: "psk", ssid: 1 }], server: [{ instanceId: 0, ssid: 1, lifetime: 60 }] });
    m = cardMeter(writeCard("no-keys.card", bootstrapCard(noKeys)));
    expect(warnings(m.sim)).toEqual(["PSK needs identity and key in /0/1"]);
    expect(config(m.app)).toEqual({});
    expect(m.sim.store.has(0x7f03)).toBe(false);
  });

  it("skips objects the meter does not implement", () => {
    const ef = bootstrapFile([
      bootstrapObject(4, [tlvElement(0x00, 0, tlvElement(0xc0, 1, Uint8Array.of(1)))]),
      bootstrapObject(0, [tlvElement(0x00, 0, concatTlv(tlvElement(0xc8, 0, new TextEncoder().encode("coap://bs:5683")), tlvElement(0xc1, 1, Uint8Array.of(1)), tlvElement(0xc1, 2, Uint8Array.of(3))))]),
    ]);
    const m = cardMeter(writeCard("other-object.card", bootstrapCard(ef)));
    expect(warnings(m.sim)).toEqual([]);
    expect(config(m.app)).toMatchObject({ "/0/0/0": "coap://bs:5683" });
  });

  it("reports no card, and a mute card", () => {
    let m = cardMeter(join(cardDir, "absent.card"));
    expect(m.card.answers).toEqual(["rc=-4"]);
    expect(warnings(m.sim)).toEqual([]);

    m = cardMeter(writeCard("profile.card", bootstrapCard(encodeBootstrapFile(profile))), true);
    expect(warnings(m.sim)).toEqual(["card not responding"]);
    expect(m.sim.clock.now() - 1_000_000).toBe(5000);
    expect(config(m.app)).toEqual({});
  });
});

function concatTlv(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe("host meter", () => {
  it("starts with --card", () => {
    const meter = join(root, "out/host/meter");
    const usage = spawnSync(meter, ["--usage"], { encoding: "utf8" });
    expect(!usage.error && usage.stderr.includes("--card"), "out/host/meter must be built with --card").toBe(true);
    const dir = join(cardDir, "meter");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const card = writeCard("meter/profile.card", bootstrapCard(encodeBootstrapFile(profile)));
    const r = spawnSync(meter, ["--flash", join(dir, "flash"), "--fuse", join(dir, "fuse"), "--card", card, "--virtual-clock"], {
      input: "", encoding: "utf8", timeout: 5000, killSignal: "SIGTERM",
    });
    expect(r.stdout + r.stderr).not.toContain("bad option");
    expect(r.stdout).toContain("Booting");
    // without an endpoint name the meter stops after applying the card
    expect(r.stdout).toContain("card: applied 3 instance(s)");
  });
});
