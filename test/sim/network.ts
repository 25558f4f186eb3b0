// A simulated datagram link between two ports, driven by a firmware Scheduler on a virtual clock.
// Every datagram is copied, then dropped, duplicated, delayed and (through random delays or an
// explicit reorder hold-back) reordered according to LinkConditions, using a seeded RNG so a
// failing run replays from its seed. Every send is recorded for byte counting.
//
//   const rng = seededRandom(seed);
//   const link = new SimLink(sched, rng, { drop: 0.2, duplicate: 0.1, minDelay: 5, maxDelay: 50 });
//   const device = new CoapEndpoint(link.a, sched, rng);   // a and b are Transports
//   link.b.onReceive = (d) => server.receive(d);
//   link.a.onReceive = (d) => device.receive(d);
import type { Scheduler } from "../../firmware/lib/scheduler";

export interface LinkConditions {
  /** Probability that a datagram is lost. */
  drop: number;
  /** Probability that a delivered datagram arrives twice (the copy gets its own delay). */
  duplicate: number;
  /** One-way delay range in ms, uniformly distributed. */
  minDelay: number;
  maxDelay: number;
  /** Probability that a datagram is held back by an extra `reorderDelay` ms. */
  reorder: number;
  reorderDelay: number;
  /** When false, everything sent is lost (link down / out of coverage). */
  up: boolean;
}

export interface DatagramRecord {
  time: number;
  from: "a" | "b";
  bytes: Uint8Array;
  /** How many copies were (or will be) delivered: 0 when dropped, 2 when duplicated. */
  copies: number;
}

/** mulberry32: small, fast, good enough for simulations; returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return function () {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from the environment (SIM_SEED) or the time; print it so a failure can be replayed. */
export function pickSeed(): number {
  const env = typeof process !== "undefined" ? process.env.SIM_SEED : undefined;
  return env ? Number(env) >>> 0 : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0;
}

const PERFECT: LinkConditions = { drop: 0, duplicate: 0, minDelay: 0, maxDelay: 0, reorder: 0, reorderDelay: 0, up: true };

export class SimPort {
  /** Called for every datagram delivered to this port. */
  onReceive: ((bytes: Uint8Array) => void) | null = null;

  constructor(private link: SimLink, readonly name: "a" | "b") {}

  send(bytes: Uint8Array): void {
    this.link.transmit(this, bytes);
  }
}

export class SimLink {
  readonly a: SimPort;
  readonly b: SimPort;
  readonly records: DatagramRecord[] = [];
  conditions: LinkConditions;

  constructor(private scheduler: Scheduler, private random: () => number, conditions?: Partial<LinkConditions>) {
    this.a = new SimPort(this, "a");
    this.b = new SimPort(this, "b");
    this.conditions = { ...PERFECT, ...conditions };
  }

  setConditions(c: Partial<LinkConditions>): void {
    this.conditions = { ...this.conditions, ...c };
  }

  /** Bytes (or datagrams, with count=true) sent from one side, including dropped ones. */
  sentBy(from: "a" | "b", count = false): number {
    let n = 0;
    for (const r of this.records) if (r.from === from) n += count ? 1 : r.bytes.length;
    return n;
  }

  transmit(from: SimPort, bytes: Uint8Array): void {
    const c = this.conditions;
    const copy = new Uint8Array(bytes);
    const to = from === this.a ? this.b : this.a;
    let copies = 0;
    if (c.up && this.random() >= c.drop) copies = this.random() < c.duplicate ? 2 : 1;
    this.records.push({ time: this.scheduler.now(), from: from.name, bytes: copy, copies });
    for (let i = 0; i < copies; i++) {
      let delay = c.minDelay + this.random() * (c.maxDelay - c.minDelay);
      if (this.random() < c.reorder) delay += c.reorderDelay;
      // Each delivery gets its own buffer: receivers may keep views into it.
      const data = i === 0 ? copy : new Uint8Array(copy);
      this.scheduler.after(Math.round(delay), () => {
        if (to.onReceive) to.onReceive(data);
      });
    }
  }
}
