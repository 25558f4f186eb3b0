import { describe, expect, it } from "vitest";
import { Scheduler } from "../../../firmware/lib/scheduler";
import { CoapEndpoint, Exchange, cancelRequest } from "../../../firmware/coap/endpoint";
import {
  ACK, CHANGED, CON, CONTENT, CoapMessage, GET, NON, POST, RST, addOption, decodeMessage, encodeMessage,
} from "../../../firmware/coap/message";
import { VirtualClock, runUntil, runUntilIdle } from "../../sim/clock";
import { SimLink, seededRandom } from "../../sim/network";
import { Rig, text, untext } from "./helpers";

type Result = { res: CoapMessage | null; err: string | null; t: number };

function collect(rig: { clock: VirtualClock }, into: Result[]) {
  return (res: CoapMessage | null, err: string | null) => into.push({ res, err, t: rig.clock.now() });
}

describe("CON retransmission", () => {
  for (const r of [0, 0.5, 0.999]) {
    it(`backs off from T=${2000 * (1 + r / 2)} ms and gives up after 1+4 transmissions (random=${r})`, () => {
      const rig = new Rig({}, () => r);
      const results: Result[] = [];
      rig.ep.request(CON, GET, [], null, collect(rig, results));
      runUntilIdle(rig.clock, rig.sched);
      const T = 2000 * (1 + r * 0.5);
      expect(rig.sent.map((s) => s.time)).toEqual([0, T, 3 * T, 7 * T, 15 * T].map((x) => expect.closeTo(x, 6)));
      expect(new Set(rig.sent.map((s) => Buffer.from(s.bytes).toString("hex"))).size).toBe(1);
      expect(results).toHaveLength(1);
      expect(results[0].err).toBe("timeout");
      expect(results[0].t).toBeCloseTo(31 * T, 6);
      expect(rig.sent).toHaveLength(5); // the request and 4 retransmissions
    });
  }

  it("first retransmission always falls in [2.0, 3.0] s", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const rig = new Rig({}, seededRandom(seed));
      rig.ep.request(CON, GET, [], null, () => {});
      runUntil(rig.clock, rig.sched, 3001);
      expect(rig.sent).toHaveLength(2);
      expect(rig.sent[1].time).toBeGreaterThanOrEqual(2000);
      expect(rig.sent[1].time).toBeLessThanOrEqual(3000);
    }
  });

  it("honours configured parameters", () => {
    const rig = new Rig({ ackTimeout: 1000, ackRandomFactor: 1, maxRetransmit: 2 });
    const results: Result[] = [];
    rig.ep.request(CON, GET, [], null, collect(rig, results));
    runUntilIdle(rig.clock, rig.sched);
    expect(rig.sent.map((s) => s.time)).toEqual([0, 1000, 3000]);
    expect(results[0]).toMatchObject({ err: "timeout", t: 7000 });
  });
});

describe("responses", () => {
  it("piggy-backed response in the ACK", () => {
    const rig = new Rig();
    const results: Result[] = [];
    rig.ep.request(CON, GET, [], null, collect(rig, results));
    const req = rig.last();
    expect(req.token.length).toBe(4);
    rig.rx({ type: ACK, code: CONTENT, mid: req.mid, token: req.token, payload: text("hi") });
    expect(results).toHaveLength(1);
    expect(untext(results[0].res!.payload)).toBe("hi");
    runUntil(rig.clock, rig.sched, 60000);
    expect(rig.sent).toHaveLength(1); // no retransmission after the ACK
  });

  it("ACK with a different token is ignored", () => {
    const rig = new Rig();
    const results: Result[] = [];
    rig.ep.request(CON, GET, [], null, collect(rig, results));
    const req = rig.last();
    rig.rx({ type: ACK, code: CONTENT, mid: req.mid, token: new Uint8Array([9]) });
    expect(results).toHaveLength(0);
  });

  it("separate response: empty ACK, then a CON response which is acknowledged", () => {
    const rig = new Rig();
    const results: Result[] = [];
    rig.ep.request(CON, GET, [], null, collect(rig, results));
    const req = rig.last();
    rig.rx({ type: ACK, code: 0, mid: req.mid, token: new Uint8Array(0) });
    runUntil(rig.clock, rig.sched, 20000);
    expect(rig.sent).toHaveLength(1); // the empty ACK stopped retransmission
    rig.rx({ type: CON, code: CONTENT, mid: 0x4242, token: req.token, payload: text("late") });
    expect(rig.last()).toMatchObject({ type: ACK, code: 0, mid: 0x4242 });
    expect(untext(results[0].res!.payload)).toBe("late");
    // A duplicate of the separate response is acknowledged again but not re-delivered.
    rig.rx({ type: CON, code: CONTENT, mid: 0x4242, token: req.token, payload: text("late") });
    expect(rig.sent).toHaveLength(3);
    expect(rig.last()).toMatchObject({ type: ACK, mid: 0x4242 });
    expect(results).toHaveLength(1);
  });

  it("separate response arriving before the (lost) empty ACK", () => {
    const rig = new Rig();
    const results: Result[] = [];
    rig.ep.request(CON, GET, [], null, collect(rig, results));
    const req = rig.last();
    rig.rx({ type: NON, code: CONTENT, mid: 9, token: req.token });
    expect(results).toHaveLength(1);
    runUntil(rig.clock, rig.sched, 60000);
    expect(rig.sent).toHaveLength(1);
  });

  it("separate response that never comes times out after EXCHANGE_LIFETIME", () => {
    const rig = new Rig();
    const results: Result[] = [];
    rig.ep.request(CON, GET, [], null, collect(rig, results));
    rig.rx({ type: ACK, code: 0, mid: rig.last().mid, token: new Uint8Array(0) });
    runUntilIdle(rig.clock, rig.sched);
    expect(results).toEqual([{ res: null, err: "timeout", t: 247000 }]);
  });

  it("NON request gets a NON response, or times out after MAX_TRANSMIT_WAIT", () => {
    const rig = new Rig();
    const results: Result[] = [];
    rig.ep.request(NON, GET, [], null, collect(rig, results));
    const req = rig.last();
    expect(req.type).toBe(NON);
    rig.rx({ type: NON, code: CONTENT, mid: 5, token: req.token });
    expect(results[0].res!.code).toBe(CONTENT);
    rig.ep.request(NON, GET, [], null, collect(rig, results));
    runUntilIdle(rig.clock, rig.sched);
    expect(results[1]).toMatchObject({ err: "timeout", t: 93000 });
  });

  it("RST ends a CON or NON request with 'reset'", () => {
    const rig = new Rig();
    const results: Result[] = [];
    rig.ep.request(CON, GET, [], null, collect(rig, results));
    rig.rx({ type: RST, code: 0, mid: rig.last().mid, token: new Uint8Array(0) });
    rig.ep.request(NON, GET, [], null, collect(rig, results));
    rig.rx({ type: RST, code: 0, mid: rig.last().mid, token: new Uint8Array(0) });
    expect(results.map((r) => r.err)).toEqual(["reset", "reset"]);
  });

  it("unknown-token CON response and CoAP ping are answered with RST; unknown NON is ignored", () => {
    const rig = new Rig();
    rig.rx({ type: CON, code: CONTENT, mid: 100, token: new Uint8Array([7, 7]) });
    expect(rig.last()).toMatchObject({ type: RST, code: 0, mid: 100 });
    rig.rx({ type: CON, code: 0, mid: 101, token: new Uint8Array(0) });
    expect(rig.last()).toMatchObject({ type: RST, mid: 101 });
    rig.rx({ type: NON, code: CONTENT, mid: 102, token: new Uint8Array([7]) });
    expect(rig.sent).toHaveLength(2);
  });

  it("message IDs increment and tokens differ", () => {
    const rig = new Rig();
    for (let i = 0; i < 3; i++) {
      rig.ep.request(CON, GET, [], null, () => {});
      const m = rig.last();
      rig.rx({ type: ACK, code: CONTENT, mid: m.mid, token: m.token });
    }
    const [a, b, c] = rig.take();
    expect(b.mid).toBe((a.mid + 1) & 0xffff);
    expect(c.mid).toBe((b.mid + 1) & 0xffff);
    expect(Buffer.from(a.token).equals(Buffer.from(b.token))).toBe(false);
  });
});

describe("NSTART = 1", () => {
  it("queues requests while one is outstanding", () => {
    const rig = new Rig();
    const order: string[] = [];
    const ids = ["a", "b", "c", "d"].map((name) =>
      rig.ep.request(CON, POST, [], text(name), (res, err) => order.push(name + ":" + (err || untext(res!.payload)))),
    );
    expect(rig.sent).toHaveLength(1);
    cancelRequest(rig.ep, ids[2]); // a queued request is dropped silently
    const a = rig.last();
    expect(untext(a.payload)).toBe("a");
    rig.rx({ type: ACK, code: CHANGED, mid: a.mid, token: a.token, payload: text("A") });
    expect(rig.sent).toHaveLength(2);
    const b = rig.last();
    expect(untext(b.payload)).toBe("b");
    // An empty ACK ends the outstanding interaction: d starts while b waits for its response.
    rig.rx({ type: ACK, code: 0, mid: b.mid, token: new Uint8Array(0) });
    expect(rig.sent).toHaveLength(3);
    const d = rig.last();
    expect(untext(d.payload)).toBe("d");
    rig.rx({ type: ACK, code: CHANGED, mid: d.mid, token: d.token, payload: text("D") });
    rig.rx({ type: CON, code: CHANGED, mid: 500, token: b.token, payload: text("B") });
    expect(order).toEqual(["a:A", "d:D", "b:B"]);
  });

  it("cancel of the active request starts the next one and silences the first", () => {
    const rig = new Rig();
    const results: string[] = [];
    const first = rig.ep.request(CON, GET, [], null, () => results.push("first"));
    rig.ep.request(CON, GET, [], null, () => results.push("second"));
    const m1 = rig.last();
    cancelRequest(rig.ep, first);
    expect(rig.sent).toHaveLength(2);
    rig.rx({ type: ACK, code: CONTENT, mid: m1.mid, token: m1.token });
    const m2 = rig.last();
    rig.rx({ type: ACK, code: CONTENT, mid: m2.mid, token: m2.token });
    expect(results).toEqual(["second"]);
  });

  it("close() fails pending and queued requests with 'closed' and stops timers", () => {
    const rig = new Rig();
    const errs: (string | null)[] = [];
    rig.ep.request(CON, GET, [], null, (_r, e) => errs.push(e));
    rig.ep.request(CON, GET, [], null, (_r, e) => errs.push(e));
    rig.ep.close();
    expect(errs).toEqual(["closed", "closed"]);
    expect(rig.sched.nextDelay()).toBe(-1); // no timer left
    rig.ep.request(CON, GET, [], null, (_r, e) => errs.push(e));
    expect(errs).toHaveLength(3);
    expect(rig.sent).toHaveLength(1);
  });

  it("a throwing handler does not break the endpoint", () => {
    const rig = new Rig();
    rig.ep.request(CON, GET, [], null, () => {
      throw new Error("app bug");
    });
    const results: string[] = [];
    rig.ep.request(CON, GET, [], null, () => results.push("ok"));
    const m1 = rig.last();
    rig.rx({ type: ACK, code: CONTENT, mid: m1.mid, token: m1.token });
    const m2 = rig.last();
    rig.rx({ type: ACK, code: CONTENT, mid: m2.mid, token: m2.token });
    expect(results).toEqual(["ok"]);
  });
});

describe("two endpoints over a perfect link", () => {
  function pair() {
    const clock = new VirtualClock();
    const sched = new Scheduler(clock);
    const rnd = seededRandom(7);
    const link = new SimLink(sched, rnd, { minDelay: 10, maxDelay: 10 });
    const client = new CoapEndpoint(link.a, sched, rnd);
    const server = new CoapEndpoint(link.b, sched, rnd);
    link.a.onReceive = (d) => client.receive(d);
    link.b.onReceive = (d) => server.receive(d);
    return { clock, sched, link, client, server };
  }
  const kinds = (link: SimLink) =>
    link.records.map((r) => {
      const m = decodeMessage(r.bytes);
      return r.from + ":" + ["CON", "NON", "ACK", "RST"][m.type] + ":" + m.code.toString(16);
    });

  it("synchronous respond() is piggy-backed", () => {
    const p = pair();
    p.server.onRequest = (ex: Exchange) => ex.respond(CONTENT, [], text("now"));
    const results: string[] = [];
    p.client.request(CON, GET, [], null, (res) => results.push(untext(res!.payload)));
    runUntilIdle(p.clock, p.sched);
    expect(results).toEqual(["now"]);
    expect(kinds(p.link)).toEqual(["a:CON:1", "b:ACK:45"]);
  });

  it("respond() shortly after is still piggy-backed", () => {
    const p = pair();
    p.server.onRequest = (ex: Exchange) => void p.sched.after(100, () => ex.respond(CONTENT));
    p.client.request(CON, GET, [], null, () => {});
    runUntilIdle(p.clock, p.sched);
    expect(kinds(p.link)).toEqual(["a:CON:1", "b:ACK:45"]);
  });

  it("a slow respond() goes as a separate CON after an empty ACK", () => {
    const p = pair();
    p.server.onRequest = (ex: Exchange) => void p.sched.after(5000, () => ex.respond(CONTENT, [], text("later")));
    const results: Result[] = [];
    p.client.request(CON, GET, [], null, collect(p, results));
    runUntilIdle(p.clock, p.sched);
    expect(kinds(p.link)).toEqual(["a:CON:1", "b:ACK:0", "b:CON:45", "a:ACK:0"]);
    expect(untext(results[0].res!.payload)).toBe("later");
    expect(results[0].t).toBe(5020);
  });

  it("an Observe notification is acknowledged; RST cancels the observation", () => {
    const p = pair();
    const done: boolean[] = [];
    const cancelled: string[] = [];
    p.server.onObserveCancel = (tok) => cancelled.push(Buffer.from(tok).toString("hex"));
    p.client.onRequest = null;
    p.server.notify(new Uint8Array([0xab]), [], text("1"), true, (ok) => done.push(ok));
    runUntilIdle(p.clock, p.sched);
    // The client has no such token: a CON notification it does not know is rejected with RST.
    expect(kinds(p.link)).toEqual(["b:CON:45", "a:RST:0"]);
    expect(done).toEqual([false]);
    expect(cancelled).toEqual(["ab"]);
  });
});

describe("notifications (raw peer)", () => {
  it("CON notification: ACK completes it", () => {
    const rig = new Rig();
    const done: boolean[] = [];
    const opts: any[] = [];
    const m: CoapMessage = { type: CON, code: CONTENT, mid: 0, token: new Uint8Array(0), options: opts, payload: null };
    addOption(m, 6, new Uint8Array([3]));
    rig.ep.notify(new Uint8Array([1, 2]), m.options, text("v"), true, (ok) => done.push(ok));
    const n = rig.last();
    expect(n).toMatchObject({ type: CON, code: CONTENT });
    expect(n.options[0].num).toBe(6);
    rig.rx({ type: ACK, code: 0, mid: n.mid, token: new Uint8Array(0) });
    expect(done).toEqual([true]);
    runUntil(rig.clock, rig.sched, 60000);
    expect(rig.sent).toHaveLength(1);
  });

  it("NON notification: RST reports the observe cancel", () => {
    const rig = new Rig();
    const cancelled: number[][] = [];
    rig.ep.onObserveCancel = (t) => cancelled.push(Array.from(t));
    const done: boolean[] = [];
    rig.ep.notify(new Uint8Array([5]), [], text("v"), false, (ok) => done.push(ok));
    expect(done).toEqual([true]);
    rig.rx({ type: RST, code: 0, mid: rig.last().mid, token: new Uint8Array(0) });
    expect(cancelled).toEqual([[5]]);
  });

  it("a newer CON notification supersedes one in flight", () => {
    const rig = new Rig({}, () => 0);
    const done: string[] = [];
    const tok = new Uint8Array([1]);
    rig.ep.notify(tok, [], text("old"), true, (ok) => done.push("old:" + ok));
    runUntil(rig.clock, rig.sched, 2500); // one retransmission of "old"
    rig.ep.notify(tok, [], text("new"), true, (ok) => done.push("new:" + ok));
    expect(done).toEqual(["old:false"]);
    runUntil(rig.clock, rig.sched, 10000);
    const payloads = rig.sent.map((s) => untext(s.msg.payload));
    expect(payloads).toEqual(["old", "old", "new", "new"]); // new continues the back-off: 2500 + 4000
    expect(rig.sent[3].time).toBe(6500);
  });
});

describe("robustness", () => {
  it("malformed datagrams are dropped; a malformed CON gets RST; nothing throws", () => {
    const rig = new Rig();
    rig.ep.receive(new Uint8Array([1, 2]));
    rig.ep.receive(new Uint8Array([0x40, 0x01, 0x00, 0x09, 0xf1]));
    expect(rig.take()).toEqual([expect.objectContaining({ type: RST, mid: 9 })]);
    rig.ep.receive(new Uint8Array([0x50, 0x01, 0x00, 0x0a, 0xff]));
    expect(rig.sent).toHaveLength(0);
  });

  it("fuzzed datagrams never throw out of receive()", () => {
    const rng = seededRandom(99);
    const rig = new Rig();
    rig.ep.onRequest = (ex) => ex.respond(CONTENT, [], new Uint8Array(2000));
    rig.ep.request(CON, GET, [], null, () => {});
    const base = encodeMessage({ type: CON, code: GET, mid: 1, token: new Uint8Array([1]), options: [], payload: text("x") });
    for (let i = 0; i < 3000; i++) {
      const b = i % 3 === 0 ? new Uint8Array(base) : new Uint8Array(Math.floor(rng() * 30));
      if (i % 3 === 0) b[Math.floor(rng() * b.length)] = Math.floor(rng() * 256);
      else for (let j = 0; j < b.length; j++) b[j] = Math.floor(rng() * 256);
      if (i % 2 && b.length) b[0] = (b[0] & 0x3f) | 0x40;
      expect(() => rig.ep.receive(b)).not.toThrow();
      if (i % 100 === 0) runUntil(rig.clock, rig.sched, rig.clock.now() + 1000);
    }
  });
});
