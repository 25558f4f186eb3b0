// Datagram links: received datagrams, link errors and DTLS outcomes go to the link's owner.
import { EV_LINK_RX, EV_LINK_ERROR, EV_DTLS_CONNECTED, EV_DTLS_ALERT } from "./codes";
import { onEvent } from "./events";
import { BOARD } from "../board";

export interface LinkOwner {
  rx(data: Uint8Array): void;
  /** EV_LINK_ERROR (arg: HAL error), EV_DTLS_CONNECTED or EV_DTLS_ALERT (arg: alert). */
  linkEvent(kind: number, arg: number): void;
}

const owners: (LinkOwner | null)[] = [];
let rxBuf: Uint8Array | null = null;

function onRx(handle: number): void {
  if (!rxBuf) rxBuf = new Uint8Array(BOARD.linkMtu);
  let n: number;
  while ((n = __hal.link_recv(handle, rxBuf)) > 0) {
    const owner = owners[handle];
    // The CoAP layer may keep the datagram (dedup, block-wise): hand it a copy.
    if (owner) owner.rx(new Uint8Array(rxBuf.subarray(0, n)));
  }
}

function onLinkEvent(handle: number, arg: number, kind: number): void {
  const owner = owners[handle];
  if (owner) owner.linkEvent(kind, arg);
}

export function linkInit(): void {
  owners.length = 0;
  onEvent(EV_LINK_RX, onRx);
  onEvent(EV_LINK_ERROR, onLinkEvent);
  onEvent(EV_DTLS_CONNECTED, onLinkEvent);
  onEvent(EV_DTLS_ALERT, onLinkEvent);
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
