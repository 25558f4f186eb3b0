// A capturing UDP relay on loopback: the meter talks to the relay, the relay to the real
// server, and every datagram is recorded with its direction and size. This is how the
// bench and the scenarios count what a meter puts on the air (what a sniffer on the radio
// link would see: the datagrams, not the IP/UDP headers).
import { createSocket, type Socket } from "node:dgram";
import { LOOPBACK } from "./ports.ts";

export interface CapturedDatagram {
  direction: "up" | "down"; // up: meter -> server
  bytes: number;
  at: number;
  data: Buffer;
}

export interface UdpCapture {
  port: number;
  uri: string;
  datagrams: CapturedDatagram[];
  totals(): { up: number; down: number; upBytes: number; downBytes: number };
  reset(): void;
  stop(): Promise<void>;
}

/** Relays datagrams between meters and 127.0.0.1:targetPort; one upstream socket per meter. */
export async function startUdpCapture(targetPort: number, scheme = "coap"): Promise<UdpCapture> {
  const front = createSocket("udp4");
  const upstreams = new Map<string, Socket>();
  const datagrams: CapturedDatagram[] = [];

  const upstreamFor = (address: string, port: number): Socket => {
    const key = `${address}:${port}`;
    let s = upstreams.get(key);
    if (!s) {
      s = createSocket("udp4");
      s.on("message", (msg) => {
        datagrams.push({ direction: "down", bytes: msg.length, at: Date.now(), data: Buffer.from(msg) });
        front.send(msg, port, address);
      });
      s.bind(0, LOOPBACK);
      upstreams.set(key, s);
    }
    return s;
  };

  front.on("message", (msg, rinfo) => {
    datagrams.push({ direction: "up", bytes: msg.length, at: Date.now(), data: Buffer.from(msg) });
    upstreamFor(rinfo.address, rinfo.port).send(msg, targetPort, LOOPBACK);
  });
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.bind(0, LOOPBACK, () => resolve());
  });
  const port = front.address().port;

  return {
    port,
    uri: `${scheme}://${LOOPBACK}:${port}`,
    datagrams,
    totals() {
      const t = { up: 0, down: 0, upBytes: 0, downBytes: 0 };
      for (const d of datagrams) {
        if (d.direction === "up") { t.up++; t.upBytes += d.bytes; } else { t.down++; t.downBytes += d.bytes; }
      }
      return t;
    },
    reset() {
      datagrams.length = 0;
    },
    async stop() {
      for (const s of upstreams.values()) s.close();
      upstreams.clear();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}
