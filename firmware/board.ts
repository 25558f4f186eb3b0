// Overwritten per board by the build; this default describes the host board.
export const BOARD = { name: "host", heapBytes: 180224, linkMtu: 1280 };
