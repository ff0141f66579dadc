/* Links a binary file into the ELF as 16-byte aligned read-only data in DDR.
 *
 * Default use (the recognizer): assemble with the directory that holds
 * weights.bin on the *assembler's* include path, which is where .incbin
 * searches:
 *     arm-none-eabi-gcc <cflags> -Wa,-I,build/codegen -c blob.S -o weights.o
 * and it defines, in section .rodata.model_weights (placed in DDR by
 * corstone300.ld):
 *     extern const uint8_t model_weights[];      16-byte aligned
 *     extern const uint8_t model_weights_end[];
 *     extern const uint32_t model_weights_size;  bytes
 * The build must declare weights.bin as a dependency of the object itself
 * (no scanner sees .incbin).
 *
 * Other blobs (e.g. test images) reuse this file with -D overrides that need
 * no quoting:
 *     -DBLOB_FILE=images.bin -DBLOB_NAME=test_images -DBLOB_SECTION=.rodata.test_data
 */
#ifndef BLOB_FILE
#define BLOB_FILE weights.bin
#endif
#ifndef BLOB_NAME
#define BLOB_NAME model_weights
#endif
#ifndef BLOB_SECTION
#define BLOB_SECTION .rodata.model_weights
#endif

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define JOIN_(a, b) a##b
#define JOIN(a, b) JOIN_(a, b)

    .section BLOB_SECTION, "a", %progbits
    .balign 16
    .global BLOB_NAME
    .type   BLOB_NAME, %object
BLOB_NAME:
    .incbin STRINGIFY(BLOB_FILE)
    .global JOIN(BLOB_NAME, _end)
JOIN(BLOB_NAME, _end):
    .size   BLOB_NAME, JOIN(BLOB_NAME, _end) - BLOB_NAME

    .balign 4
    .global JOIN(BLOB_NAME, _size)
    .type   JOIN(BLOB_NAME, _size), %object
JOIN(BLOB_NAME, _size):
    .word   JOIN(BLOB_NAME, _end) - BLOB_NAME
    .size   JOIN(BLOB_NAME, _size), 4
