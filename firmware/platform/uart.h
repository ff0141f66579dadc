/* CMSDK APB UART0 of the Corstone-300 board: the console on both simulators. */
#ifndef FIRMWARE_UART_H
#define FIRMWARE_UART_H

#include <stddef.h>

/* Enables the transmitter. Must run before the first uart_putc: with TX
   disabled the first write sets TX-full forever and uart_putc would hang. */
void uart_init(void);

void uart_putc(char c);
void uart_write(const char *data, size_t length);
void uart_puts(const char *text);          /* no newline added */
void uart_put_hex32(unsigned long value);  /* "0x%08lx", no stdio needed */
void uart_put_decimal(long long value);

#endif
