const buf = new Uint8Array(4);

/** Uniform in [0, 1) from the HAL generator. */
export function random(): number {
  __hal.rng_fill(buf);
  return ((buf[0] << 16) | (buf[1] << 8) | buf[2]) / 16777216;
}
