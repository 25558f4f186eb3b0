// A TCP window onto the console of a device process the rig started (the host meter: stdin and
// stdout), so a tool that reaches consoles over TCP (build/provision.ts --tcp, as it reaches
// QEMU's -serial tcp:...) can drive a meter that stays under the rig's control: same process,
// stopped by PID by the rig, every output line still in RigProcess.lines / Dut.logs() and its
// log file. One TCP client at a time, loopback only.
//
// What the client sends is noted in the process's log file as "> [tcp] <line>", with the value
// of secret-bearing commands (set psk-key, set key, and the PEM lines after `set key pem`)
// replaced by <secret>: the rig logs never hold key material.
import { createServer, type Server, type Socket } from "node:net";
import { freeTcpPort, LOOPBACK } from "./ports.ts";
import type { RigProcess } from "./processes.ts";

export interface ConsoleBridge {
  host: string;
  port: number;
  /** "127.0.0.1:PORT", as build/provision.ts --tcp takes it. */
  address: string;
  /** Closes the listening socket and any client connection. */
  stop(): Promise<void>;
}

/** Redacts console input lines for the log, keeping state across lines for PEM blocks. */
export function inputRedactor(): (line: string) => string {
  let inSecretPem = false;
  return (line: string) => {
    if (inSecretPem) {
      if (/^-----END /.test(line.trim())) inSecretPem = false;
      return /^-----(BEGIN|END) /.test(line.trim()) ? line : "<secret>";
    }
    const m = /^(\s*set\s+(?:psk-key|key))\s+(\S+)(.*)$/.exec(line);
    if (!m) return line;
    if (m[2] === "pem") {
      inSecretPem = true;
      return line;
    }
    return `${m[1]} <secret>${m[3]}`;
  };
}

export async function bridgeConsole(proc: RigProcess): Promise<ConsoleBridge> {
  const stdin = proc.child.stdin;
  const stdout = proc.child.stdout;
  if (!stdin || !stdout) throw new Error(`${proc.name}: no console pipes (spawned with stdin "pipe"?)`);
  const port = await freeTcpPort();
  let client: Socket | null = null;
  const forward = (chunk: string | Buffer) => {
    if (client && !client.destroyed) client.write(chunk);
  };
  stdout.on("data", forward);
  const server: Server = createServer((sock) => {
    if (client && !client.destroyed) {
      sock.end("console busy\n");
      return;
    }
    client = sock;
    const redact = inputRedactor();
    let partial = "";
    sock.setNoDelay(true);
    sock.on("data", (d: Buffer) => {
      const text = d.toString("latin1");
      const parts = (partial + text).split("\n");
      partial = parts.pop()!;
      for (const l of parts) proc.note(`> [tcp] ${redact(l.replace(/\r$/, ""))}`);
      if (proc.running) stdin.write(d);
    });
    sock.on("error", () => undefined);
    sock.on("close", () => {
      if (client === sock) client = null;
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOOPBACK, () => resolve());
  });
  return {
    host: LOOPBACK,
    port,
    address: `${LOOPBACK}:${port}`,
    async stop() {
      stdout.off("data", forward);
      client?.destroy();
      client = null;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
