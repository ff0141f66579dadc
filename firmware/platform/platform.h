/* The Corstone-300 platform in one include: UART console (printf works),
   fault reports, the instruction counter and the run exit.
 *
 * What startup.c does before main: enables the FPU and MVE, sets VTOR and the
 * stack limit, copies .data, zeroes .bss/.sram_bss/.ddr_bss, runs
 * constructors, then platform_init(). When main returns, its value goes to
 * platform_exit(). */
#ifndef FIRMWARE_PLATFORM_H
#define FIRMWARE_PLATFORM_H

#include <stdint.h>

#include "counter.h"
#include "exit.h"
#include "fault.h"
#include "uart.h"

/* Place a large zero-initialised array in DDR instead of the 512 KB DTCM:
     static float big[1 << 20] PLATFORM_DDR_BSS; */
#define PLATFORM_DDR_BSS __attribute__((section(".ddr_bss"), aligned(16)))
/* Up to 2 MB of hot zero-initialised buffers in the SSE-300 SRAM. */
#define PLATFORM_SRAM_BSS __attribute__((section(".sram_bss"), aligned(16)))
/* The model's activation arena in DDR; not zeroed at start-up. */
#define PLATFORM_MODEL_ARENA __attribute__((section(".bss.model_arena"), aligned(16)))
/* Read-only test data (e.g. images) in DDR. */
#define PLATFORM_TEST_DATA __attribute__((section(".rodata.test_data"), aligned(16)))

/* newlib-nano's printf has no %llu: format 64-bit counts with this.
     char text[21]; printf("%s\n", format_u64(count, text)); */
char *format_u64(uint64_t value, char text[21]);

/* Prints the log contract line "instructions: <n>" (read by host/logparse.py). */
void platform_print_instructions(uint64_t instructions);

/* Prints the per-kernel profile line "kernel: <index> <name> instructions: <n>"
   (issue 7's bench build; read by host/logparse.py). */
void platform_print_kernel_instructions(unsigned index, const char *name, uint64_t instructions);

/* UART, fault exceptions, counter, unbuffered stdout. Run by startup. */
void platform_init(void);

/* Name of the memory region holding addr: "ITCM", "DTCM", "SRAM" (SSE-300),
   "FPGA SRAM", "DDR" or "?" - for banners that prove the placement. */
const char *platform_region_name(const void *addr);

/* Prints the board/CPU/FPU/MVE line and where code, data, stack, heap,
   weights and arena sit, each line starting with "platform:". */
void platform_print_banner(const char *app_name);

#endif
