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
import { applyCard, cardInit, CardObject, cardPresent, fnv1a, forgetCard, parseBootstrap, readCard } from "../../firmware/lwm2m/smartcard";
import { Registry } from "../../firmware/lwm2m/registry";
import { securityDef } from "../../firmware/lwm2m/objects/security";
import { serverDef } from "../../firmware/lwm2m/objects/server";
import { Entry } from "../../firmware/formats/model";
import { encodeTlv } from "../../firmware/formats/tlv";
import { Scheduler } from "../../firmware/lib/scheduler";
import { installDispatcher, pump } from "../../firmware/hal/events";
import { halClock } from "../../firmware/hal/timer";
import * as codes from "../../firmware/hal/codes";
import { SimHal } from "../sim/hal";

const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = join(root, "out/test-c");
const cardDir = join(outDir, "card-unit");
const harness = join(outDir, "test_card");
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
    const objs = parseBootstrap(encodeBootstrapFile(profile), types);
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
    const objs = parseBootstrap(encodeBootstrapFile(profile), types);
    expect(objs.map((o) => [o.id, o.version])).toEqual([[0, 0], [1, 0]]);
    expect(values(objs)).toEqual({
      "/0/0/0": "coap://bs:5683", "/0/0/1": true, "/0/0/2": 3, "/0/0/3": "", "/0/0/4": "", "/0/0/5": "",
      "/0/1/0": "coaps://dm:5684", "/0/1/1": false, "/0/1/2": 0, "/0/1/3": "6D31", "/0/1/4": "", "/0/1/5": "0102", "/0/1/10": 101,
      "/1/0/0": 101, "/1/0/1": 300, "/1/0/6": false, "/1/0/7": "U",
    });
  });

  it("reads a file padded by the card issuer (nRF Connect SDK test vector)", () => {
    const objs = parseBootstrap(unhex(NORDIC_EF), types);
    expect(values(objs)).toEqual({ "/0/0/0": "coap://leshan.eclipseprojects.io:5783", "/0/0/1": true, "/0/0/2": 3 });
  });

  it("takes object versions of two bytes", () => {
    const inst = tlvElement(0x00, 0, tlvElement(0xc0, 1, Uint8Array.of(60)));
    const ef = bootstrapFile([bootstrapObject(1, [inst], [1, 2])]);
    const objs = parseBootstrap(ef, types);
    expect(objs[0].version).toBe(0x0102);
    expect(values(objs)).toEqual({ "/1/0/1": 60 });
  });

  it("refuses malformed files with a clear reason", () => {
    const good = encodeBootstrapFile(profile);
    const bad = (b: Uint8Array) => () => parseBootstrap(b, types);
    expect(bad(good.subarray(0, 3))).toThrow(/size past the end of the file/);
    expect(bad(good.subarray(0, 50))).toThrow(/size past the end of the file/);
    const lyingLength = Uint8Array.from(good);
    lyingLength[8] = 0xff; // /0 claims 255 bytes
    expect(bad(lyingLength)).toThrow(/object 1 of 2 past the end/);
    const moreObjects = Uint8Array.from(good);
    moreObjects[1] = 3;
    expect(bad(moreObjects)).toThrow(/object 3 of 3 past the end/);
    const fewerObjects = Uint8Array.from(good);
    fewerObjects[1] = 1;
    expect(bad(fewerObjects)).toThrow(/bytes after the last object/);
    const badTlv = bootstrapFile([bootstrapObject(0, [Uint8Array.of(0x08, 0x00, 0x09, 0xc1, 0x01)])]);
    expect(bad(badTlv)).toThrow(/tlv/);
    const noInstance = bootstrapFile([bootstrapObject(1, [tlvElement(0xc0, 1, Uint8Array.of(60))])]);
    expect(bad(noInstance)).toThrow(/outside an instance/);
  });

  it("fingerprints with FNV-1a like the builder", () => {
    expect(fnv1a(new TextEncoder().encode("a"))).toBe(0xe40c292c);
    const ef = encodeBootstrapFile(profile);
    expect(fnv1a(ef)).toBe(nodeFnv1a(ef));
  });
});

describe("applying card data", () => {
  it("writes the card's instances and forgets exactly those", () => {
    const reg = registry();
    reg.createInst(0, 5)!.v[0] = "coap://factory:5683";
    const from: number[][] = [];
    expect(applyCard(reg, parseBootstrap(encodeBootstrapFile(profile), types), from)).toBe("");
    expect(from).toEqual([[0, 0], [0, 1], [1, 0]]);
    expect(reg.str(0, 1, 0)).toBe("coaps://dm:5684");
    expect(reg.num(1, 0, 1, -1)).toBe(300);
    forgetCard(reg, from);
    expect(reg.obj(0)!.insts.map((i) => i.id)).toEqual([5]);
    expect(reg.obj(1)!.insts).toEqual([]);
  });

  it("applies nothing when an object is refused, and skips objects the meter lacks", () => {
    const reg = registry();
    const from: number[][] = [];
    const objs: CardObject[] = [
      { id: 0, version: 0, entries: [{ path: [0, 0, 0], value: "coap://a:1" }] },
      { id: 1, version: 0, entries: [{ path: [1, 0, 1, 3], value: 5 }] }, // instance of a single resource
    ];
    expect(applyCard(reg, objs, from)).toMatch(/object \/1 rejected/);
    expect(reg.obj(0)!.insts).toEqual([]);
    expect(from).toEqual([]);
    const other: CardObject[] = [{ id: 4, version: 0, entries: [{ path: [4, 0, 1], value: 1 }] }];
    expect(applyCard(reg, other, from)).toBe("");
    expect(from).toEqual([]);
  });
});

// ---------------------------------------------------------------- against the C emulation

function gccHarness(): void {
  mkdirSync(cardDir, { recursive: true });
  const r = spawnSync("gcc", [
    "-std=c99", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
    "-Ihal/include", "-Iboards/host", "boards/host/host_card.c", "test/c/test_card.c", "-o", harness,
  ], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gcc test_card failed:\n${r.stdout}${r.stderr}`);
}

/** The emulated card, replayed from power-up for every APDU (the harness keeps no state). */
class EmulatedCard {
  apdus: string[] = [];
  answers: string[] = [];
  constructor(readonly image: string) {}

  transmit(apdu: Uint8Array): string {
    this.apdus.push(hex(apdu));
    const r = spawnSync(harness, ["apdu", this.image, ...this.apdus], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`test_card: ${r.stderr}`);
    const lines = r.stdout.split("\n").filter((l) => l && !l.startsWith("host:"));
    const answer = lines[lines.length - 1];
    this.answers.push(answer);
    return answer;
  }
}

interface CardRun {
  sim: SimHal;
  card: EmulatedCard;
  changes: boolean[];
  /** transmits to ignore (the card never answers them) */
  mute: boolean;
}

function cardMeter(image: string): CardRun {
  const sim = new SimHal().install();
  const run: CardRun = { sim, card: new EmulatedCard(image), changes: [], mute: false };
  let pending: Uint8Array | null = null;
  sim.card_transmit = (apdu: Uint8Array) => {
    const a = run.card.transmit(apdu);
    if (a.startsWith("rc=")) return Number(a.slice(3));
    if (run.mute) return 0;
    pending = unhex(a);
    sim.post(codes.EV_CARD_RESPONSE, 0, pending.length);
    return 0;
  };
  sim.card_receive = (out: Uint8Array) => {
    if (!pending) return codes.EAGAIN;
    const n = pending.length;
    out.set(pending);
    pending = null;
    return n;
  };
  const sched = new Scheduler(halClock);
  installDispatcher(sched);
  cardInit(sched, (inserted) => run.changes.push(inserted));
  return run;
}

interface ReadResult {
  err: string | null;
  objs: CardObject[];
  fp: number;
}

function read(run: CardRun, limit = 60_000): ReadResult {
  let result: ReadResult | null = null;
  readCard(types, (err, objs, fp) => (result = { err, objs, fp }));
  expect(result).toBeNull(); // never inside the call
  pump();
  run.sim.runWhile(() => result === null, limit);
  if (!result) throw new Error("the card read never ended");
  return result;
}

function writeCard(name: string, image: Uint8Array): string {
  const path = join(cardDir, name);
  writeFileSync(path, image);
  return path;
}

describe("host UICC emulation (C)", () => {
  beforeAll(gccHarness);

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
  beforeAll(gccHarness);

  it("opens a channel, follows ODF and DODF, reads the EF and closes the channel", () => {
    const ef = encodeBootstrapFile(profile);
    const run = cardMeter(writeCard("profile.card", bootstrapCard(ef)));
    const r = read(run);
    expect(r.err).toBeNull();
    expect(values(r.objs)).toEqual(values(parseBootstrap(ef, types)));
    expect(r.fp).toBe(nodeFnv1a(ef));
    expect(cardPresent()).toBe(true);
    const a = run.card.apdus;
    expect(a[0]).toBe("0070000001");
    expect(a[1]).toBe("01A4040C0CA000000063504B43532D3135");
    expect(a[2]).toBe("01A4000402503100");
    expect(a[3]).toMatch(/^01C00000/);
    expect(a).toContain("01A4000402643000");
    expect(a).toContain("01A4000402643200");
    expect(a[a.length - 1]).toBe("00708001");
    expect(run.card.answers.every((x) => /(9000|61..|6282)$/.test(x))).toBe(true);
  });

  it("reads a large padded EF in chunks, only as far as its header says", () => {
    const big: BootstrapProfile = {
      security: [{ instanceId: 0, uri: "coaps://dm:5684", bootstrap: false, mode: 2, ssid: 1, identityHex: "11".repeat(600), serverPublicKeyHex: "22".repeat(500), secretKeyHex: "33".repeat(121) }],
      server: [{ instanceId: 0, ssid: 1, lifetime: 86400 }],
    };
    const ef = encodeBootstrapFile(big);
    const run = cardMeter(writeCard("big.card", bootstrapCard(ef, 4000)));
    const r = read(run);
    expect(r.err).toBeNull();
    expect(r.fp).toBe(nodeFnv1a(ef));
    expect((values(r.objs)["/0/0/3"] as string).length).toBe(1200);
    const reads = run.card.apdus.filter((x) => x.startsWith("01B0"));
    expect(reads.length).toBe(Math.ceil(ef.length / 255) + 2); // ODF, DODF, then the EF
    expect(reads[reads.length - 1]).toBe("01B0" + (255 * (reads.length - 3)).toString(16).padStart(4, "0").toUpperCase() + (ef.length % 255).toString(16).padStart(2, "0").toUpperCase());
  });

  it("finds the EF through a DODF written like the nRF Connect SDK test card", () => {
    const image = cardImage([
      { dir: "app", fid: 0x5031, data: unhex(NORDIC_ODF) },
      { dir: "app", fid: 0x6430, data: unhex(NORDIC_DODF) },
      { dir: "app", fid: 0x6432, data: unhex(NORDIC_EF) },
    ]);
    const r = read(cardMeter(writeCard("nordic.card", image)));
    expect(r.err).toBeNull();
    expect(values(r.objs)["/0/0/0"]).toBe("coap://leshan.eclipseprojects.io:5783");
  });

  it("tries every DODF the ODF lists", () => {
    const otherDodf = "300C30003000A106300404026440"; // an opaque data object without the OID
    const image = cardImage([
      { dir: "app", fid: 0x5031, data: unhex("A706300404026431" + "A706300404026430") },
      { dir: "app", fid: 0x6431, data: unhex(otherDodf) },
      { dir: "app", fid: 0x6430, data: unhex(NORDIC_DODF) },
      { dir: "app", fid: 0x6432, data: unhex(NORDIC_EF) },
    ]);
    const run = cardMeter(writeCard("two-dodf.card", image));
    const r = read(run);
    expect(r.err).toBeNull();
    expect(run.card.apdus).toContain("01A4000402643100");
  });

  it("reports a card without bootstrap data, and closes the channel", () => {
    const image = cardImage([{ dir: "app", fid: 0x5031, data: unhex("A706300404026430") }, { dir: "app", fid: 0x6430, data: unhex("300C30003000A106300404026440") }]);
    const run = cardMeter(writeCard("no-bootstrap.card", image));
    const r = read(run);
    expect(r.err).toBe("card: no LwM2M bootstrap data object");
    expect(r.objs).toEqual([]);
    expect(run.card.apdus[run.card.apdus.length - 1]).toBe("00708001");
  });

  it("reports a card without the PKCS#15 application", () => {
    const image = cardImage([{ dir: "mf", fid: 0x2fe2, data: unhex("00") }], new Uint8Array(0));
    const r = read(cardMeter(writeCard("no-app.card", image)));
    expect(r.err).toBe("card: SELECT PKCS#15 failed (6a82)");
  });

  it("refuses malformed card content, applying nothing", () => {
    const ef = encodeBootstrapFile(profile);
    const lying = Uint8Array.from(ef);
    lying[3] += 10; // header size past the end of the file
    let r = read(cardMeter(writeCard("lying.card", bootstrapCard(lying))));
    expect(r.err).toBe("card: bootstrap size past the end of the file");
    const bigHeader = Uint8Array.of(0, 1, 0x80, 0x00); // 32768 + 4 bytes claimed, in a 34000-byte EF
    r = read(cardMeter(writeCard("too-big.card", bootstrapCard(bigHeader, 34000))));
    expect(r.err).toBe("card: bootstrap data over 32 KB");
    const badObject = Uint8Array.from(ef);
    badObject[8] = 0x60; // /0 claims more bytes than the file has
    r = read(cardMeter(writeCard("bad-object.card", bootstrapCard(badObject))));
    expect(r.err).toBe("card: object 1 of 2 past the end");
    expect(r.objs).toEqual([]);
  });

  it("reports no card, a removed card and a mute card", () => {
    let run = cardMeter(join(cardDir, "absent.card"));
    let r = read(run);
    expect(r.err).toBe("no card");
    expect(cardPresent()).toBe(false);

    run = cardMeter(writeCard("profile.card", bootstrapCard(encodeBootstrapFile(profile))));
    let result: string | null | undefined;
    readCard(types, (err) => (result = err));
    pump();
    run.sim.post(codes.EV_CARD_CHANGED, 0, 0);
    run.sim.runWhile(() => result === undefined, 10_000);
    expect(result).toBe("card removed");
    expect(run.changes).toEqual([false]);
    expect(cardPresent()).toBe(false);
    run.sim.post(codes.EV_CARD_CHANGED, 0, 1);
    run.sim.run(10);
    expect(run.changes).toEqual([false, true]);

    run = cardMeter(writeCard("profile.card", bootstrapCard(encodeBootstrapFile(profile))));
    run.mute = true;
    const start = run.sim.clock.now();
    r = read(run);
    expect(r.err).toBe("card not responding");
    expect(run.sim.clock.now() - start).toBe(5000);
  });

  it("serves callers that ask during a read with the same result", () => {
    const run = cardMeter(writeCard("profile.card", bootstrapCard(encodeBootstrapFile(profile))));
    const got: (string | null)[] = [];
    readCard(types, (err) => got.push(err));
    readCard(types, (err) => got.push(err));
    pump();
    run.sim.runWhile(() => got.length < 2, 60_000);
    expect(got).toEqual([null, null]);
    expect(run.card.apdus.filter((x) => x === "0070000001").length).toBe(1);
  });
});

describe("host meter", () => {
  it("starts with --card", (ctx) => {
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
  });
});
