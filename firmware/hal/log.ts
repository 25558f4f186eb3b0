export function halSink(level: number, text: string): void {
  __hal.log_write(level, text);
}
