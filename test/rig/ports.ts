// Free loopback ports, picked at run time by letting the OS choose (bind to port 0).
// A port handed out once by this process is never handed out again, so two
// servers started by the same run cannot be given the same number.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

export const LOOPBACK = "127.0.0.1";

const handedOut = new Set<number>();

function udpCandidate(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, LOOPBACK, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

function tcpCandidate(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when the port can be bound right now on loopback for this protocol. */
export function canBind(kind: "udp" | "tcp", port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === "udp") {
      const s = createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(port, LOOPBACK, () => s.close(() => resolve(true)));
    } else {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, LOOPBACK, () => srv.close(() => resolve(true)));
    }
  });
}

/** A free loopback port for `kind`; with `both`, free for UDP and TCP alike. */
export async function freePort(kind: "udp" | "tcp" | "both" = "udp"): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = kind === "tcp" ? await tcpCandidate() : await udpCandidate();
    if (handedOut.has(port)) continue;
    if (kind === "both" && !(await canBind("tcp", port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free loopback ${kind} port after 50 attempts`);
}

export const freeUdpPort = (): Promise<number> => freePort("udp");
export const freeTcpPort = (): Promise<number> => freePort("tcp");

/** n distinct free ports of one kind. */
export async function freePorts(n: number, kind: "udp" | "tcp" | "both" = "udp"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await freePort(kind));
  return out;
}
