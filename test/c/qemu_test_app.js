// A small ES5 app for the qemu board test: exercises the engine, the __hal binding and the
// board drivers end to end without depending on the firmware bundle. Commands:
//   version            -> "test-app 1 ..." then OK
//   echo <text>        -> <text> then OK
//   after <ms>         -> arms the HAL timer; "timer fired" when it does
//   store              -> writes, reads back and removes a record, then OK
//   rng                -> 8 random bytes, then OK
//   heap               -> heap in use / pool size, then OK
//   reboot             -> __hal.sys_reset
(function () {
  var hal = __hal;
  var buf = new Uint8Array(512);
  var rec = new Uint8Array(16);
  function say(text) { hal.console_write(text + "\n"); }
  function bytesToText(bytes, n) {
    var s = "";
    for (var i = 0; i < n; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  function run(line) {
    var sp = line.indexOf(" ");
    var cmd = sp < 0 ? line : line.substring(0, sp);
    var arg = sp < 0 ? "" : line.substring(sp + 1);
    if (cmd === "version") {
      say("test-app 1 (engine and board check)");
    } else if (cmd === "echo") {
      say(arg);
    } else if (cmd === "after") {
      hal.timer_arm(parseInt(arg, 10));
    } else if (cmd === "store") {
      var data = new Uint8Array([1, 2, 3, 4, 5]);
      var rc = hal.store_write(7, data);
      if (rc < 0) return say("ERROR: store_write " + rc);
      var n = hal.store_read(7, rec);
      if (n !== 5 || rec[4] !== 5) return say("ERROR: store_read " + n);
      rc = hal.store_remove(7);
      if (rc < 0) return say("ERROR: store_remove " + rc);
      if (hal.store_read(7, rec) !== hal.ENOENT) return say("ERROR: removed record still there");
    } else if (cmd === "rng") {
      var r = new Uint8Array(8);
      hal.rng_fill(r);
      say("rng " + Array.prototype.join.call(r, " "));
    } else if (cmd === "heap") {
      say("heap " + hal.sys_heap(0) + "/" + hal.sys_heap(2));
    } else if (cmd === "reboot") {
      hal.sys_reset("console");
    } else {
      return say("ERROR: unknown command");
    }
    say("OK");
  }
  hal.dispatch = function (kind, handle, arg) {
    if (kind === hal.EV_CONSOLE_LINE) {
      var n;
      while ((n = hal.console_read(buf)) > 0) run(bytesToText(buf, n));
    } else if (kind === hal.EV_TIMER) {
      say("timer fired");
    }
  };
  say("test-app: ready");
})();
