/* The text-line images an OCR app reads, linked in as one blob (blob.S) in DDR.
 *
 * Written by host/convert.py; all fields little-endian:
 *   header  "OCRI", u16 version (1), u16 count, u16 channels, u16 height,
 *           u16 width, u16 reserved                               16 bytes
 *   count records, each
 *           u16 valid_width, u16 reserved[7]                      16 bytes
 *           u8 pixels[height][width][channels]  (HWC, the model's channel
 *           order, resized to the model height keeping the aspect ratio;
 *           columns from valid_width on are zero and never read)
 *           padding to a multiple of 16 bytes
 * The host only decodes and resizes (PaddleOCR's resize); normalisation and
 * padding to the model width happen on the device (preprocess.c).
 */
#ifndef OCR_IMAGES_H
#define OCR_IMAGES_H
#include <stdint.h>

#define OCR_IMAGES_MAGIC "OCRI"
#define OCR_IMAGES_VERSION 1u

typedef struct {
  char magic[4];
  uint16_t version;
  uint16_t count;
  uint16_t channels;
  uint16_t height;
  uint16_t width;
  uint16_t reserved;
} ocr_images_header;

typedef struct {
  uint16_t valid_width;
  uint16_t reserved[7];
} ocr_image_record;

/* The linked blob (symbols from blob.S with BLOB_NAME=ocr_images). */
extern const uint8_t ocr_images[];
extern const uint32_t ocr_images_size;

/* Checks the header against the model's input shape; returns NULL when the
   blob is usable, else a one-line reason. */
const char *ocr_images_check(const ocr_images_header *header, unsigned channels, unsigned height,
                             unsigned width, uint32_t blob_size);

/* Pixels and valid width of image i (0 <= i < count). */
const uint8_t *ocr_image_pixels(const ocr_images_header *header, unsigned i, unsigned *valid_width);

#endif
