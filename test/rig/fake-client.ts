// A scripted LwM2M client for checking the rig itself against Leshan, without the meter:
// just enough CoAP (RFC 7252, NoSec, no block-wise) to bootstrap, register, answer a
// Read of /3/0 in TLV and de-register. It is not a reference for the firmware.
import { createSocket, type Socket } from "node:dgram";
import { LOOPBACK } from "./ports.ts";

const CON = 0, ACK = 2;
const OPT_LOCATION_PATH = 8, OPT_URI_PATH = 11, OPT_CONTENT_FORMAT = 12, OPT_URI_QUERY = 15, OPT_ACCEPT = 17;
const CF_LINK = 40, CF_TLV = 11542;

export interface CoapMessage {
  type: number;
  code: number; // class*32 + detail
  mid: number;
  token: Buffer;
  options: [number, Buffer][];
  payload: Buffer;
}

export const code = (cls: number, detail: number): number => cls * 32 + detail;
export const codeText = (c: number): string => `${c >> 5}.${String(c & 31).padStart(2, "0")}`;

function uint(n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from(bytes);
}

function nibble(v: number): [number, Buffer] {
  if (v < 13) return [v, Buffer.alloc(0)];
  if (v < 269) return [13, Buffer.from([v - 13])];
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v - 269);
  return [14, b];
}

export function encodeCoap(m: CoapMessage): Buffer {
  const parts: Buffer[] = [Buffer.from([0x40 | (m.type << 4) | m.token.length, m.code, m.mid >> 8, m.mid & 0xff]), m.token];
  let prev = 0;
  for (const [num, val] of [...m.options].sort((a, b) => a[0] - b[0])) {
    const [d, dx] = nibble(num - prev);
    const [l, lx] = nibble(val.length);
    parts.push(Buffer.from([(d << 4) | l]), dx, lx, val);
    prev = num;
  }
  if (m.payload.length) parts.push(Buffer.from([0xff]), m.payload);
  return Buffer.concat(parts);
}

export function decodeCoap(b: Buffer): CoapMessage {
  const tkl = b[0] & 15;
  const m: CoapMessage = { type: (b[0] >> 4) & 3, code: b[1], mid: b.readUInt16BE(2), token: b.subarray(4, 4 + tkl), options: [], payload: Buffer.alloc(0) };
  let i = 4 + tkl;
  let num = 0;
  const ext = (v: number): number => {
    if (v === 13) return b[i++] + 13;
    if (v === 14) {
      const x = b.readUInt16BE(i) + 269;
      i += 2;
      return x;
    }
    return v;
  };
  while (i < b.length) {
    if (b[i] === 0xff) {
      m.payload = b.subarray(i + 1);
      break;
    }
    const h = b[i++];
    num += ext(h >> 4);
    const len = ext(h & 15);
    m.options.push([num, b.subarray(i, i + len)]);
    i += len;
  }
  return m;
}

const opt = (m: CoapMessage, n: number): Buffer[] => m.options.filter(([k]) => k === n).map(([, v]) => v);
const pathOf = (m: CoapMessage): string => "/" + opt(m, OPT_URI_PATH).map((b) => b.toString()).join("/");

/** TLV for resources of one instance: {id: string | number}. */
export function tlvResources(res: Record<number, string | number>): Buffer {
  const out: Buffer[] = [];
  for (const [k, v] of Object.entries(res)) {
    const id = Number(k);
    const val = typeof v === "number" ? Buffer.from([v & 0xff]) : Buffer.from(v);
    const idLong = id > 255;
    let type = 0xc0 | (idLong ? 0x20 : 0);
    const lenBytes: number[] = [];
    if (val.length < 8) type |= val.length;
    else if (val.length < 256) {
      type |= 0x08;
      lenBytes.push(val.length);
    } else {
      type |= 0x10;
      lenBytes.push(val.length >> 8, val.length & 0xff);
    }
    out.push(Buffer.from([type]), idLong ? Buffer.from([id >> 8, id & 0xff]) : Buffer.from([id]), Buffer.from(lenBytes), val);
  }
  return Buffer.concat(out);
}

export interface ReceivedRequest {
  method: string;
  path: string;
  contentFormat?: number;
  payload: Buffer;
  answered: string;
}

export class FakeLwm2mClient {
  readonly received: ReceivedRequest[] = [];
  private sock: Socket;
  private mid = Math.floor(Math.random() * 65535);
  private pending = new Map<number, (m: CoapMessage) => void>();
  private finishWaiters: (() => void)[] = [];
  device: Record<number, string | number> = { 0: "Rig Fake Meters", 1: "fake-client", 2: "0001", 3: "1.0" };
  location = "";

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on("message", (buf, rinfo) => this.onMessage(decodeCoap(buf), rinfo.port, rinfo.address));
  }

  static async create(): Promise<FakeLwm2mClient> {
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, LOOPBACK, () => r()));
    return new FakeLwm2mClient(sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  close(): void {
    this.sock.close();
  }

  private onMessage(m: CoapMessage, port: number, address: string): void {
    if (m.type === ACK || (m.code >= 64 && m.type !== CON)) {
      const w = this.pending.get(m.mid);
      if (w) {
        this.pending.delete(m.mid);
        w(m);
      }
      return;
    }
    if (m.code >= 64 || m.code === 0) return;
    const method = ["", "GET", "POST", "PUT", "DELETE"][m.code] ?? `0.${m.code}`;
    const path = pathOf(m);
    const cf = opt(m, OPT_CONTENT_FORMAT)[0];
    let rc = code(2, 4);
    let payload: Buffer = Buffer.alloc(0);
    const options: [number, Buffer][] = [];
    if (method === "DELETE") rc = code(2, 2);
    else if (method === "PUT") rc = code(2, 4);
    else if (method === "POST" && path === "/bs") {
      rc = code(2, 4);
      setImmediate(() => this.finishWaiters.splice(0).forEach((f) => f()));
    } else if (method === "GET" && path === "/3/0") {
      const accept = opt(m, OPT_ACCEPT)[0];
      if (accept && accept.readUIntBE(0, accept.length) !== CF_TLV) rc = code(4, 6);
      else {
        rc = code(2, 5);
        payload = tlvResources(this.device);
        options.push([OPT_CONTENT_FORMAT, uint(CF_TLV)]);
      }
    } else if (method === "GET") {
      rc = code(2, 5);
      payload = Buffer.from('lwm2m="1.1",</0/0>,</1>,</3/0>');
      options.push([OPT_CONTENT_FORMAT, uint(CF_LINK)]);
    } else if (method === "POST") rc = code(2, 4); // Execute
    else rc = code(4, 5);
    this.received.push({ method, path, contentFormat: cf ? cf.readUIntBE(0, cf.length) : undefined, payload: m.payload, answered: codeText(rc) });
    const reply = encodeCoap({ type: ACK, code: rc, mid: m.mid, token: m.token, options, payload });
    this.sock.send(reply, port, address);
  }

  /** Sends a CON request and resolves with the piggybacked response. */
  request(uri: string, method: "GET" | "POST" | "PUT" | "DELETE", path: string[], query: string[] = [], payload = Buffer.alloc(0), contentFormat?: number): Promise<CoapMessage> {
    const u = new URL(uri);
    const mid = (this.mid = (this.mid + 1) & 0xffff);
    const options: [number, Buffer][] = [];
    for (const p of path) options.push([OPT_URI_PATH, Buffer.from(p)]);
    for (const q of query) options.push([OPT_URI_QUERY, Buffer.from(q)]);
    if (contentFormat !== undefined) options.push([OPT_CONTENT_FORMAT, uint(contentFormat)]);
    const msg = encodeCoap({ type: CON, code: ["", "GET", "POST", "PUT", "DELETE"].indexOf(method), mid, token: Buffer.from([1, 2, 3, mid & 0xff]), options, payload });
    return new Promise((resolve, reject) => {
      let tries = 0;
      const send = () => this.sock.send(msg, Number(u.port), u.hostname);
      const timer = setInterval(() => {
        if (++tries > 4) {
          clearInterval(timer);
          this.pending.delete(mid);
          reject(new Error(`no response to ${method} ${uri}/${path.join("/")}`));
        } else send();
      }, 2000);
      this.pending.set(mid, (m) => {
        clearInterval(timer);
        resolve(m);
      });
      send();
    });
  }

  /** Bootstrap-Request, then waits for Bootstrap-Finish. */
  async bootstrap(bsUri: string, ep: string): Promise<void> {
    const finished = new Promise<void>((r) => this.finishWaiters.push(r));
    const res = await this.request(bsUri, "POST", ["bs"], [`ep=${ep}`]);
    if (res.code !== code(2, 4)) throw new Error(`Bootstrap-Request answered ${codeText(res.code)}`);
    await finished;
  }

  async register(serverUri: string, ep: string, lifetime = 60): Promise<string> {
    const res = await this.request(serverUri, "POST", ["rd"], [`ep=${ep}`, `lt=${lifetime}`, "lwm2m=1.1", "b=U"], Buffer.from("</1/0>,</3/0>"), CF_LINK);
    if (res.code !== code(2, 1)) throw new Error(`Register answered ${codeText(res.code)}`);
    this.location = "/" + opt(res, OPT_LOCATION_PATH).map((b) => b.toString()).join("/");
    return this.location;
  }

  async deregister(serverUri: string): Promise<void> {
    const res = await this.request(serverUri, "DELETE", this.location.split("/").filter(Boolean));
    if (res.code !== code(2, 2)) throw new Error(`De-register answered ${codeText(res.code)}`);
  }
}
