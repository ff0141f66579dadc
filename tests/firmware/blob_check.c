/* Links weights.bin through blob.S and prints where it landed and its CRC-32. */
#include <stdio.h>

#include "crc32.h"
#include "platform.h"

extern const uint8_t model_weights[];
extern const uint8_t model_weights_end[];
extern const uint32_t model_weights_size;

int main(void) {
  printf("blob: address 0x%08lx region %s size %lu span %ld crc 0x%08lx\n",
         (unsigned long)(uintptr_t)model_weights, platform_region_name(model_weights),
         (unsigned long)model_weights_size, (long)(model_weights_end - model_weights),
         (unsigned long)crc32(model_weights, model_weights_size));
  /* Incremental from an unaligned split must agree with the one-shot CRC. */
  const uint32_t split = crc32_update(crc32(model_weights, 3), model_weights + 3, model_weights_size - 3);
  printf("blob: incremental crc 0x%08lx\n", (unsigned long)split);
  return 0;
}
