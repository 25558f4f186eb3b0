// The power-safe store at meter level ("Credentials done right"), on the host board only:
// its flash driver cuts the power at the Nth program/erase (--die-at-flash-op N: that write
// is half done, the process exits 99) and keeps the flash in a file the test can tamper with.
//
// 1. Power-cut sweep over the bootstrap commit: from the same provisioned, not yet
//    bootstrapped flash image each time, the meter bootstraps against Leshan and the power
//    is cut at flash operation N, for every N until a run gets through without a cut. After
//    the cut the meter holds the old configuration (bootstrap account only) or the new one
//    (plus the SSID-101 Security and Server instances), never a mix, and still registers.
// 2. Tamper detection: a flipped byte in a committed configuration record is reported by the
//    store and the record is not used (the meter bootstraps again); a flipped byte in an
//    encrypted credential record is reported (as an authentication failure when the tamperer
//    also fixed the record CRC) and the credential part is treated as absent; the secret
//    never appears on the console nor in clear in the flash.
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBoard } from "../../build/boards.ts";
import { HostDut, createDut, loadRig } from "../rig/dut.ts";
import { nosecConfig, startLeshanBootstrap, startLeshanServer, type BootstrapConfig, type LeshanBootstrap, type LeshanServer } from "../rig/leshan.ts";
import { stopAll } from "../rig/processes.ts";

const EP = "meter-pss-01";
const SSID = 101;
const REGISTERED = new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${EP}\\)`);
const BOOTSTRAPPED = "bootstrap: finished, configuration committed";
const BS_REQUEST = "bootstrap: Bootstrap-Request sent";
/** Hang guard for the sweep (not a timing assertion): far more flash ops than a bootstrap needs. */
const MAX_SWEEP = 200;

const board = loadBoard("host");
const SECTOR = board.hal.store.sectorBytes;
const SECTORS = board.hal.store.sectors;

// ---- the store's flash layout (hal/store/README.md), only to find records to tamper with ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(parts: Buffer[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (const b of p) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

interface FlashRecord {
  off: number;
  id: number;
  len: number;
  kind: string;
  flags: number;
  seq: number;
}

/** Every record with a sane header, sector by sector (the log order does not matter here). */
function records(img: Buffer): FlashRecord[] {
  const out: FlashRecord[] = [];
  for (let s = 0; s < SECTORS; s++) {
    const base = s * SECTOR;
    if (img.toString("latin1", base, base + 4) !== "LWS1") continue;
    for (let pos = 20; pos + 20 <= SECTOR; ) {
      const o = base + pos;
      if (img.readUInt16LE(o) !== 0xa55a) break;
      const len = img.readUInt16LE(o + 4);
      out.push({ off: o, id: img.readUInt16LE(o + 2), len, kind: String.fromCharCode(img[o + 6]), flags: img[o + 7], seq: img.readUInt32LE(o + 8) });
      pos += 20 + ((len + 3) & ~3);
    }
  }
  return out;
}

/** The newest record of `id`. */
function newest(img: Buffer, id: number): FlashRecord {
  const r = records(img)
    .filter((x) => x.id === id && x.kind === "D")
    .sort((a, b) => b.seq - a.seq)[0];
  if (!r) throw new Error(`no record 0x${id.toString(16)} in the flash image`);
  return r;
}

/** Recomputes a record's CRC (what a tamperer who knows the layout would do). */
function fixCrc(img: Buffer, r: FlashRecord): void {
  const hdr = Buffer.from(img.subarray(r.off, r.off + 16));
  hdr[7] |= 0x80; // the CRC is taken with the intact bit set
  img.writeUInt32LE(crc32([hdr, img.subarray(r.off + 20, r.off + 20 + r.len)]), r.off + 16);
}

/** Sectors in use (sequence number programmed) and the room left in the newest (the head). */
function usage(img: Buffer): { used: number; headRoom: number; oldest: number } {
  let used = 0;
  let head = -1;
  let headSeq = -1;
  let oldest = -1;
  let oldestSeq = Infinity;
  for (let s = 0; s < SECTORS; s++) {
    const base = s * SECTOR;
    const seq = img.readUInt32LE(base + 12);
    if (img.toString("latin1", base, base + 4) !== "LWS1" || seq === 0xffffffff || seq !== ~img.readUInt32LE(base + 16) >>> 0) continue;
    used++;
    if (seq > headSeq) [head, headSeq] = [s, seq];
    if (seq < oldestSeq) [oldest, oldestSeq] = [s, seq];
  }
  const end = Math.max(20, ...records(img).filter((r) => Math.floor(r.off / SECTOR) === head).map((r) => r.off % SECTOR + 20 + ((r.len + 3) & ~3)));
  return { used, headRoom: SECTOR - end, oldest };
}

function occurrences(img: Buffer, needle: Buffer): number[] {
  const at: number[] = [];
  for (let i = img.indexOf(needle); i >= 0; i = img.indexOf(needle, i + 1)) at.push(i);
  return at;
}

// ---------------------------------------------------------------------------------------------

describe("power-safe store on the meter (host board: --die-at-flash-op, flash file)", () => {
  const rig = loadRig("host");
  const dir = mkdtempSync(join(tmpdir(), "meter-pss-"));
  const preImage = join(dir, "pre-bootstrap.img");
  const bootstrappedImage = join(dir, "bootstrapped.img");
  const seed = Math.floor(Math.random() * 0x7fffffff);
  const duts: HostDut[] = [];
  let bs: LeshanBootstrap;
  let srv: LeshanServer;
  let cfg: BootstrapConfig;
  let oldConfig: string[];
  let newConfig: string[];
  let lastRegistration: string | undefined;

  /** A host meter on the shared flash/fuse files of `dir`; all of them log to one file. */
  function meter(logName: string, extraArgs: string[] = []): HostDut {
    const d = createDut(rig, { workDir: dir, seed, logName, extraArgs }) as HostDut;
    duts.push(d);
    return d;
  }

  /** Waits for the meter to register with Leshan (console and Leshan agree); a new registration. */
  async function registered(d: HostDut, since: number): Promise<void> {
    const line = await d.waitForLog(REGISTERED, { since });
    expect(line.match(REGISTERED)![1]).toBe(srv.coapUri);
    const reg = await srv.waitForClient(EP, { notRegistrationId: lastRegistration });
    lastRegistration = reg.registrationId;
  }

  /** Orderly stop (de-registers), then the Leshan registration is gone. */
  async function stopMeter(d: HostDut): Promise<void> {
    await d.stop();
    await srv.waitForNoClient(EP);
  }

  beforeAll(async () => {
    [bs, srv] = await Promise.all([startLeshanBootstrap({ name: "pss-bootstrap" }), startLeshanServer({ name: "pss-server" })]);
    cfg = nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: SSID, lifetime: 60 });
    await bs.setConfig(EP, cfg);
    oldConfig = [`endpoint: ${EP}`, `/0/0 bootstrap uri=${bs.coapUri} mode=3`];
    newConfig = [...oldConfig, `/0/1 ssid=${SSID} uri=${srv.coapUri} mode=3`, `/1/0 ssid=${SSID} lifetime=60 binding=U`];
    // Out-of-band provisioning, then power off: the image every sweep iteration starts from.
    const d = meter("pss-provision");
    await d.start();
    await d.command(`set endpoint ${EP}`);
    await d.command(`set bs-uri ${bs.coapUri}`);
    expect(await d.command("show config")).toEqual(oldConfig);
    await d.stop();
    copyFileSync(d.flashPath, preImage);
    console.log(`[power-safe-store] work dir ${dir}, meter seed ${seed}`);
  });

  afterAll(async () => {
    for (const d of duts) await d.stop();
    await bs?.stop();
    await srv?.stop();
    await stopAll();
  });

  /**
   * From `image` (provisioned, not bootstrapped) each time: bootstrap with the power cut at
   * flash operation n = 1, 2, ... until a run gets through; after every cut, power on normally
   * and check the configuration and that the meter registers. Returns the uncut run's image.
   */
  async function sweep(label: string, image: string): Promise<{ total: number; image: string }> {
    const outcomes: { n: number; cut: boolean; state: "old" | "new"; storeLines: string[] }[] = [];
    const done = join(dir, `${label}-bootstrapped.img`);
    let total = -1;
    for (let n = 1; n <= MAX_SWEEP && total < 0; n++) {
      copyFileSync(image, join(dir, "flash.img"));
      await bs.setConfig(EP, cfg);

      // Bootstrap with the power cut at flash operation n.
      const cutRun = meter(`pss-${label}-cut`, ["--die-at-flash-op", String(n)]);
      const exit = cutRun.start().then(() => cutRun.exited!);
      const outcome = await Promise.race([
        exit.then((info) => ({ cut: true, info })),
        cutRun.waitForLog(REGISTERED).then(
          () => ({ cut: false, info: undefined }),
          () => exit.then((info) => ({ cut: true, info })), // the process went away: see how
        ),
      ]).catch(async (e: Error) => {
        // start() fails when the process dies before its console answers
        const info = await cutRun.exited;
        if (info?.code === 99) return { cut: true, info };
        throw e;
      });
      const cutLogs = cutRun.logs();
      if (outcome.cut) {
        expect(outcome.info, `run with --die-at-flash-op ${n}`).toMatchObject({ code: 99 });
        // The cut falls inside the bootstrap: after its request, before the commit is done.
        expect(cutLogs.some((l) => l.includes(BS_REQUEST)), cutLogs.join("\n")).toBe(true);
        expect(cutLogs.filter((l) => l.includes(BOOTSTRAPPED))).toEqual([]);
      } else {
        // n is past every flash operation of the bootstrap: it completed.
        total = n - 1;
        expect(cutLogs.filter((l) => l.includes(BOOTSTRAPPED))).toHaveLength(1);
        await registered(cutRun, 0);
        await stopMeter(cutRun);
        copyFileSync(join(dir, "flash.img"), done);
      }

      // Power on normally, the bootstrap server holding no configuration for the meter, so
      // `show config` shows exactly what the store gave at boot (no new bootstrap changes it).
      await bs.deleteConfig(EP);
      const d = meter(`pss-${label}-restart`);
      await d.start();
      const shown = await d.command("show config");
      const state = JSON.stringify(shown) === JSON.stringify(newConfig) ? "new" : "old";
      expect(shown, `after a cut at flash op ${n}: old or new configuration, nothing else`).toEqual(state === "new" ? newConfig : oldConfig);
      if (!outcome.cut) expect(state).toBe("new");
      // The configuration loader never met a half-written or missing instance.
      expect(d.logs().filter((l) => /persist: /.test(l)), "persist warnings").toEqual([]);
      await bs.setConfig(EP, cfg);
      const from = d.mark();
      if (state === "old") {
        // Bootstraps again from the old configuration.
        await d.command("bootstrap");
        await d.waitForLog(BOOTSTRAPPED, { since: from });
      }
      await registered(d, state === "old" ? from : 0);
      expect(await d.command("show config")).toEqual(newConfig);
      await stopMeter(d);
      outcomes.push({ n, cut: outcome.cut, state, storeLines: d.logs().filter((l) => /store: /.test(l)).map((l) => l.replace(/^.*store: /, "")) });
    }
    expect(total, `no run got through the bootstrap within ${MAX_SWEEP} flash operations`).toBeGreaterThan(0);
    const cuts = outcomes.filter((o) => o.cut);
    expect(cuts).toHaveLength(total);
    console.log(
      `[power-safe-store] ${label}: bootstrap commit = ${total} flash ops; ${outcomes.length} iterations; ` +
        `cut at each op: ${cuts.filter((o) => o.state === "old").length} old, ${cuts.filter((o) => o.state === "new").length} new; uncut run: new`,
    );
    for (const o of outcomes) console.log(`[power-safe-store]   ${label} op ${o.n}${o.cut ? "" : " (no cut)"}: ${o.state}; store: ${o.storeLines.join(" | ") || "-"}`);
    return { total, image: done };
  }

  it("power-cut sweep over the bootstrap commit: old or new configuration, never a mix, and the meter registers", async () => {
    const r = await sweep("sweep", preImage);
    copyFileSync(r.image, bootstrappedImage);
  });

  it("power-cut sweep over a bootstrap commit that opens the last free sector and compacts the oldest", async () => {
    // Fill the ring with endpoint writes until the head is the last sector but one and has
    // room for the commit's first record only: the commit then opens the last free sector,
    // which compacts (copies, then erases) the oldest.
    copyFileSync(preImage, join(dir, "flash.img"));
    await bs.deleteConfig(EP); // the meter's bootstrap attempt at boot fails: no configuration changes
    const d = meter("pss-fill");
    await d.start();
    let u = usage(readFileSync(d.flashPath));
    let writes = 0;
    while (!(u.used === SECTORS - 1 && u.headRoom >= 64 && u.headRoom < 116)) {
      expect(writes++, `filling the store: ${JSON.stringify(u)}`).toBeLessThan(5000);
      await d.command(`set endpoint ${EP}`);
      u = usage(readFileSync(d.flashPath));
    }
    expect(await d.command("show config")).toEqual(oldConfig);
    await d.stop();
    const full = join(dir, "ring-full.img");
    copyFileSync(d.flashPath, full);
    console.log(`[power-safe-store] ring filled with ${writes} endpoint writes: ${u.used} sectors used, ${u.headRoom} bytes left in the head`);
    const r = await sweep("compacting", full);
    const after = readFileSync(r.image);
    // The compaction happened: the oldest sector was erased (and formatted: free again).
    const base = u.oldest * SECTOR;
    expect(after.readUInt32LE(base + 12), "sequence number of the formerly oldest sector").toBe(0xffffffff);
    expect(after.readUInt32LE(base + 4), "its erase count").toBe(readFileSync(full).readUInt32LE(base + 4) + 1);
    expect(usage(after).used).toBe(SECTORS - 1);
  });

  it("a flipped byte in a committed configuration record is reported, the record is not used, the meter bootstraps and registers again", async () => {
    const img = readFileSync(bootstrappedImage);
    const uri = Buffer.from(srv.coapUri);
    const at = occurrences(img, uri);
    expect(at, "the server URI is in exactly one record").toHaveLength(1);
    const rec = newest(img, (0 << 8) | 1); // /0/1, the SSID-101 Security instance
    expect(at[0] > rec.off && at[0] < rec.off + 20 + rec.len).toBe(true);
    // Flip the last digit of the port: still a well-formed URI, pointing elsewhere.
    const flipAt = at[0] + uri.length - 1;
    img[flipAt] ^= 0x01;
    const tampered = img.toString("latin1", at[0], at[0] + uri.length);
    writeFileSync(join(dir, "flash.img"), img);

    await bs.setConfig(EP, cfg);
    await bs.clearSessions();
    const d = meter("pss-tamper-config");
    await d.start();
    const report = await d.waitForLog(/store: /);
    expect(report).toMatch(/<err> store: bad crc, record skipped at 0x[0-9a-f]+/);
    expect(Number(report.match(/at (0x[0-9a-f]+)/)![1])).toBe(rec.off);
    await d.waitForLog(BOOTSTRAPPED);
    await registered(d, 0);
    const [session] = await bs.waitForSessions(EP, (s) => s.length > 0 && s[0].state !== "started");
    expect(session.state).toBe("finished");
    expect(await d.command("show config")).toEqual(newConfig);
    expect(d.logs().filter((l) => l.includes(tampered)), "the tampered URI is never used").toEqual([]);
    await stopMeter(d);
  });

  describe("encrypted credential records", () => {
    const secret = randomBytes(16);
    const secretHex = secret.toString("hex");
    const fingerprint = createHash("sha256").update(secret).digest().subarray(0, 8).toString("hex");
    const KEY_ID = 0x8000 | (1 << 4) | 3; // the bootstrap account's credential (handle 1), part 3 = secret
    const credImage = join(dir, "credentials.img");
    const complete = `cred 1 bootstrap mode=psk identity=${EP}-id key=${fingerprint}`;
    const withoutKey = `cred 1 bootstrap mode=psk identity=${EP}-id`;

    beforeAll(async () => {
      copyFileSync(bootstrappedImage, join(dir, "flash.img"));
      await bs.setConfig(EP, cfg);
      const d = meter("pss-credentials");
      await d.start();
      await registered(d, 0);
      await d.command("set security psk");
      await d.command(`set psk-identity ${EP}-id`);
      await d.command(`set psk-key ${secretHex}`);
      expect(await d.command("show credentials")).toEqual([complete]);
      await stopMeter(d);
      copyFileSync(d.flashPath, credImage);
      const img = readFileSync(credImage);
      expect(newest(img, KEY_ID).flags & 0x01, "the key record is encrypted").toBe(1);
      expect(occurrences(img, secret), "the secret in clear in the flash").toEqual([]);
    });

    function tamperKey(fix: boolean): FlashRecord {
      const img = readFileSync(credImage);
      const rec = newest(img, KEY_ID);
      expect(rec.len).toBe(12 + secret.length + 16); // nonce, ciphertext, tag
      img[rec.off + 20 + 12 + 3] ^= 0x40; // a ciphertext byte
      if (fix) fixCrc(img, rec);
      writeFileSync(join(dir, "flash.img"), img);
      return rec;
    }

    async function bootTampered(name: string): Promise<HostDut> {
      await bs.setConfig(EP, cfg);
      const d = meter(name);
      await d.start();
      await registered(d, 0); // the configuration records are intact
      return d;
    }

    it("ciphertext flipped and the CRC fixed: an authentication failure is reported, the key is treated as absent, the secret never shows", async () => {
      tamperKey(true);
      const d = await bootTampered("pss-tamper-credential-auth");
      // The first read of the key authenticates it: the tag fails, the store reports it and
      // drops the record, and the command already shows the key as absent.
      expect(await d.command("show credentials")).toEqual([withoutKey]);
      const report = await d.waitForLog(/store: /);
      expect(report).toMatch(new RegExp(`<err> store: authentication failed, record treated as absent, id 0x${KEY_ID.toString(16)}$`));
      expect(await d.command("show credentials")).toEqual([withoutKey]);
      expect(d.logs().filter((l) => /store: bad crc/.test(l)), "the CRC was fixed: only the tag catches it").toEqual([]);
      expect(d.logs().filter((l) => l.toLowerCase().includes(secretHex)), "the secret on the console").toEqual([]);
      await stopMeter(d);
    });

    it("ciphertext flipped: the corrupt record is reported at boot and skipped, the key is absent, the secret never shows", async () => {
      const rec = tamperKey(false);
      const d = await bootTampered("pss-tamper-credential-crc");
      const report = await d.waitForLog(/store: /);
      expect(report).toMatch(/<err> store: bad crc, record skipped at 0x[0-9a-f]+$/);
      expect(Number(report.match(/at (0x[0-9a-f]+)/)![1])).toBe(rec.off);
      expect(await d.command("show credentials")).toEqual([withoutKey]);
      expect(d.logs().filter((l) => l.toLowerCase().includes(secretHex)), "the secret on the console").toEqual([]);
      await stopMeter(d);
    });
  });
});
