export function heapUsed(): number {
  return __hal.sys_heap(0);
}
export function heapPeak(): number {
  return __hal.sys_heap(1);
}
export function heapPool(): number {
  return __hal.sys_heap(2);
}
export function reset(reason: string): void {
  __hal.sys_reset(reason);
}
