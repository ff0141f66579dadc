/* Never ends, to prove that the simulator's timeout turns a hang into a
 * failure. It prints no end-of-run marker and no run-status. */
#include <stdio.h>

#include "platform.h"

int main(void) {
  platform_print_banner("hang_demo");
  printf("hang_demo: spinning forever\n");
  for (;;) {
    __asm__ volatile("" ::: "memory"); /* keeps the loop from being optimised out */
  }
}
