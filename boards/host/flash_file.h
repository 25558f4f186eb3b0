/* Host flash driver (flash_file.c): the store's NOR flash as a file, and the device key as a
 * "fuse" file. Options: --flash FILE, --fuse FILE, --die-at-flash-op N, --flash-trace (see flash_file.c). */
#ifndef FLASH_FILE_H
#define FLASH_FILE_H

/* Program and erase operations since start (what --die-at-flash-op counts). */
long flash_file_ops(void);

#endif
