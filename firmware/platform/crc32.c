#include "crc32.h"

/* Slice-by-4: four 256-entry tables let the loop consume a word per step
   instead of a byte. Measured on QEMU: 4.25 instructions per byte, 49 M
   instructions for an 11 MB weights blob. The tables (4 KB) are built in
   DTCM on first use instead of being stored in the image. */
static uint32_t crc_tables[4][256];
static int crc_tables_ready;

static void build_tables(void) {
  for (uint32_t byte = 0; byte < 256; byte++) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; bit++) {
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc_tables[0][byte] = crc;
  }
  for (uint32_t byte = 0; byte < 256; byte++) {
    for (int slice = 1; slice < 4; slice++) {
      const uint32_t previous = crc_tables[slice - 1][byte];
      crc_tables[slice][byte] = (previous >> 8) ^ crc_tables[0][previous & 0xFFu];
    }
  }
  crc_tables_ready = 1;
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t length) {
  if (!crc_tables_ready) {
    build_tables();
  }
  const uint8_t *bytes = data;
  crc = ~crc;
  /* Bytes until the pointer is word aligned, then whole words. */
  while (length > 0 && ((uintptr_t)bytes & 3u) != 0) {
    crc = (crc >> 8) ^ crc_tables[0][(crc ^ *bytes++) & 0xFFu];
    length--;
  }
  while (length >= 4) {
    crc ^= *(const uint32_t *)(const void *)bytes; /* little-endian */
    crc = crc_tables[3][crc & 0xFFu] ^ crc_tables[2][(crc >> 8) & 0xFFu] ^
          crc_tables[1][(crc >> 16) & 0xFFu] ^ crc_tables[0][crc >> 24];
    bytes += 4;
    length -= 4;
  }
  while (length > 0) {
    crc = (crc >> 8) ^ crc_tables[0][(crc ^ *bytes++) & 0xFFu];
    length--;
  }
  return ~crc;
}

uint32_t crc32(const void *data, size_t length) {
  return crc32_update(0, data, length);
}
