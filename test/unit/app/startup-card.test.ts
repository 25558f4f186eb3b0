// Start-up order and the smartcard at run time, on the simulated HAL with the host board's UICC
// emulation (test/sim/card.ts): smartcard, then factory (stored) data, then registration with
// every configured server, client-initiated bootstrap only when all of them failed; a card
// changed in place is noticed at the next Register or Update, and removing the card deletes
// exactly the data that came from it. After a card change at run time the meter de-registers
// and restarts.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BootstrapProfile, bootstrapCard, encodeBootstrapFile } from "../../../build/card-image";
import { keep } from "../../../firmware/lwm2m/smartcard";
import { serverDef } from "../../../firmware/lwm2m/objects/server";
import { App } from "../../../firmware/app/boot";
import { Hal } from "../../../firmware/hal/codes";
import { FakeServer, SimHal } from "../../sim/hal";
import { buildCardHarness, cardOutDir, SimCard } from "../../sim/card";
import { boot, expectOk, DELETE } from "../lwm2m/helpers";

const dir = join(cardOutDir, "card-startup");
const REC_CARD = 0x7f03;
const BS_PORT = 5783;
const FACTORY_PORT = 5690; // the management server written at the factory (ssid 102)
const CARD_PORT = 5683; // the card's management server (ssid 101)
const OTHER_PORT = 5691; // the server of a second card (ssid 103)

const credential = (h: number, part: number) => 0x8000 | (h << 4) | part;

/** A card with one management server, at /0/5 and /1/5 (the factory's are /0/1 and /1/0). */
function cardProfile(port: number, ssid: number, psk = false): BootstrapProfile {
  return {
    security: [psk
      ? { instanceId: 5, uri: `coaps://127.0.0.1:${port}`, bootstrap: false, mode: "psk", ssid, identity: "meter-1", secretKeyHex: "000102030405060708090a0b0c0d0e0f" }
      : { instanceId: 5, uri: `coap://127.0.0.1:${port}`, bootstrap: false, mode: "nosec", ssid }],
    server: [{ instanceId: 5, ssid, lifetime: 60 }],
  };
}

function writeCard(name: string, p: BootstrapProfile): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, bootstrapCard(encodeBootstrapFile(p)));
  return path;
}

interface Meter {
  sim: SimHal;
  card: SimCard;
  app: App;
  bs: FakeServer;
  factory: FakeServer;
  dm: FakeServer;
  other: FakeServer;
}

/**
 * A meter provisioned at the factory (endpoint, bootstrap account, factory server 102 unless
 * `factoryServer` is false), then started with the card image at `image` (missing: no card).
 */
function meter(image: string, opts: { factoryServer?: boolean; mute?: boolean } = {}): Meter {
  const sim = new SimHal();
  const bs = sim.addServer("127.0.0.1", BS_PORT);
  const factory = sim.addServer("127.0.0.1", FACTORY_PORT);
  const dm = sim.addServer("127.0.0.1", CARD_PORT);
  const other = sim.addServer("127.0.0.1", OTHER_PORT);
  const card = new SimCard(sim, join(dir, "none.card"));
  boot(sim);
  expectOk(sim.command("set endpoint meter-1"));
  expectOk(sim.command(`set bs-uri coap://127.0.0.1:${BS_PORT}`));
  if (opts.factoryServer !== false) expectOk(sim.command(`set server 102 coap://127.0.0.1:${FACTORY_PORT} 60`));
  sim.reboot();
  const m = { sim, card, app: null as unknown as App, bs, factory, dm, other };
  restart(m, image, opts.mute);
  return m;
}

/** Power-cycles the meter with the card image at `image`. */
function restart(m: Meter, image: string, mute = false): void {
  m.sim.reboot();
  m.card.image = image;
  m.card.mute = mute;
  m.sim.logCursor = m.sim.logs.length;
  m.app = boot(m.sim);
}

/** Runs until the meter resets (after de-registering), then starts it again. */
function afterReset(m: Meter, why: string): void {
  const n = m.sim.resets.length;
  m.sim.runWhile(() => m.sim.resets.length === n, 60_000);
  expect(m.sim.resets.slice(n)).toEqual([why]);
  restart(m, m.card.image);
}

const registers = (s: FakeServer) => s.received.filter((r) => r.code === 2 && r.path === "/rd");
const logged = (m: Meter, s: string) => m.sim.logs.filter((l) => l.includes(s)).length;

function instances(app: App): string[] {
  const out: string[] = [];
  for (const o of app.reg.objs) if (o.def.id < 2) for (const i of o.insts) out.push(`/${o.def.id}/${i.id}`);
  return out;
}

describe("start-up order with a smartcard", () => {
  beforeAll(() => {
    rmSync(dir, { recursive: true, force: true });
    buildCardHarness();
  });

  it("reads the card first, then registers with the card's server and the factory server; no bootstrap", () => {
    const image = writeCard("card-101.card", cardProfile(CARD_PORT, 101));
    const m = meter(join(dir, "missing.card"));
    m.sim.waitLog("registered with coap://127.0.0.1:5690");
    // The same meter, powered up with the card in.
    const opens: number[] = [];
    const linkOpen = m.sim.link_open.bind(m.sim);
    m.sim.link_open = (host, port) => {
      opens.push(m.card.apdus.length);
      return linkOpen(host, port);
    };
    const before = m.card.apdus.length;
    restart(m, image);
    m.sim.waitLog("registered with coap://127.0.0.1:5683");
    m.sim.run(5000);
    // Every APDU of the start-up read (channel closed last) came before the first datagram.
    const closeAt = m.card.apdus.indexOf("00708001", before) + 1;
    expect(closeAt).toBeGreaterThan(before);
    expect(opens[0]).toBeGreaterThanOrEqual(closeAt);
    expect(registers(m.dm)).toHaveLength(1);
    expect(registers(m.factory)).toHaveLength(2); // once per start
    // One read: the start-up read stands for the check before these Registers.
    expect(m.card.apdus.slice(before).filter((x) => x === "0070000001")).toHaveLength(1);
    expect(m.bs.received).toEqual([]);
    expect(instances(m.app)).toEqual(["/0/0", "/0/1", "/0/5", "/1/0", "/1/5"]);
    expect(m.app.reg.str(0, 5, 0)).toBe("coap://127.0.0.1:5683");
    expect([...m.sim.store.get(REC_CARD)!.subarray(0, 4)]).toEqual([0, 5, 1, 5]);
  });

  it("waits for a card that does not answer before registering or bootstrapping", () => {
    const image = writeCard("card-101.card", cardProfile(CARD_PORT, 101));
    const m = meter(image, { factoryServer: false, mute: true });
    const t0 = m.sim.clock.now();
    // Meanwhile a server's Bootstrap-Request Trigger (/1/x/9) is refused.
    expect(serverDef.exec!(0, 9, "")).toBe(0x85);
    m.sim.waitLog("<wrn> card: card not responding");
    expect(m.sim.clock.now() - t0).toBe(5000);
    m.sim.waitLog("Bootstrap-Request sent");
    expect(m.bs.received[0].time - t0).toBeGreaterThanOrEqual(5000);
  });

  it("bootstraps only after every configured server failed", () => {
    const m = meter(join(dir, "missing.card"));
    m.factory.handler = () => {}; // never answers
    m.sim.waitLog("Bootstrap-Request sent", 3_600_000);
    expect(logged(m, "registration with coap://127.0.0.1:5690 failed")).toBe(1);
    expect(m.card.answers.every((a) => a === "rc=-4")).toBe(true);
  });

  it("the same card at the next start changes nothing; after a factory reset its data come back", () => {
    const image = writeCard("card-101.card", cardProfile(CARD_PORT, 101));
    const m = meter(image);
    m.sim.waitLog("registered with coap://127.0.0.1:5683");
    expect(logged(m, "card: applied 2 instance(s)")).toBe(1);
    const record = m.sim.store.get(REC_CARD);
    restart(m, image);
    m.sim.waitLog("registered with coap://127.0.0.1:5683");
    expect(logged(m, "card: applied")).toBe(1);
    expect(m.sim.store.get(REC_CARD)).toBe(record); // not even rewritten
    expectOk(m.sim.command("factory-reset"));
    restart(m, image);
    m.sim.waitLog("registered with coap://127.0.0.1:5683");
    expect(logged(m, "card: applied 2 instance(s)")).toBe(2);
  });
});

describe("smartcard at run time", () => {
  beforeAll(() => {
    rmSync(dir, { recursive: true, force: true });
    buildCardHarness();
  });

  it("removing the card deletes exactly its data and keys, de-registers from its server and keeps the factory server", () => {
    const image = writeCard("psk.card", cardProfile(CARD_PORT, 101, true));
    const m = meter(image);
    m.sim.waitLog("registered with coaps://127.0.0.1:5683");
    expect(registers(m.factory)).toHaveLength(1);
    // The PSK went to the secure store (credential handle 7 = /0/5), with a marker in /0/5.
    expect(m.sim.store.has(credential(7, 3))).toBe(true);
    expect(m.app.reg.get(0, 5, 5)).toEqual(new Uint8Array([7]));
    const configured = [...m.sim.store.keys()].sort();
    const scrubs = m.sim.scrubs;

    rmSync(image);
    m.sim.post(Hal.EV_CARD_CHANGED, 0, 0);
    m.sim.waitLog("card: removed, its data deleted");
    afterReset(m, "card");
    m.sim.waitLog("registered with coap://127.0.0.1:5690");
    m.sim.run(60_000);
    expect(m.dm.received.filter((r) => r.code === DELETE).map((r) => r.path)).toEqual(["/rd/1"]);
    expect(instances(m.app)).toEqual(["/0/0", "/0/1", "/1/0"]);
    expect(m.app.reg.num(1, 0, 0, -1)).toBe(102);
    const now = [...m.sim.store.keys()].sort();
    const gone = configured.filter((k) => !now.includes(k));
    expect(gone.sort()).toEqual([0x0005, 0x0105, REC_CARD, credential(7, 0), credential(7, 1), credential(7, 3)].sort());
    expect(now.filter((k) => !configured.includes(k))).toEqual([]);
    expect(m.sim.scrubs).toBe(scrubs + 1);
    // no longer used: nothing more goes to the card's server
    const sent = m.dm.received.length;
    m.sim.run(300_000);
    expect(m.dm.received.length).toBe(sent);
    expect(registers(m.factory).length).toBeGreaterThanOrEqual(2);
  });

  it("a card removed while the meter was off: its data are deleted before registration", () => {
    const image = writeCard("card-101.card", cardProfile(CARD_PORT, 101));
    const m = meter(image);
    m.sim.waitLog("registered with coap://127.0.0.1:5683");
    const sent = m.dm.received.length;
    restart(m, join(dir, "missing.card"));
    m.sim.waitLog("card: removed, its data deleted");
    m.sim.waitLog("registered with coap://127.0.0.1:5690");
    m.sim.run(120_000);
    expect(m.dm.received.length).toBe(sent);
    expect(instances(m.app)).toEqual(["/0/0", "/0/1", "/1/0"]);
    expect(m.sim.store.has(REC_CARD)).toBe(false);
  });

  it("a card inserted at run time is applied and its server registered", () => {
    const m = meter(join(dir, "later.card"));
    m.sim.waitLog("registered with coap://127.0.0.1:5690");
    writeCard("later.card", cardProfile(CARD_PORT, 101));
    m.sim.post(Hal.EV_CARD_CHANGED, 0, 1);
    m.sim.waitLog("card: applied 2 instance(s)");
    afterReset(m, "card");
    m.sim.waitLog("registered with coap://127.0.0.1:5683");
    expect(logged(m, "card: applied")).toBe(1);
    expect(m.bs.received).toEqual([]);
  });

  it("a card rewritten in place (no event) is noticed at the next Update", () => {
    const image = writeCard("rewritten.card", cardProfile(CARD_PORT, 101));
    const m = meter(image, { factoryServer: false });
    m.sim.waitLog("registered with coap://127.0.0.1:5683");
    const reads = m.card.reads;
    m.sim.waitLog("update ok (coap://127.0.0.1:5683)");
    expect(m.card.reads).toBe(reads + 1); // checked at the Update; unchanged
    writeCard("rewritten.card", cardProfile(OTHER_PORT, 103));
    m.sim.waitLog("card: applied 2 instance(s)");
    afterReset(m, "card");
    m.sim.waitLog("registered with coap://127.0.0.1:5691");
    m.sim.run(5000);
    expect(m.dm.received.filter((r) => r.code === DELETE)).toHaveLength(1);
    expect(instances(m.app)).toEqual(["/0/0", "/0/5", "/1/5"]);
    expect(m.app.reg.num(1, 5, 0, -1)).toBe(103);
    expect(keep()).toBe(false);
  });
});
