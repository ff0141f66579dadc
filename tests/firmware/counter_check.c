/* Calibrates the instruction counter against loops of known length:
   subs + bne = exactly 2 instructions per iteration. */
#include <stdio.h>

#include "platform.h"

__attribute__((noinline)) static void spin(uint32_t iterations) {
  __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(iterations) : : "cc");
}

int main(void) {
  /* 40 M instructions = 1.28 M ticks; 600 M = 19.2 M ticks crosses a 2^24 wrap. */
  static const uint32_t iterations[] = {1000, 20000000, 300000000};
  for (unsigned i = 0; i < sizeof iterations / sizeof iterations[0]; i++) {
    const uint64_t start = counter_ticks();
    spin(iterations[i]);
    const uint64_t ticks = counter_ticks() - start;
    char expected[21], measured[21];
    printf("spin: expected %s measured %s\n", format_u64(2ull * iterations[i], expected),
           format_u64(counter_ticks_to_instructions(ticks), measured));
  }
  return 0;
}
