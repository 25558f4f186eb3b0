/* Default store_report(): one error line on the log ("store: ..."). */
#include <string.h>
#include "hal_log.h"
#include "store.h"

void store_report(const char *what)
{
    char line[96] = "store: ";
    strncat(line, what, sizeof line - strlen(line) - 1);
    hal_log_write(1, line);
}
