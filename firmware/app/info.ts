import { FIRMWARE_VERSION } from "../version";
import { BOARD } from "../board";

export const MANUFACTURER = "GEISA";
export const MODEL = "meter-" + BOARD.name;
export const VERSION = FIRMWARE_VERSION;
export const BOARD_NAME = BOARD.name;
