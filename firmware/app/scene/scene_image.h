/* The whole images the scene app reads, linked in as one blob (blob.S).
 *
 * Written by host/scene.py; all fields little-endian:
 *   header  "OCRS", u16 version (1), u16 count, u16 channels (3),
 *           u16 reserved[3]                                       16 bytes
 *   count records, each
 *           u16 width, u16 height, u32 reserved[3]                16 bytes
 *           u8 pixels[height][width][3]  (HWC, B G R: as cv2 decodes, the
 *           detector's order; the full resolution the crops are cut from)
 *           padding to a multiple of 16 bytes
 * The host only decodes the file; resizing for the detector, cutting and
 * warping the text lines for the recognizer happen on the device.
 */
#ifndef SCENE_IMAGE_H
#define SCENE_IMAGE_H
#include <stdint.h>

#define SCENE_IMAGES_MAGIC "OCRS"
#define SCENE_IMAGES_VERSION 1u

typedef struct {
  char magic[4];
  uint16_t version;
  uint16_t count;
  uint16_t channels;
  uint16_t reserved[3];
} scene_images_header;

typedef struct {
  uint16_t width;
  uint16_t height;
  uint32_t reserved[3];
} scene_image_record;

typedef struct {
  const uint8_t *bgr; /* height x width x 3 */
  unsigned width, height;
} scene_image;

/* The linked blob (blob.S with BLOB_NAME=ocr_images). */
extern const uint8_t ocr_images[];
extern const uint32_t ocr_images_size;

/* NULL when the blob is usable (header, every record inside the blob), else a
   one-line reason. */
const char *scene_images_check(const scene_images_header *header, uint32_t blob_size);

/* Image i (0 <= i < count) of a checked blob. */
scene_image scene_image_at(const scene_images_header *header, unsigned i);

#endif
