// Datagram links: received datagrams and errors are routed to the link's owner.
import { EV_LINK_RX, EV_LINK_ERROR, EV_DTLS_CONNECTED, EV_DTLS_ALERT } from "./codes";
import { onEvent } from "./events";
import { BOARD } from "../board";

export interface LinkOwner {
  rx(data: Uint8Array): void;
  error(code: number): void;
  dtls(connected: boolean, alert: number): void;
}

const owners: (LinkOwner | null)[] = [];
let rxBuf: Uint8Array | null = null;

function onRx(handle: number): void {
  if (!rxBuf) rxBuf = new Uint8Array(BOARD.linkMtu);
  let n: number;
  while ((n = __hal.link_recv(handle, rxBuf)) > 0) {
    const owner = owners[handle];
    if (!owner) continue;
    // The CoAP layer may keep the datagram (dedup, block-wise): hand it a copy.
    const d = new Uint8Array(n);
    d.set(rxBuf.subarray(0, n));
    owner.rx(d);
  }
}

function onError(handle: number, arg: number): void {
  const owner = owners[handle];
  if (owner) owner.error(arg);
}

function onDtlsUp(handle: number): void {
  const owner = owners[handle];
  if (owner) owner.dtls(true, 0);
}

function onDtlsAlert(handle: number, arg: number): void {
  const owner = owners[handle];
  if (owner) owner.dtls(false, arg);
}

export function linkInit(): void {
  owners.length = 0;
  onEvent(EV_LINK_RX, onRx);
  onEvent(EV_LINK_ERROR, onError);
  onEvent(EV_DTLS_CONNECTED, onDtlsUp);
  onEvent(EV_DTLS_ALERT, onDtlsAlert);
}

/** Returns a handle >= 0 or a negative HAL error. */
export function linkOpen(host: string, port: number, owner: LinkOwner): number {
  const h = __hal.link_open(host, port);
  if (h >= 0) owners[h] = owner;
  return h;
}

export function linkSend(handle: number, data: Uint8Array): number {
  return __hal.link_send(handle, data);
}

export function linkClose(handle: number): void {
  if (owners[handle]) {
    owners[handle] = null;
    __hal.link_close(handle);
  }
}
