/* CRC-32 as zlib, PNG and Python's zlib.crc32 compute it (reflected
   polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF), so the host
   can write MODEL_WEIGHTS_CRC32 with zlib.crc32(weights) and the firmware
   checks the linked blob before the first inference. */
#ifndef FIRMWARE_CRC32_H
#define FIRMWARE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC of a whole buffer: crc32(data, n) == zlib.crc32(data). */
uint32_t crc32(const void *data, size_t length);

/* Incremental form: start with crc = 0, feed pieces in order. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t length);

#endif
