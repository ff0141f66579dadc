/* Instruction/cycle counter based on SysTick.
 *
 * Why SysTick: the DWT cycle counter (CYCCNT) is not modelled by QEMU (it
 * reads 0), while SysTick is, and under `-icount shift=0` QEMU advances its
 * virtual clock by exactly 1 ns per guest instruction. SysTick runs on the
 * 32 MHz CPU clock of the mps3-an547, so one tick = 31.25 ns = 31.25
 * instructions, and two runs of the same ELF give identical counts.
 *
 * On the FVP (and hardware) DWT CYCCNT runs; we detect that at start-up and
 * count one tick as one CPU cycle. The FVP is not cycle-accurate: it retires
 * about one instruction per cycle, so the number is again close to an
 * instruction count, but it is not comparable bit-for-bit with QEMU's.
 *
 * Resolution is one tick (31.25 instructions on QEMU); reading costs about 20
 * instructions, i.e. below the resolution.
 */
#ifndef FIRMWARE_COUNTER_H
#define FIRMWARE_COUNTER_H

#include <stdint.h>

/* Starts SysTick free-running with the wrap interrupt. Called by startup
   before main, so apps only read. */
void counter_init(void);

/* Raw SysTick ticks since counter_init. Monotonic, 64 bits. */
uint64_t counter_ticks(void);

/* Converts a tick count (or a difference of two) to instructions: x31.25 on
   QEMU, x1 (cycles) elsewhere. */
uint64_t counter_ticks_to_instructions(uint64_t ticks);

/* counter_ticks() already converted. Typical use:
     uint64_t start = counter_ticks();
     kernel();
     printf("instructions: %llu\n",
            counter_ticks_to_instructions(counter_ticks() - start)); */
uint64_t counter_instructions(void);

/* "instructions (QEMU -icount shift=0, 1 tick = 31.25)" or
   "cycles (DWT running: FVP or hardware, 1 tick = 1 cycle)". */
const char *counter_description(void);

/* 1 when the cycle-counting DWT runs (FVP, hardware), 0 on QEMU. */
int counter_dwt_running(void);

#endif
