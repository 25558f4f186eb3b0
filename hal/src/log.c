/* Console log lines in the Zephyr style: "[HH:MM:SS.mmm] <inf> module: message".
 * The firmware's text already starts with "module: ". */
#include "hal_log.h"

#include <string.h>

#include "board.h"
#include "hal_timer.h"
#include "runtime.h"
#include "text_line.h"

static const char *level_tag(int level)
{
    switch (level) {
    case LOG_LEVEL_ERR: return "<err> ";
    case LOG_LEVEL_WRN: return "<wrn> ";
    case LOG_LEVEL_INF: return "<inf> ";
    case LOG_LEVEL_DBG: return "<dbg> ";
    default: return "<lvl> ";
    }
}

static void format_prefix(text_line *t, int64_t ms, int level)
{
    uint64_t u = ms < 0 ? 0u : (uint64_t) ms;
    text_str(t, "[");
    text_u64_pad(t, u / 3600000u, 2);
    text_str(t, ":");
    text_u64_pad(t, (u / 60000u) % 60u, 2);
    text_str(t, ":");
    text_u64_pad(t, (u / 1000u) % 60u, 2);
    text_str(t, ".");
    text_u64_pad(t, u % 1000u, 3);
    text_str(t, "] ");
    text_str(t, level_tag(level));
}

int hal_log_write(int level, const char *text)
{
    char prefix[40];
    text_line t;
    if (text == NULL) return HAL_EINVAL;
    text_init(&t, prefix, sizeof prefix);
    format_prefix(&t, hal_timer_now(), level);
    board_console_write(prefix, (int) t.len);
    board_console_write(text, (int) strlen(text));
    board_console_write("\n", 1);
    return level >= LOG_LEVEL_ERR && level <= LOG_LEVEL_DBG ? HAL_OK : HAL_EINVAL;
}
