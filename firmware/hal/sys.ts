// JS heap bytes: __hal.sys_heap(0) in use, (1) peak, (2) pool size.
export function reset(reason: string): void {
  __hal.sys_reset(reason);
}
