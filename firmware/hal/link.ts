// Datagram links: received datagrams, link errors and DTLS outcomes go to the link's owner.
import { Hal } from "./codes";
import { onEvent } from "./events";
import { BOARD } from "../board";

export interface LinkOwner {
  /**
   * Hal.EV_LINK_RX (arg: length, data: the datagram, a copy the owner may keep), Hal.EV_LINK_ERROR
   * (arg: HAL error), Hal.EV_DTLS_CONNECTED or Hal.EV_DTLS_ALERT (arg: alert).
   */
  link(kind: number, arg: number, data?: Uint8Array): void;
}

const owners: (LinkOwner | null)[] = [];
let rxBuf: Uint8Array | null = null;

function onLink(handle: number, arg: number, kind: number): void {
  const owner = owners[handle];
  if (kind !== Hal.EV_LINK_RX) {
    if (owner) owner.link(kind, arg);
    return;
  }
  if (!rxBuf) rxBuf = new Uint8Array(BOARD.linkMtu);
  let n: number;
  while ((n = __hal.link_recv(handle, rxBuf)) > 0) {
    // the owner may change while datagrams are drained
    const o = owners[handle];
    if (o) o.link(kind, n, new Uint8Array(rxBuf.subarray(0, n)));
  }
}

export function linkInit(): void {
  owners.length = 0;
  onEvent(Hal.EV_LINK_RX, onLink);
  onEvent(Hal.EV_LINK_ERROR, onLink);
  onEvent(Hal.EV_DTLS_CONNECTED, onLink);
  onEvent(Hal.EV_DTLS_ALERT, onLink);
}

/** Returns a handle >= 0 or a negative HAL error. */
export function linkOpen(host: string, port: number, owner: LinkOwner): number {
  const h = __hal.link_open(host, port);
  if (h >= 0) owners[h] = owner;
  return h;
}

export function linkClose(handle: number): void {
  if (owners[handle]) {
    owners[handle] = null;
    __hal.link_close(handle);
  }
}
