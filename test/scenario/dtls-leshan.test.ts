// Bootstrap and registration over DTLS against Eclipse Leshan: the meter's bootstrap account is
// provisioned over its console (PSK, or X.509 with the bootstrap server's certificate pinned),
// it bootstraps over coaps:// from Leshan's bootstrap server (our launcher), which hands it a
// coaps:// management account with its own key material (Security /0/x/3,4,5,15), and it
// registers with the Leshan server demo over DTLS with that. Checked from Leshan's side (the
// launcher's session log, the demo's /api/clients) and from the meter's (`show credentials`
// shows fingerprints only). A wrong PSK at the management server makes registration fail and
// the meter fall back to a new bootstrap, which hands it working credentials. No key ever shows
// in what the meter printed or in the rig logs.
//
// Named after the OMA LwM2M 1.1 interoperability cases they extend (int-0, int-101, int-7).
// Runs on the rig named by RIG (default host); waits are hang guards, not timing assertions.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDut, loadRig, type Dut } from "../rig/dut.ts";
import {
  leshanSecurityFor,
  resourceValue,
  securedConfig,
  startLeshanBootstrap,
  startLeshanServer,
  type AccountCredential,
  type LeshanBootstrap,
  type LeshanServer,
  type Registration,
} from "../rig/leshan.ts";
import { expectedShown, parseShowCredentials, provisionBootstrapAccount, redactConsoleLog } from "../rig/meter-credentials.ts";
import { makePki, type Pki } from "../rig/pki.ts";
import { logDir, stopAll } from "../rig/processes.ts";

const RIG = process.env.RIG ?? "host";
const SSID = 101;
const BOOTSTRAPPED = "bootstrap: finished, configuration committed";
const registered = (ep: string) => new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${ep}\\)`);
/** The DTLS handshake gives up 93 s after it starts when the peer stays silent (a wrong PSK
 * with Californium), then registration and the fallback bootstrap follow: a generous guard. */
const LONG = 400_000;

function psk(label: string): Extract<AccountCredential, { mode: "psk" }> {
  return { mode: "psk", identity: `${label}-${randomBytes(4).toString("hex")}`, key: randomBytes(16) };
}

/** Secrets of the run, as they could leak: hex (both cases) and, for DER keys, base64 pieces. */
function secretForms(secrets: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const s of secrets) {
    const h = Buffer.from(s).toString("hex");
    out.push(h, h.toUpperCase());
    if (s.length > 48) {
      // a private key's PEM lines (any 64-character line of its base64), and its hex in pieces
      const b64 = Buffer.from(s).toString("base64");
      for (let i = 0; i + 64 <= b64.length; i += 64) out.push(b64.slice(i, i + 64));
      for (let i = 0; i + 64 <= h.length; i += 64) out.push(h.slice(i, i + 64));
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Every place a secret is found: meter output lines and rig log files. */
function leaks(dut: Dut, secrets: Uint8Array[]): string[] {
  const forms = secretForms(secrets);
  const found: string[] = [];
  for (const line of dut.logs()) if (forms.some((f) => line.includes(f))) found.push(`meter output: ${line.slice(0, 120)}`);
  for (const f of filesUnder(logDir)) {
    const text = readFileSync(f, "latin1");
    for (const form of forms) if (text.includes(form)) found.push(`${f}: contains a key (${form.slice(0, 8)}...)`);
  }
  return found;
}

describe(`DTLS with PSK: bootstrap and registration over coaps:// with Leshan (rig ${RIG})`, () => {
  const EP = `meter-psk-${randomBytes(3).toString("hex")}`;
  const REGISTERED = registered(EP);
  const bsCred = psk("bs");
  const srvCred = psk("srv");
  let bs: LeshanBootstrap;
  let srv: LeshanServer;
  let dut: Dut;
  let registration: Registration;
  const secrets: Uint8Array[] = [bsCred.key, srvCred.key];

  beforeAll(async () => {
    const rig = loadRig(RIG);
    [bs, srv] = await Promise.all([startLeshanBootstrap({ name: `${RIG}-dtls-psk-bootstrap` }), startLeshanServer({ name: `${RIG}-dtls-psk-server` })]);
    await srv.addSecurity(leshanSecurityFor(EP, srvCred)!);
    await bs.setConfig(EP, securedConfig({ bootstrapUri: bs.coapsUri, bootstrap: bsCred, serverUri: srv.coapsUri, server: srvCred, ssid: SSID, lifetime: 60 }));
    dut = redactConsoleLog(createDut(rig, { logName: `${RIG}-dtls-psk-meter` }));
    await dut.start();
    await provisionBootstrapAccount(dut, { endpoint: EP, uri: bs.coapsUri, credential: bsCred });
    await dut.reboot();
  });

  afterAll(async () => {
    await dut?.stop();
    await bs?.stop();
    await srv?.stop();
    await stopAll();
  });

  it("LightweightM2M-1.1-int-0 over DTLS-PSK: the bootstrap session is secure, with the provisioned identity", async () => {
    await dut.waitForLog(BOOTSTRAPPED);
    const [session] = await bs.waitForSessions(EP, (s) => s.length > 0 && s[0].state !== "started");
    expect(session).toMatchObject({ endpoint: EP, secure: true, pskIdentity: bsCred.identity, authorized: true, state: "finished" });
    expect(session.requests.map((r) => `${r.kind} ${r.path} ${r.code}`)).toEqual([
      "delete /0 2.02",
      "delete /1 2.02",
      "write /0/0 2.04",
      "write /0/1 2.04",
      "write /1/0 2.04",
      "finish /bs 2.04",
    ]);
  });

  it("LightweightM2M-1.1-int-101 over DTLS-PSK: registered with Leshan on coaps:// with the bootstrapped PSK", async () => {
    const line = await dut.waitForLog(REGISTERED);
    const [, uri, location] = line.match(REGISTERED)!;
    expect(uri).toBe(srv.coapsUri);
    registration = await srv.waitForClient(EP);
    expect(location).toBe(`/rd/${registration.registrationId}`);
    expect(registration.secure).toBe(true);
    expect((await srv.clients()).find((c) => c.endpoint === EP)?.secure).toBe(true);
    const read = await srv.read(EP, "/3/0", "TLV");
    expect(read).toMatchObject({ success: true });
    expect(String(resourceValue(read, 0) ?? "")).not.toBe("");
  });

  it("show credentials: both accounts' credentials as identity and fingerprints, never a key", async () => {
    const lines = await dut.command("show credentials");
    const shown = parseShowCredentials(lines);
    expect(shown.find((c) => c.account === "bootstrap"), lines.join("\n")).toMatchObject(expectedShown(bsCred));
    expect(shown.find((c) => c.account === SSID), lines.join("\n")).toMatchObject(expectedShown(srvCred));
    expect(await dut.command("show config")).toEqual([
      `endpoint: ${EP}`,
      `/0/0 bootstrap uri=${bs.coapsUri} mode=0`,
      `/0/1 ssid=${SSID} uri=${srv.coapsUri} mode=0`,
      `/1/0 ssid=${SSID} lifetime=60 binding=U`,
    ]);
  });

  it("LightweightM2M-1.1-int-7 with a wrong PSK at Leshan: registration fails, the meter bootstraps again and gets working keys", async () => {
    // The bootstrap server hands the meter a new PSK (identity and key) for the management
    // server, and Leshan's security store holds another key for that identity: the handshake
    // cannot complete (Californium drops the Finished it cannot check; the meter's handshake
    // gives up). A new credential also means no resumption of the earlier DTLS session.
    // /1/0/17..20 = 1: one attempt, one sequence, then the fallback bootstrap; that one is
    // served the "then" configuration with yet another PSK, which Leshan gets once the failure
    // was seen.
    const bad = psk("srv-bad");
    const wrong = randomBytes(16);
    const fresh = psk("srv2");
    secrets.push(bad.key, wrong, fresh.key);
    await srv.addSecurity({ endpoint: EP, psk: { identity: bad.identity, key: wrong.toString("hex") } });
    const broken = securedConfig({ bootstrapUri: bs.coapsUri, bootstrap: bsCred, serverUri: srv.coapsUri, server: bad, ssid: SSID, lifetime: 60 });
    broken.extraRequests = [17, 18, 19, 20].map((r) => ({ op: "write-resource" as const, path: `/1/0/${r}`, value: 1 }));
    broken.then = securedConfig({ bootstrapUri: bs.coapsUri, bootstrap: bsCred, serverUri: srv.coapsUri, server: fresh, ssid: SSID, lifetime: 60 });
    await bs.setConfig(EP, broken);
    const index = (await bs.sessions(EP)).length;

    const from = dut.mark();
    await dut.command("bootstrap");
    const first = await bs.waitForSessionEnd(EP, { index });
    expect(first).toMatchObject({ state: "finished", secure: true, pskIdentity: bsCred.identity });
    const failed = await dut.waitForLog(new RegExp(`registration: registration with ${srv.coapsUri.replace(/[.]/g, "\\.")} failed`), { since: from, timeoutMs: LONG });
    expect(failed).toMatch(/secure session failed|DTLS|alert|handshake/i);
    // Before the fallback bootstrap and the registration that follows it (tens of ms on the
    // meter's side; were Leshan later, that registration would fail too and the next one work).
    await srv.addSecurity(leshanSecurityFor(EP, fresh)!);
    await dut.waitForLog("app: no server reachable, bootstrapping", { since: from, timeoutMs: LONG });

    const second = await bs.waitForSessionEnd(EP, { index: index + 1, timeoutMs: LONG });
    expect(second).toMatchObject({ endpoint: EP, secure: true, pskIdentity: bsCred.identity, authorized: true, state: "finished" });
    await dut.waitForLog(REGISTERED, { since: from, timeoutMs: LONG });
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId, timeoutMs: LONG });
    expect(again.secure).toBe(true);
    const shown = parseShowCredentials(await dut.command("show credentials"));
    expect(shown.find((c) => c.account === SSID)).toMatchObject(expectedShown(fresh));
  }, LONG * 2);

  it("no key in what the meter printed nor in any rig log", () => {
    expect(leaks(dut, secrets)).toEqual([]);
  });
});

describe(`DTLS with X.509: bootstrap and registration over coaps:// with Leshan (rig ${RIG})`, () => {
  const EP = `meter-x509-${randomBytes(3).toString("hex")}`;
  const REGISTERED = registered(EP);
  let pki: Pki;
  let bsCred: Extract<AccountCredential, { mode: "x509" }>;
  let srvCred: Extract<AccountCredential, { mode: "x509" }>;
  let bs: LeshanBootstrap;
  let srv: LeshanServer;
  let dut: Dut;
  let registration: Registration;

  beforeAll(async () => {
    const rig = loadRig(RIG);
    pki = makePki({ clientCn: EP });
    bsCred = { mode: "x509", cert: pki.client.certDer, key: pki.client.keyDer, serverCert: pki.bootstrap.certDer, usage: "DOMAIN_ISSUER_CERTIFICATE" };
    srvCred = { mode: "x509", cert: pki.client.certDer, key: pki.client.keyDer, serverCert: pki.server.certDer, usage: "DOMAIN_ISSUER_CERTIFICATE" };
    [bs, srv] = await Promise.all([
      startLeshanBootstrap({
        name: `${RIG}-dtls-x509-bootstrap`,
        x509: { certFile: pki.bootstrap.chainPem, keyFile: pki.bootstrap.keyDerFile, trust: [pki.ca.certDerFile] },
      }),
      startLeshanServer({
        name: `${RIG}-dtls-x509-server`,
        x509: { certFile: pki.server.chainPem, keyFile: pki.server.keyDerFile, truststore: pki.ca.certDerFile },
      }),
    ]);
    await srv.addSecurity(leshanSecurityFor(EP, srvCred)!);
    // The bootstrap account stays as provisioned over the console (the launcher still requires
    // its certificate); the bootstrap server writes the management account's X.509 material.
    await bs.setConfig(EP, securedConfig({ bootstrapUri: bs.coapsUri, bootstrap: bsCred, serverUri: srv.coapsUri, server: srvCred, ssid: SSID, lifetime: 60, bootstrapAccount: false }));
    dut = redactConsoleLog(createDut(rig, { logName: `${RIG}-dtls-x509-meter` }));
    await dut.start();
    await provisionBootstrapAccount(dut, { endpoint: EP, uri: bs.coapsUri, credential: bsCred });
    await dut.reboot();
  });

  afterAll(async () => {
    await dut?.stop();
    await bs?.stop();
    await srv?.stop();
    await stopAll();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it("the launcher and the Leshan server present the rig CA's certificates", async () => {
    expect((await bs.health()).x509).toMatch(/CN=127\.0\.0\.1/);
    expect(JSON.stringify(await srv.serverSecurity())).toContain("certificate");
  });

  it("LightweightM2M-1.1-int-0 over DTLS-X.509: the bootstrap session is secure, with the meter's certificate", async () => {
    await dut.waitForLog(BOOTSTRAPPED);
    const [session] = await bs.waitForSessions(EP, (s) => s.length > 0 && s[0].state !== "started");
    expect(session).toMatchObject({ endpoint: EP, secure: true, x509CommonName: EP, authorized: true, state: "finished" });
    expect(session.requests.map((r) => `${r.kind} ${r.path} ${r.code}`)).toEqual([
      "delete /0 2.02",
      "delete /1 2.02",
      "write /0/1 2.04",
      "write /1/0 2.04",
      "finish /bs 2.04",
    ]);
  });

  it("LightweightM2M-1.1-int-101 over DTLS-X.509: registered with Leshan on coaps:// with the bootstrapped certificate", async () => {
    const line = await dut.waitForLog(REGISTERED);
    const [, uri, location] = line.match(REGISTERED)!;
    expect(uri).toBe(srv.coapsUri);
    registration = await srv.waitForClient(EP);
    expect(location).toBe(`/rd/${registration.registrationId}`);
    expect(registration.secure).toBe(true);
    const read = await srv.read(EP, "/3/0", "TLV");
    expect(read).toMatchObject({ success: true });
  });

  it("show credentials: certificate, key and pinned server certificate as fingerprints, usage 3", async () => {
    const lines = await dut.command("show credentials");
    const shown = parseShowCredentials(lines);
    expect(shown.find((c) => c.account === "bootstrap"), lines.join("\n")).toMatchObject(expectedShown(bsCred));
    expect(shown.find((c) => c.account === SSID), lines.join("\n")).toMatchObject(expectedShown(srvCred));
    expect(await dut.command("show config")).toContain(`/0/1 ssid=${SSID} uri=${srv.coapsUri} mode=2`);
  });

  it("a bootstrap that writes both accounts' X.509 material (bootstrap account too) in one session", async () => {
    // Leshan writes /0/0 (bootstrap account: certificate, PKCS#8 key, pinned bootstrap-server
    // certificate, usage 3) and /0/1 (the same for the management server): about 1 KB of key
    // material each, held in the staged configuration until Bootstrap-Finish.
    await bs.setConfig(EP, securedConfig({ bootstrapUri: bs.coapsUri, bootstrap: bsCred, serverUri: srv.coapsUri, server: srvCred, ssid: SSID, lifetime: 60 }));
    const index = (await bs.sessions(EP)).length;
    const from = dut.mark();
    await dut.command("bootstrap");
    const session = await bs.waitForSessionEnd(EP, { index });
    expect(session.requests.map((r) => `${r.kind} ${r.path} ${r.code ?? r.error}`)).toEqual([
      "delete /0 2.02",
      "delete /1 2.02",
      "write /0/0 2.04",
      "write /0/1 2.04",
      "write /1/0 2.04",
      "finish /bs 2.04",
    ]);
    expect(session).toMatchObject({ secure: true, x509CommonName: EP, state: "finished" });
    await dut.waitForLog(REGISTERED, { since: from });
    const again = await srv.waitForClient(EP, { notRegistrationId: registration.registrationId });
    expect(again.secure).toBe(true);
    const shown = parseShowCredentials(await dut.command("show credentials"));
    expect(shown.find((c) => c.account === "bootstrap")).toMatchObject(expectedShown(bsCred));
    expect(shown.find((c) => c.account === SSID)).toMatchObject(expectedShown(srvCred));
  });

  it("no private key in what the meter printed nor in any rig log", () => {
    expect(leaks(dut, [pki.client.keyDer])).toEqual([]);
  });
});
