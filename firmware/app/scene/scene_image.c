/* Reading the image blob described in scene_image.h. */
#include "scene_image.h"

#include <string.h>

static uint32_t record_bytes(const scene_image_record *record) {
  const uint32_t bytes = (uint32_t)sizeof(*record) + (uint32_t)record->width * record->height * 3u;
  return (bytes + 15u) & ~15u;
}

const char *scene_images_check(const scene_images_header *header, uint32_t blob_size) {
  if (blob_size < sizeof(*header) || memcmp(header->magic, SCENE_IMAGES_MAGIC, 4) != 0) {
    return "image blob has no OCRS header (not made by host/scene.py)";
  }
  if (header->version != SCENE_IMAGES_VERSION || header->channels != 3) {
    return "image blob version or channel count is not 1 / 3";
  }
  uint32_t offset = sizeof(*header);
  for (unsigned i = 0; i < header->count; i++) {
    if (offset + sizeof(scene_image_record) > blob_size) {
      return "image blob is truncated";
    }
    const scene_image_record *record = (const scene_image_record *)(const void *)((const uint8_t *)header + offset);
    if (record->width == 0 || record->height == 0) {
      return "image blob has an empty image";
    }
    offset += record_bytes(record);
    if (offset > blob_size) {
      return "image blob is truncated";
    }
  }
  return header->count ? NULL : "image blob holds no image";
}

scene_image scene_image_at(const scene_images_header *header, unsigned i) {
  const uint8_t *at = (const uint8_t *)(header + 1);
  for (unsigned k = 0; k < i; k++) {
    at += record_bytes((const scene_image_record *)(const void *)at);
  }
  const scene_image_record *record = (const scene_image_record *)(const void *)at;
  const scene_image image = {at + sizeof(*record), record->width, record->height};
  return image;
}
