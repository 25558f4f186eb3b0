export const FIRMWARE_VERSION = "0.1.0";
