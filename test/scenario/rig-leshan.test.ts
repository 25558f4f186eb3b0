// The rig itself against Leshan, without the meter: Leshan's bootstrap server (through our
// launcher) and the Leshan server demo, driven by libcoap's coap-client and by a scripted
// CoAP client. When a meter scenario fails, this file tells whether the rig is at fault.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeLwm2mClient } from "../rig/fake-client.ts";
import { hex, nosecConfig, resourceValue, startLeshanBootstrap, startLeshanServer, type LeshanBootstrap, type LeshanServer } from "../rig/leshan.ts";
import { spawnLogged, stopAll } from "../rig/processes.ts";

describe("rig: Leshan bootstrap server and server (no meter)", () => {
  let bs: LeshanBootstrap;
  let srv: LeshanServer;

  beforeAll(async () => {
    [bs, srv] = await Promise.all([startLeshanBootstrap({ name: "selftest-bootstrap" }), startLeshanServer({ name: "selftest-server" })]);
  });

  afterAll(async () => {
    await bs?.stop();
    await srv?.stop();
    await stopAll();
  });

  it("the launcher answers /health with the ports it listens on", async () => {
    const h = await bs.health();
    expect(h).toEqual({ ok: true, coap: bs.coapPort, coaps: bs.coapsPort });
  });

  it("a Bootstrap-Request from coap-client is recorded in /sessions", async () => {
    await bs.setConfig("coap-client-1", nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri }));
    const p = spawnLogged("selftest-coap-client", ["coap-client-notls", "-m", "post", "-B", "5", `${bs.coapUri}/bs?ep=coap-client-1`]);
    await p.exited;
    // coap-client does not answer the bootstrap writes: the session starts and later fails.
    const sessions = await bs.waitForSessions("coap-client-1", (s) => s.length > 0 && s[0].requests.length > 0, { timeoutMs: 30_000 });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ endpoint: "coap-client-1", authorized: true, secure: false });
    expect(sessions[0].requests[0]).toMatchObject({ kind: "delete", path: "/0" });
  });

  it("a Bootstrap-Request without a configuration fails with NO_BOOTSTRAP_CONFIG", async () => {
    const p = spawnLogged("selftest-coap-client-noconfig", ["coap-client-notls", "-m", "post", "-B", "5", `${bs.coapUri}/bs?ep=unknown-ep`]);
    await p.exited;
    const s = await bs.waitForSessionEnd("unknown-ep", { timeoutMs: 30_000 });
    expect(s).toMatchObject({ state: "failed", failure: "NO_BOOTSTRAP_CONFIG" });
  });

  it("a PSK bootstrap account: DTLS-PSK Bootstrap-Request (coap-client-gnutls) accepted, plain CoAP refused", async () => {
    const cfg = nosecConfig({ bootstrapUri: bs.coapsUri, serverUri: srv.coapUri });
    cfg.security![0] = { uri: bs.coapsUri, bootstrapServer: true, securityMode: "PSK", publicKeyOrId: hex("rig-psk-id"), secretKey: hex("rig-secret-0001") };
    await bs.setConfig("psk-1", cfg);
    const dtls = spawnLogged("selftest-coap-client-psk", ["coap-client-gnutls", "-m", "post", "-B", "5", "-u", "rig-psk-id", "-k", "rig-secret-0001", `${bs.coapsUri}/bs?ep=psk-1`]);
    await dtls.exited;
    const plain = spawnLogged("selftest-coap-client-psk-plain", ["coap-client-notls", "-m", "post", "-B", "5", `${bs.coapUri}/bs?ep=psk-1`]);
    await plain.exited;
    const sessions = await bs.waitForSessions("psk-1", (s) => s.length === 2);
    expect(sessions.find((s) => s.secure)).toMatchObject({ authorized: true, pskIdentity: "rig-psk-id" });
    expect(sessions.find((s) => !s.secure)).toMatchObject({ authorized: false, state: "failed", failure: "UNAUTHORIZED" });
  });

  it("Leshan's ConfigurationChecker rejects an inconsistent configuration unless it is marked unchecked", async () => {
    const bad = { servers: { 0: { shortId: 55, lifetime: 60 } }, security: {} };
    await expect(bs.setConfig("bad-1", bad)).rejects.toThrow(/no security entry for server instance/);
    await bs.setConfig("bad-1", { ...bad, unchecked: true });
    const c = await FakeLwm2mClient.create();
    try {
      await c.bootstrap(bs.coapUri, "bad-1");
      expect(c.received.map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /1/0", "POST /bs"]);
    } finally {
      c.close();
    }
  });

  it("scripted client: bootstrap, register, Read /3/0 through Leshan's REST API, de-register", async () => {
    const ep = "fake-0001";
    await bs.setConfig(ep, {
      ...nosecConfig({ bootstrapUri: bs.coapUri, serverUri: srv.coapUri, ssid: 101, lifetime: 60 }),
      extraRequests: [{ op: "discover", path: "/" }],
    });
    const c = await FakeLwm2mClient.create();
    try {
      await c.bootstrap(bs.coapUri, ep);
      const s = await bs.waitForSessionEnd(ep);
      expect(s.state).toBe("finished");
      expect(s.requests.map((r) => `${r.kind} ${r.path} ${r.code}`)).toEqual([
        "delete /0 2.02",
        "delete /1 2.02",
        "write /0/0 2.04",
        "write /0/1 2.04",
        "write /1/0 2.04",
        "discover / 2.05",
        "finish /bs 2.04",
      ]);
      expect(s.requests[5].links).toContain("</3/0>");

      const loc = await c.register(srv.coapUri, ep, 60);
      const reg = await srv.waitForClient(ep);
      expect(`/rd/${reg.registrationId}`).toBe(loc);
      expect(reg.lwM2mVersion).toBe("1.1");
      expect(reg.objectLinks.map((l) => l.url)).toContain("/3/0");
      expect((await srv.clients()).map((r) => r.endpoint)).toContain(ep);

      const read = await srv.read(ep, "/3/0", "TLV");
      expect(read.success).toBe(true);
      expect(read.status).toMatch(/^CONTENT/);
      expect(resourceValue(read, 0)).toBe("Rig Fake Meters");
      expect(resourceValue(read, 1)).toBe("fake-client");
      const notAcceptable = await srv.read(ep, "/3/0", "SENML_CBOR");
      expect(notAcceptable).toMatchObject({ success: false, status: "NOT_ACCEPTABLE(406)" });

      const write = await srv.write(ep, "/1/0/1", { id: 1, value: 120 }, { format: "TLV" });
      expect(write).toMatchObject({ success: true, status: "CHANGED(204)" });
      const execute = await srv.execute(ep, "/1/0/8");
      expect(execute).toMatchObject({ success: true, status: "CHANGED(204)" });
      expect(c.received.slice(-2).map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /1/0/1", "POST /1/0/8"]);

      await c.deregister(srv.coapUri);
      await srv.waitForNoClient(ep);
      expect(await srv.client(ep)).toBeUndefined();
    } finally {
      c.close();
    }
  });
});
