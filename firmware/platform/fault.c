#include "fault.h"

#include <stdint.h>

#include "exit.h"
#include "uart.h"

/* System control block fault registers. */
#define SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
#define SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)
#define SAU_SFSR (*(volatile uint32_t *)0xE000EDE4u)
#define SAU_SFAR (*(volatile uint32_t *)0xE000EDE8u)

#define SHCSR_MEMFAULTENA (1u << 16)
#define SHCSR_BUSFAULTENA (1u << 17)
#define SHCSR_USGFAULTENA (1u << 18)
#define SHCSR_SECUREFAULTENA (1u << 19)
#define CCR_DIV_0_TRP (1u << 4)

/* CFSR bits worth spelling out in the report. */
#define CFSR_MMARVALID (1u << 7)
#define CFSR_BFARVALID (1u << 15)

void fault_init(void) {
  SCB_SHCSR |= SHCSR_MEMFAULTENA | SHCSR_BUSFAULTENA | SHCSR_USGFAULTENA | SHCSR_SECUREFAULTENA;
  SCB_CCR |= CCR_DIV_0_TRP;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
}

static const char *exception_name(uint32_t number) {
  switch (number) {
    case 2: return "NMI";
    case 3: return "HardFault";
    case 4: return "MemManage";
    case 5: return "BusFault";
    case 6: return "UsageFault";
    case 7: return "SecureFault";
    default: return number >= 16 ? "unexpected interrupt" : "unexpected exception";
  }
}

/* One line per CFSR bit that is set, so the log reads without the manual. */
static void explain_cfsr(uint32_t cfsr) {
  static const struct {
    uint32_t bit;
    const char *meaning;
  } bits[] = {
      {1u << 0, "MemManage: instruction fetch from a no-execute region (IACCVIOL)"},
      {1u << 1, "MemManage: data access violation (DACCVIOL)"},
      {1u << 3, "MemManage: fault while unstacking (MUNSTKERR)"},
      {1u << 4, "MemManage: fault while stacking (MSTKERR)"},
      {1u << 5, "MemManage: fault during lazy FP state save (MLSPERR)"},
      {1u << 8, "BusFault: instruction fetch bus error (IBUSERR)"},
      {1u << 9, "BusFault: precise data bus error, BFAR holds the address (PRECISERR)"},
      {1u << 11, "BusFault: fault while unstacking (UNSTKERR)"},
      {1u << 12, "BusFault: fault while stacking (STKERR)"},
      {1u << 13, "BusFault: fault during lazy FP state save (LSPERR)"},
      {1u << 16, "UsageFault: undefined instruction (UNDEFINSTR)"},
      {1u << 17, "UsageFault: invalid state, e.g. ARM mode (INVSTATE)"},
      {1u << 18, "UsageFault: invalid EXC_RETURN (INVPC)"},
      {1u << 19, "UsageFault: coprocessor disabled or absent, FPU/MVE off? (NOCP)"},
      {1u << 20, "UsageFault: stack overflow, MSP went below MSPLIM (STKOF)"},
      {1u << 24, "UsageFault: unaligned access (UNALIGNED)"},
      {1u << 25, "UsageFault: integer division by zero (DIVBYZERO)"},
  };
  for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++) {
    if (cfsr & bits[i].bit) {
      uart_puts("  ");
      uart_puts(bits[i].meaning);
      uart_putc('\n');
    }
  }
}

static void print_register(const char *name, uint32_t value) {
  uart_puts(name);
  uart_put_hex32(value);
}

/* Called from the assembly entry below with the stacked exception frame
   (r0-r3, r12, lr, pc, xPSR) and the EXC_RETURN value. Uses only the raw UART
   so it works even when the fault happened inside stdio. */
__attribute__((noreturn, used)) void fault_report(const uint32_t *frame, uint32_t exc_return) {
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  const uint32_t exception = ipsr & 0x1FFu;
  const uint32_t cfsr = SCB_CFSR;

  /* First line "<name> (exception n) at PC 0x...": host/logparse.py keys
     fault detection on a line that starts with the exception's name. */
  uart_putc('\n');
  uart_puts(exception_name(exception));
  uart_puts(" (exception ");
  uart_put_decimal(exception);
  uart_puts(") at PC ");
  uart_put_hex32(frame[6]);
  uart_putc('\n');
  print_register("  CFSR  ", cfsr);
  print_register("  HFSR  ", SCB_HFSR);
  print_register("  SFSR  ", SAU_SFSR);
  uart_putc('\n');
  print_register("  MMFAR ", SCB_MMFAR);
  uart_puts(cfsr & CFSR_MMARVALID ? " (valid)" : " (not valid)");
  print_register("  BFAR  ", SCB_BFAR);
  uart_puts(cfsr & CFSR_BFARVALID ? " (valid)" : " (not valid)");
  print_register("  SFAR  ", SAU_SFAR);
  uart_putc('\n');
  print_register("  PC    ", frame[6]);
  print_register("  LR    ", frame[5]);
  print_register("  xPSR  ", frame[7]);
  print_register("  SP    ", (uint32_t)(uintptr_t)frame);
  print_register("  EXC_RETURN ", exc_return);
  uart_putc('\n');
  print_register("  R0    ", frame[0]);
  print_register("  R1    ", frame[1]);
  print_register("  R2    ", frame[2]);
  print_register("  R3    ", frame[3]);
  print_register("  R12   ", frame[4]);
  uart_putc('\n');
  explain_cfsr(cfsr);
  if (SCB_HFSR & (1u << 30)) {
    uart_puts("  HardFault: escalated from a configurable fault (FORCED)\n");
  }
  if (SCB_HFSR & (1u << 1)) {
    uart_puts("  HardFault: vector table read failed (VECTTBL)\n");
  }
  platform_exit_without_stdio(PLATFORM_STATUS_FAULT);
}

/* Entry for every fault vector and unexpected interrupt. Naked so that no
   prologue touches the stack before we know which stack holds the frame.
   MSPLIM is cleared first: after a stack overflow (STKOF) the report itself
   needs stack below the old limit, and a second overflow would lock up. */
__attribute__((naked)) void Fault_Handler(void) {
  __asm__ volatile(
      "movs r0, #0            \n"
      "msr  msplim, r0        \n"
      "tst  lr, #4            \n" /* EXC_RETURN.SPSEL: 0 = MSP, 1 = PSP */
      "ite  eq                \n"
      "mrseq r0, msp          \n"
      "mrsne r0, psp          \n"
      "mov  r1, lr            \n"
      "b    fault_report      \n");
}
