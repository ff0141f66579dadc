/* Vector table and reset handler for the Cortex-M55 of the Corstone-300. */
#include <stdint.h>
#include <string.h>

#include "platform.h"

/* From corstone300.ld. */
extern uint32_t __stack_top[], __stack_limit[];
extern uint32_t __data_start[], __data_end[], __data_load_start[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __sram_bss_start[], __sram_bss_end[];
extern uint32_t __ddr_bss_start[], __ddr_bss_end[];
extern void (*__preinit_array_start[])(void), (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);   /* fault.c: reports and exits */
void SysTick_Handler(void); /* counter.c */

#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define CPACR_CP10_CP11_FULL_ACCESS (0xFu << 20) /* FPU and MVE (Helium) */

/* 16 system exceptions + the SSE-300's 96 external interrupts. We use no
   interrupts but SysTick; anything else is a bug and gets the fault report. */
#define VECTOR_COUNT (16 + 96)

__attribute__((section(".vectors"), used, aligned(512)))
static void (*const vector_table[VECTOR_COUNT])(void) = {
    [0] = (void (*)(void))__stack_top, /* initial MSP */
    [1] = Reset_Handler,
    [2] = Fault_Handler,  /* NMI */
    [3] = Fault_Handler,  /* HardFault */
    [4] = Fault_Handler,  /* MemManage */
    [5] = Fault_Handler,  /* BusFault */
    [6] = Fault_Handler,  /* UsageFault */
    [7] = Fault_Handler,  /* SecureFault */
    [11] = Fault_Handler, /* SVCall */
    [12] = Fault_Handler, /* DebugMonitor */
    [14] = Fault_Handler, /* PendSV */
    [15] = SysTick_Handler,
    [16 ... VECTOR_COUNT - 1] = Fault_Handler,
};

static void run_constructors(void) {
  for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; f++) (*f)();
  for (void (**f)(void) = __init_array_start; f < __init_array_end; f++) (*f)();
}

/* Everything after the coprocessors are on. Kept out of line so the compiler
   cannot schedule any FP/MVE instruction (e.g. a vectorised copy) before the
   CPACR write has taken effect. */
__attribute__((noinline, noreturn)) static void start_c_runtime(void) {
  /* Point VTOR at our table rather than trust the reset value (QEMU: 0,
     where ITCM is mapped; FVP: its INITSVTOR parameter). */
  SCB_VTOR = (uint32_t)(uintptr_t)vector_table;

  /* Stack overflow -> UsageFault (STKOF) instead of corrupting the heap. */
  __asm__ volatile("msr msplim, %0" ::"r"(__stack_limit));

  memcpy(__data_start, __data_load_start, (size_t)((char *)__data_end - (char *)__data_start));
  memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
  memset(__sram_bss_start, 0, (size_t)((char *)__sram_bss_end - (char *)__sram_bss_start));
  memset(__ddr_bss_start, 0, (size_t)((char *)__ddr_bss_end - (char *)__ddr_bss_start));
  /* .model_arena is NOLOAD scratch and deliberately not zeroed. */

  platform_init();
  run_constructors();
  platform_exit(main());
}

__attribute__((noreturn)) void Reset_Handler(void) {
  SCB_CPACR |= CPACR_CP10_CP11_FULL_ACCESS;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  start_c_runtime();
}
