// Registration Priority Order (/1/x/13) and Registration Failure Block (/1/x/15).
import { describe, it, expect } from "vitest";
import { provisionedMeter, securityInstance, serverInstance, Meter, PUT, POST, DELETE } from "./helpers";
import { CF_TLV } from "../../../firmware/formats/content-format";

const DM2_PORT = 5693;

/** Two servers: SSID 101 (order 1) on the usual port, SSID 102 (order 2) on DM2_PORT. */
function twoServers(block: boolean, first = 1, second = 2) {
  const m = provisionedMeter();
  const dm2 = m.sim.addServer("127.0.0.1", DM2_PORT);
  m.sim.waitLog("Bootstrap-Request sent");
  m.sim.run(100);
  m.bs.call(DELETE, "/");
  const put = (path: string, payload: Uint8Array | string, format = CF_TLV) => expect(m.bs.call(PUT, path, { format, payload }).code).toBe(0x44);
  put("/0/1", securityInstance(1, m.dm.uri, 101));
  put("/0/2", securityInstance(2, dm2.uri, 102));
  put("/1/0", serverInstance(0, 101));
  put("/1/1", serverInstance(1, 102));
  put("/1/0/13", "" + first, 0);
  put("/1/1/13", "" + second, 0);
  put("/1/0/15", block ? "1" : "0", 0);
  for (const iid of [0, 1]) {
    put(`/1/${iid}/17`, "1", 0);
    put(`/1/${iid}/20`, "1", 0);
  }
  return { m, dm2, finish: () => expect(m.bs.call(POST, "/bs").code).toBe(0x44) };
}

const registers = (srv: Meter["dm"]) => srv.received.filter((r) => r.path === "/rd" && r.code === POST);

describe("Registration Priority Order and Registration Failure Block", () => {
  it("registers in ascending /1/x/13: the second server only after the first succeeded", () => {
    const { m, dm2, finish } = twoServers(false, 2, 1);
    const answer = dm2.handler;
    let held: Parameters<typeof answer> | null = null;
    dm2.handler = (...args) => (held = args); // answered later
    finish();
    m.sim.run(20_000);
    expect(registers(dm2).length).toBe(1);
    expect(registers(m.dm).length).toBe(0);
    dm2.handler = answer;
    answer(...held!);
    const first = m.sim.waitLog(`registration: registered with ${dm2.uri}`);
    const second = m.sim.waitLog(`registration: registered with ${m.dm.uri}`);
    expect(m.sim.logs.indexOf(first)).toBeLessThan(m.sim.logs.indexOf(second));
    expect(registers(m.dm).length).toBe(1);
  });

  it("without the block, a failed first server hands over to the next one", () => {
    const { m, dm2, finish } = twoServers(false);
    m.dm.handler = (req, ex) => ex.respond(0x83);
    finish();
    m.sim.waitLog(`registration: registration with ${m.dm.uri} failed`);
    m.sim.waitLog(`registration: registered with ${dm2.uri}`);
  });

  it("with /1/x/15 true, a failed first server blocks the others and the meter bootstraps", () => {
    const { m, dm2, finish } = twoServers(true);
    m.dm.handler = (req, ex) => ex.respond(0x83);
    finish();
    const bsBefore = m.bs.received.filter((r) => r.path === "/bs").length;
    m.sim.waitLog(`registration: registration with ${m.dm.uri} failed`);
    m.sim.waitLog("no server reachable, bootstrapping");
    m.sim.waitLog("Bootstrap-Request sent");
    expect(registers(dm2).length).toBe(0);
    expect(m.bs.received.filter((r) => r.path === "/bs").length).toBeGreaterThan(bsBefore);
  });
});
