// Shared fixtures for the CoAP tests: a virtual clock, a scheduler and capturing transports.
import { Scheduler } from "../../../firmware/lib/scheduler";
import { CoapEndpoint, CoapParams } from "../../../firmware/coap/endpoint";
import { CoapMessage, CON, GET, decodeMessage, encodeMessage } from "../../../firmware/coap/message";
import { VirtualClock } from "../../sim/clock";
import { seededRandom } from "../../sim/network";

export interface Sent {
  time: number;
  bytes: Uint8Array;
  msg: CoapMessage;
}

/** One endpoint whose transport records what it sends; tests inject datagrams with rx(). */
export class Rig {
  clock = new VirtualClock();
  sched = new Scheduler(this.clock);
  sent: Sent[] = [];
  ep: CoapEndpoint;

  constructor(params?: Partial<CoapParams>, random: () => number = seededRandom(1)) {
    const transport = { send: (b: Uint8Array) => this.sent.push({ time: this.clock.now(), bytes: new Uint8Array(b), msg: decodeMessage(new Uint8Array(b)) }) };
    this.ep = new CoapEndpoint(transport, this.sched, random, params);
  }

  rx(m: Partial<CoapMessage>): void {
    this.ep.receive(encodeMessage(message(m)));
  }

  last(): CoapMessage {
    return this.sent[this.sent.length - 1].msg;
  }

  take(): CoapMessage[] {
    const out = this.sent.map((s) => s.msg);
    this.sent = [];
    return out;
  }
}

export function message(partial: Partial<CoapMessage>): CoapMessage {
  return { type: CON, code: GET, mid: 1, token: new Uint8Array([1, 2]), options: [], payload: null, ...partial };
}

export function bytes(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 255;
  return b;
}

export const text = (s: string) => new TextEncoder().encode(s);
export const untext = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : "");
