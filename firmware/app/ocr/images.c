/* Reading the image blob described in images.h. */
#include "images.h"

#include <string.h>

static uint32_t record_stride(const ocr_images_header *header) {
  const uint32_t bytes = (uint32_t)sizeof(ocr_image_record) +
                         (uint32_t)header->height * header->width * header->channels;
  return (bytes + 15u) & ~15u;
}

const char *ocr_images_check(const ocr_images_header *header, unsigned channels, unsigned height,
                             unsigned width, uint32_t blob_size) {
  if (blob_size < sizeof(*header) || memcmp(header->magic, OCR_IMAGES_MAGIC, 4) != 0) {
    return "image blob has no OCRI header";
  }
  if (header->version != OCR_IMAGES_VERSION) {
    return "image blob version is not 1";
  }
  if (header->channels != channels || header->height != height || header->width != width) {
    return "image blob shape differs from the model input shape";
  }
  if (header->count == 0 || sizeof(*header) + (uint64_t)header->count * record_stride(header) > blob_size) {
    return "image blob is empty or truncated";
  }
  return NULL;
}

const uint8_t *ocr_image_pixels(const ocr_images_header *header, unsigned i, unsigned *valid_width) {
  const uint8_t *record = (const uint8_t *)(header + 1) + (uint32_t)i * record_stride(header);
  const ocr_image_record *info = (const ocr_image_record *)record;
  *valid_width = info->valid_width;
  return record + sizeof(ocr_image_record);
}
