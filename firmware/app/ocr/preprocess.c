#include "preprocess.h"

void ocr_preprocess(const unsigned char *pixels, unsigned valid_width, unsigned channels,
                    unsigned height, unsigned width, const float *mean, const float *std,
                    float *out) {
  for (unsigned c = 0; c < channels; c++) {
    /* One multiply-add per pixel: x * (1/(255 std)) - mean/std. */
    const float scale = 1.0f / (255.0f * std[c]);
    const float shift = mean[c] / std[c];
    float *plane = out + (unsigned long)c * height * width;
    for (unsigned y = 0; y < height; y++) {
      const unsigned char *row = pixels + (unsigned long)y * width * channels;
      float *dst = plane + (unsigned long)y * width;
      for (unsigned x = 0; x < valid_width; x++) {
        dst[x] = (float)row[x * channels + c] * scale - shift;
      }
      for (unsigned x = valid_width; x < width; x++) {
        dst[x] = 0.0f;
      }
    }
  }
}
