/* Faults on purpose, to prove that a crash ends the run with a fault report
 * and a non-zero status instead of a hang. */
#include <stdio.h>

#include "platform.h"

/* Nothing is mapped at 0xF0000000 on the Corstone-300 (the last gigabyte
   below the system region), so a load from it is a precise BusFault. */
#define UNMAPPED_ADDRESS 0xF0000000u

int main(void) {
  platform_print_banner("fault_demo");
  printf("fault_demo: reading unmapped address 0x%08x\n", UNMAPPED_ADDRESS);
  const uint32_t value = *(volatile uint32_t *)UNMAPPED_ADDRESS;
  printf("fault_demo: read 0x%08lx, but this line should never print\n", (unsigned long)value);
  return 0;
}
