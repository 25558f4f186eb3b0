var __n = {};
var __hal = {};
(function () {
  var names = ["link_open","link_send","link_recv","link_close","dtls_open","dtls_close","timer_now","timer_wall","timer_arm","rng_fill","store_read","store_write","store_remove","store_begin","store_commit","store_abort","console_read","console_write","card_transmit","card_receive","sys_reset","sys_fatal","sys_watchdog_kick","sys_heap","log_write"];
  for (var i = 0; i < names.length; i++) (function (k) { __hal[k] = function (a, b) { __n[k] = (__n[k] || 0) + 1; if (__n[k] > 5000) throw new Error("too many " + k); if (k === "store_read") return -4; if (k === "log_write") __print("LOG " + b + " heap=" + __heap()); if (k === "console_write") __print("CON " + a); return 0; }; })(names[i]);
})();
