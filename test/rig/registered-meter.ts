// The usual scenario set-up, in one place: Leshan's bootstrap server (our launcher) and the
// Leshan server demo on free loopback ports, a NoSec bootstrap configuration for the endpoint,
// a meter (any rig) provisioned over its console with endpoint name and bootstrap URI only,
// rebooted, bootstrapped and registered. The same steps as bootstrap-registration.test.ts and
// rebootstrap.test.ts (which keep their own copies). Everything started here is stopped by PID
// in stop(), also after a failed start().
import { createDut, loadRig, type Dut, type DutOptions } from "./dut.ts";
import { nosecConfig, startLeshanBootstrap, startLeshanServer, type LeshanBootstrap, type LeshanServer, type Registration } from "./leshan.ts";

export const BOOTSTRAPPED = "bootstrap: finished, configuration committed";

/** The meter's log line once registered with a server. */
export function registeredLine(ep: string): RegExp {
  return new RegExp(`registration: registered with (\\S+) as (/rd/\\S+) \\(ep=${ep}\\)`);
}

export interface RegisteredMeterOptions {
  /** Rig name (test/rig/rigs/<rig>.json). */
  rig: string;
  ep: string;
  /** Prefix of the log names in out/rig-logs. */
  name: string;
  ssid?: number;
  lifetime?: number;
  dut?: DutOptions;
}

export class RegisteredMeter {
  readonly ssid: number;
  readonly lifetime: number;
  readonly registered: RegExp;
  private _bs?: LeshanBootstrap;
  private _srv?: LeshanServer;
  private _dut?: Dut;
  /** The registration Leshan holds (updated by the scenario when the meter registers again). */
  registration!: Registration;

  constructor(readonly opts: RegisteredMeterOptions) {
    this.ssid = opts.ssid ?? 101;
    this.lifetime = opts.lifetime ?? 60;
    this.registered = registeredLine(opts.ep);
  }

  get ep(): string {
    return this.opts.ep;
  }
  get bs(): LeshanBootstrap {
    if (!this._bs) throw new Error("bootstrap server not started");
    return this._bs;
  }
  get srv(): LeshanServer {
    if (!this._srv) throw new Error("Leshan server not started");
    return this._srv;
  }
  get dut(): Dut {
    if (!this._dut) throw new Error("meter not started");
    return this._dut;
  }

  /** Starts the peers and the meter; resolves once Leshan has the meter's registration. */
  async start(): Promise<Registration> {
    const { rig: rigName, ep, name } = this.opts;
    const rig = loadRig(rigName);
    const [bs, srv] = await Promise.allSettled([startLeshanBootstrap({ name: `${name}-bootstrap` }), startLeshanServer({ name: `${name}-server` })]);
    if (bs.status === "fulfilled") this._bs = bs.value;
    if (srv.status === "fulfilled") this._srv = srv.value;
    if (bs.status === "rejected") throw bs.reason;
    if (srv.status === "rejected") throw srv.reason;
    await this.bs.setConfig(ep, nosecConfig({ bootstrapUri: this.bs.coapUri, serverUri: this.srv.coapUri, ssid: this.ssid, lifetime: this.lifetime }));
    this._dut = createDut(rig, { logName: `${name}-meter`, ...this.opts.dut });
    await this.dut.start();
    // Out-of-band provisioning (GEISA ADM): endpoint name and bootstrap-server URI only.
    await this.dut.command(`set endpoint ${ep}`);
    await this.dut.command(`set bs-uri ${this.bs.coapUri}`);
    await this.dut.reboot();
    await this.dut.waitForLog(BOOTSTRAPPED);
    await this.dut.waitForLog(this.registered);
    this.registration = await this.srv.waitForClient(ep);
    return this.registration;
  }

  /** Stops the meter, then the servers (each by PID). */
  async stop(): Promise<void> {
    await this._dut?.stop();
    await this._bs?.stop();
    await this._srv?.stop();
  }
}
