/* Fault reporting: every fault ends the run with a register dump on the UART
   and PLATFORM_STATUS_FAULT, instead of a silent lock-up. */
#ifndef FIRMWARE_FAULT_H
#define FIRMWARE_FAULT_H

/* Enables MemManage, BusFault, UsageFault and SecureFault as their own
   exceptions (otherwise everything escalates to HardFault with less detail)
   and traps integer division by zero. Called by startup before main. */
void fault_init(void);

#endif
