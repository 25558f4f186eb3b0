// Entry of the bundle: the engine has installed __hal; start the meter application.
import { startFirmware } from "./app/boot";

startFirmware();
