// Entry of the bundle: the engine has installed __hal. The application starts on the first
// event after this script has finished running, so the init code and the function templates
// it used are freed before boot and bootstrap allocate: they do not add to the heap peak.
import { startFirmware } from "./app/boot";

function startOnFirstEvent(kind: number, handle: number, arg: number): void {
  const first = __hal.dispatch;
  startFirmware();
  const dispatch = __hal.dispatch;
  if (dispatch && dispatch !== first) dispatch(kind, handle, arg);
}

__hal.dispatch = startOnFirstEvent;
__hal.timer_arm(0);
