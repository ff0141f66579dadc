/* newlib(-nano) system calls: stdout/stderr go to UART0, the heap grows in
   DTCM between .bss and the stack, everything else is a stub that fails
   cleanly. Linked with --specs=nano.specs and without libnosys. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "exit.h"
#include "uart.h"

/* printf("%f") must work in every app (the recognizer prints "score: %f"),
   but newlib-nano formats floats only when _printf_float is linked: without
   it %f silently prints nothing. Referencing it here does what
   `-u _printf_float` on the link line does, so no build can forget it.
   Measured cost: 9.2 KB code, 0.8 KB rodata, 0.4 KB data. */
extern void _printf_float(void);
__attribute__((used)) static void (*const link_float_printf)(void) = _printf_float;

/* From corstone300.ld. */
extern char __heap_start[];
extern char __heap_limit[];

int _write(int file, const char *data, int length) {
  if (file != 1 && file != 2) {
    errno = EBADF;
    return -1;
  }
  uart_write(data, (size_t)length);
  return length;
}

/* Grows the heap up to the stack limit; malloc gets NULL (ENOMEM) beyond it
   instead of silently growing into the stack. */
void *_sbrk(ptrdiff_t increment) {
  static char *heap_end = __heap_start;
  char *previous = heap_end;
  if (increment > __heap_limit - heap_end || increment < __heap_start - heap_end) {
    errno = ENOMEM;
    return (void *)-1;
  }
  heap_end += increment;
  return previous;
}

/* exit() and abort() end here: same log lines and exit code as returning
   from main. */
void _exit(int status) {
  platform_exit_without_stdio(status);
}

int _read(int file, char *data, int length) {
  (void)file;
  (void)data;
  (void)length;
  return 0; /* no input: end of file */
}

int _close(int file) {
  (void)file;
  errno = EBADF;
  return -1;
}

int _fstat(int file, struct stat *status) {
  (void)file;
  status->st_mode = S_IFCHR; /* a character device: newlib line-buffers it */
  return 0;
}

int _isatty(int file) {
  return file >= 0 && file <= 2;
}

int _lseek(int file, int offset, int whence) {
  (void)file;
  (void)offset;
  (void)whence;
  errno = ESPIPE;
  return -1;
}

int _getpid(void) {
  return 1;
}

int _kill(int pid, int signal) {
  (void)pid;
  (void)signal;
  errno = EINVAL;
  return -1;
}
