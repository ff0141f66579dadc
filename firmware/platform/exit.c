#include "exit.h"

#include <stdint.h>
#include <stdio.h>

#include "uart.h"

/* Semihosting operation SYS_EXIT_EXTENDED and its reason code
   ADP_Stopped_ApplicationExit: r1 points at {reason, exit code}. */
#define SEMIHOSTING_SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static void semihosting_exit(int status) {
  uint32_t parameters[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
  register uint32_t operation __asm__("r0") = SEMIHOSTING_SYS_EXIT_EXTENDED;
  register uint32_t *argument __asm__("r1") = parameters;
  __asm__ volatile("bkpt 0xab" : "+r"(operation) : "r"(argument) : "memory");
}

void platform_exit_without_stdio(int status) {
  /* A second call means the exit itself faulted: on an FVP started without
     cpu0.semihosting-enable=1 the bkpt below raises a HardFault, whose
     handler lands here again. The marker is already out, and the FVP stops
     on it, so just wait. */
  static volatile int exiting;
  if (exiting) {
    for (;;) {
      __asm__ volatile("wfi");
    }
  }
  exiting = 1;

  uart_puts("run-status: ");
  uart_put_decimal(status);
  uart_puts("\nEXITTHESIM\n");
  semihosting_exit(status);
  for (;;) {
    __asm__ volatile("wfi");
  }
}

void platform_exit(int status) {
  fflush(stdout);
  fflush(stderr);
  platform_exit_without_stdio(status);
}
