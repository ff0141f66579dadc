#include "uart.h"

#include <stdint.h>

/* UART0 through its Secure alias (0x59303000; Non-secure 0x49303000): we run
   Secure, QEMU's mps3-an547 decodes both, and the FVP's APB PPC lets a Secure
   master in through the Secure alias - the address Arm's own Secure examples
   use. */
#define UART0_BASE 0x59303000u

typedef struct {
  volatile uint32_t data;      /* 0x00 */
  volatile uint32_t state;     /* 0x04: bit 0 = TX buffer full */
  volatile uint32_t ctrl;      /* 0x08: bit 0 = TX enable */
  volatile uint32_t intstatus; /* 0x0C */
  volatile uint32_t bauddiv;   /* 0x10 */
} cmsdk_uart_t;

#define UART0 ((cmsdk_uart_t *)UART0_BASE)
#define UART_STATE_TX_FULL 1u
#define UART_CTRL_TX_ENABLE 1u

void uart_init(void) {
  /* Neither simulator cares about the baud rate, but the CMSDK UART needs a
     divider of at least 16 to be valid on hardware. */
  UART0->bauddiv = 16;
  UART0->ctrl = UART_CTRL_TX_ENABLE;
}

void uart_putc(char c) {
  while (UART0->state & UART_STATE_TX_FULL) {
  }
  UART0->data = (uint8_t)c;
}

void uart_write(const char *data, size_t length) {
  for (size_t i = 0; i < length; i++) {
    uart_putc(data[i]);
  }
}

void uart_puts(const char *text) {
  while (*text) {
    uart_putc(*text++);
  }
}

void uart_put_hex32(unsigned long value) {
  static const char digits[] = "0123456789abcdef";
  uart_puts("0x");
  for (int shift = 28; shift >= 0; shift -= 4) {
    uart_putc(digits[(value >> shift) & 0xFu]);
  }
}

void uart_put_decimal(long long value) {
  char text[21];
  int length = 0;
  unsigned long long magnitude = value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
  do {
    text[length++] = (char)('0' + magnitude % 10u);
    magnitude /= 10u;
  } while (magnitude != 0);
  if (value < 0) {
    uart_putc('-');
  }
  while (length > 0) {
    uart_putc(text[--length]);
  }
}
