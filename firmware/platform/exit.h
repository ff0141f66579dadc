/* Ending a run: the log lines the host parses, then the simulator's exit. */
#ifndef FIRMWARE_EXIT_H
#define FIRMWARE_EXIT_H

/* Status the platform reports for a fault (HardFault/MemManage/BusFault/
   UsageFault/SecureFault) or an unexpected interrupt. Apps use small codes
   (0 = pass, 1 = check failed) so the two never collide. */
#define PLATFORM_STATUS_FAULT 99

/* Flushes stdio, prints "run-status: <status>" and the end-of-run marker
   "EXITTHESIM" (the FVP's uart0.shutdown_tag), then asks the simulator to exit
   with <status> through semihosting SYS_EXIT_EXTENDED, so QEMU's own exit
   code is the status (0-255). Never returns. */
void platform_exit(int status) __attribute__((noreturn));

/* The same without touching stdio: for the fault handler, whose fault may
   have happened inside stdio. */
void platform_exit_without_stdio(int status) __attribute__((noreturn));

#endif
