import { BOARD } from "../board";

export const MANUFACTURER = "GEISA";
export const MODEL = "meter-" + BOARD.name;
export { FIRMWARE_VERSION as VERSION } from "../version";
export const BOARD_NAME = BOARD.name;
