#include "platform.h"

#include <stdio.h>

/* CPU identification registers. */
#define SCB_CPUID (*(volatile uint32_t *)0xE000ED00u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define MVFR1 (*(volatile uint32_t *)0xE000EF44u)

/* Section boundaries from corstone300.ld. */
extern char __data_start[], __bss_end[], __heap_start[], __heap_limit[];
extern char __stack_limit[], __stack_top[];
extern char __model_weights_section_start[], __model_weights_section_end[];
extern char __model_arena_start[], __model_arena_end[];
extern char __text_start[], __text_end[];

void platform_init(void) {
  uart_init();
  fault_init();
  counter_init();
  /* Unbuffered: a fault report must never lose printf output still sitting
     in a buffer, and the raw UART writes of the exit path stay in order. */
  setvbuf(stdout, NULL, _IONBF, 0);
}

char *format_u64(uint64_t value, char text[21]) {
  char *cursor = text + 20;
  *cursor = '\0';
  do {
    *--cursor = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0);
  return cursor;
}

void platform_print_instructions(uint64_t instructions) {
  char text[21];
  printf("instructions: %s\n", format_u64(instructions, text));
}

void platform_print_kernel_instructions(unsigned index, const char *name, uint64_t instructions) {
  char text[21];
  printf("kernel: %u %s instructions: %s\n", index, name, format_u64(instructions, text));
}

const char *platform_region_name(const void *addr) {
  /* Secure and Non-secure aliases differ only in bit 28. */
  const uintptr_t a = (uintptr_t)addr & ~(uintptr_t)0x10000000u;
  if (a < 0x00080000u) return "ITCM";
  if (a >= 0x01000000u && a < 0x01200000u) return "FPGA SRAM";
  if (a >= 0x20000000u && a < 0x20080000u) return "DTCM";
  if (a >= 0x21000000u && a < 0x21400000u) return "SRAM";
  if (a >= 0x28000000u && a < 0x28800000u) return "QSPI";
  if (a >= 0x60000000u && a < 0xE0000000u) return "DDR";
  return "?";
}

static void print_range(const char *what, const void *start, const void *end) {
  printf("platform: %-13s %p..%p %8lu bytes  %s\n", what, start, end,
         (unsigned long)((const char *)end - (const char *)start), platform_region_name(start));
}

void platform_print_banner(const char *app_name) {
  const uint32_t cpuid = SCB_CPUID;
  const uint32_t mve = (MVFR1 >> 8) & 0xFu; /* MVFR1.MVE: 1 = integer, 2 = integer + float */
  const int coprocessors_on = ((SCB_CPACR >> 20) & 0xFu) == 0xFu;
  printf("%s on Corstone-300 (SSE-300, QEMU mps3-an547 / FVP), Cortex-M55 r%lup%lu (CPUID 0x%08lx)\n",
         app_name, (unsigned long)((cpuid >> 20) & 0xFu), (unsigned long)(cpuid & 0xFu),
         (unsigned long)cpuid);
  printf("platform: FPU %s, MVE %s, counter counts %s\n", coprocessors_on ? "on" : "OFF",
         mve == 2 ? "integer+float" : mve == 1 ? "integer only" : "absent", counter_description());
  print_range("code", __text_start, __text_end);
  print_range("data+bss", __data_start, __bss_end);
  print_range("heap", __heap_start, __heap_limit);
  print_range("stack", __stack_limit, __stack_top);
  print_range("model weights", __model_weights_section_start, __model_weights_section_end);
  print_range("model arena", __model_arena_start, __model_arena_end);
}
