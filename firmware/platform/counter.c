#include "counter.h"

/* SysTick (ARMv8-M system control space). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)
#define SYST_RELOAD 0x00FFFFFFu /* the full 24-bit range */

/* Interrupt control and state: SysTick pending bit. */
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define SCB_ICSR_PENDSTSET (1u << 26)

/* DWT cycle counter, only used to tell QEMU from the FVP/hardware. */
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_CTRL_CYCCNTENA (1u << 0)

static volatile uint32_t systick_wraps;
static int dwt_running;

void SysTick_Handler(void) {
  systick_wraps++;
}

static int detect_running_dwt(void) {
  DEMCR |= DEMCR_TRCENA;
  DWT_CYCCNT = 0;
  DWT_CTRL |= DWT_CTRL_CYCCNTENA;
  for (volatile int i = 0; i < 16; i++) {
  }
  return DWT_CYCCNT != 0;
}

void counter_init(void) {
  dwt_running = detect_running_dwt();

  SYST_CSR = 0;
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0; /* any write clears the current value and COUNTFLAG */
  systick_wraps = 0;
  SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE_CPU;
  /* QEMU reports CVR = 0 until the counter has really been loaded: the first
     reading after enabling is bogus, so wait for the reload to show. */
  while (SYST_CVR == 0) {
  }
}

uint64_t counter_ticks(void) {
  uint32_t wraps;
  uint32_t current;
  uint32_t pending;
  do {
    wraps = systick_wraps;
    current = SYST_CVR;
    pending = SCB_ICSR & SCB_ICSR_PENDSTSET;
  } while (wraps != systick_wraps);
  /* The counter reloaded but its interrupt has not run yet: the reading is
     already in the next period. (A small value means the reload came after
     we sampled CVR, so it belongs to this period.) */
  if (pending && current > SYST_RELOAD / 2) {
    wraps++;
  }
  return ((uint64_t)wraps << 24) + (SYST_RELOAD - current);
}

uint64_t counter_ticks_to_instructions(uint64_t ticks) {
  if (dwt_running) {
    return ticks;
  }
  /* QEMU: 32 MHz SysTick clock, 1 GHz instruction clock -> 31.25 = 125/4. */
  return ticks * 125u / 4u;
}

uint64_t counter_instructions(void) {
  return counter_ticks_to_instructions(counter_ticks());
}

const char *counter_description(void) {
  return dwt_running ? "cycles (DWT running: FVP or hardware, 1 SysTick tick = 1 cycle)"
                     : "instructions (QEMU -icount shift=0: 1 SysTick tick = 31.25 instructions)";
}

int counter_dwt_running(void) {
  return dwt_running;
}
