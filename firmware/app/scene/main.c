/* Whole-image OCR on the Cortex-M55: PaddleOCR's two stages on the device.
 *
 * For every image in the linked blob:
 *   1. resize it into the detector's input (aspect ratio kept, padded) and
 *      run the DB text detector (det_run, TVM-generated);
 *   2. DB post-processing (dbpost.c): threshold, connected regions, box
 *      score, minimum-area rectangle, unclip, reading order;
 *   3. each box cut from the full-resolution image with a perspective warp to
 *      the recognizer's height, recognized (model_run) and CTC-decoded.
 * Prints one line per text, in the input image's pixel coordinates:
 *     box: 12,40,180,38,181,70,13,72, text: QBHOUSE, score: 0.981234
 * ("image: <i>, " first when the blob holds several images), "no text found"
 * when there is none, then the instruction counts of the stages. The two
 * models never run at the same time, so they share one arena. Exit status:
 * 0 when every image was read, 2 when the weights or images are unusable. */
#include <stdio.h>

#include "crc32.h"
#include "ctc.h"
#include "dbpost.h"
#include "labels.h"
#include "model.h"
#include "platform.h"
#include "preprocess.h"
#include "resample.h"
#include "scene_config.h"
#include "scene_image.h"
#include DET_MODEL_HEADER /* the detector's model.h, names under det_ (codegen --prefix det) */

#define STATUS_BAD_DATA 2
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define SCENE_ARENA_BYTES MAX(DET_ARENA_BYTES, MODEL_ARENA_BYTES)

extern const uint32_t model_weights_size, det_weights_size;

/* Both models' intermediates (model.c is compiled with -DMODEL_ARENA=scene_arena,
   the detector's with -DDET_ARENA=scene_arena). */
uint8_t scene_arena[SCENE_ARENA_BYTES] PLATFORM_MODEL_ARENA;
static float det_input[DET_INPUT_SIZE] PLATFORM_DDR_BSS;
static float det_output[DET_OUTPUT_SIZE] PLATFORM_DDR_BSS;
static uint8_t db_work[(DET_INPUT_H * DET_INPUT_W) * 4u + 65536u] PLATFORM_DDR_BSS;
static unsigned char line_pixels[MODEL_INPUT_H * MODEL_INPUT_W * 3] PLATFORM_DDR_BSS;
static float rec_input[MODEL_INPUT_SIZE] PLATFORM_DDR_BSS;
static float rec_output[MODEL_OUTPUT_SIZE] PLATFORM_DDR_BSS;
static ocr_box boxes[SCENE_BOX_CAPACITY];
static char text[4 * MODEL_OUTPUT_T + 1];

static int weights_ok(const char *what, const uint8_t *blob, uint32_t size, uint32_t want_size,
                      uint32_t want_crc) {
  if (size != want_size) {
    printf("error: %s weights blob has %lu bytes, the model expects %lu\n", what, (unsigned long)size,
           (unsigned long)want_size);
    return 0;
  }
  const uint32_t crc = crc32(blob, size);
  if (crc != want_crc) {
    printf("error: %s weights CRC-32 0x%08lx, the model expects 0x%08lx\n", what, (unsigned long)crc,
           (unsigned long)want_crc);
    return 0;
  }
  return 1;
}

static int check_data(const scene_images_header *images) {
  if (!weights_ok("detector", det_weights, det_weights_size, DET_WEIGHTS_BYTES, DET_WEIGHTS_CRC32) ||
      !weights_ok("recognizer", model_weights, model_weights_size, MODEL_WEIGHTS_BYTES,
                  MODEL_WEIGHTS_CRC32)) {
    return 0;
  }
  if (ocr_label_count != MODEL_OUTPUT_CLASSES) {
    printf("error: %u labels for %u model classes\n", ocr_label_count, (unsigned)MODEL_OUTPUT_CLASSES);
    return 0;
  }
  if (scene_max_boxes > SCENE_BOX_CAPACITY) {
    printf("error: box limit %u is more than the app holds (%u)\n", scene_max_boxes, SCENE_BOX_CAPACITY);
    return 0;
  }
  const char *problem = scene_images_check(images, ocr_images_size);
  if (problem) {
    printf("error: %s\n", problem);
    return 0;
  }
  return 1;
}

static void print_u64(const char *label, uint64_t value) {
  char digits[21];
  printf("%s%s", label, format_u64(value, digits));
}

/* Recognizes box k of the image; returns 1 when its text was printed. */
static int read_line(const scene_image *image, const ocr_box *box, int with_index, unsigned index) {
  const unsigned width =
      scene_cut_line(image, box, MODEL_INPUT_H, MODEL_INPUT_W, scene_rec_bgr, line_pixels);
  if (width == 0) {
    return 0;
  }
  ocr_preprocess(line_pixels, width, MODEL_INPUT_C, MODEL_INPUT_H, MODEL_INPUT_W, ocr_input_mean,
                 ocr_input_std, rec_input);
  const int rc = model_run(rec_input, rec_output);
  if (rc != 0) {
    printf("error: model_run returned %d\n", rc);
    return -1;
  }
  const ocr_ctc_result result =
      ocr_ctc_greedy(rec_output, MODEL_OUTPUT_T, MODEL_OUTPUT_CLASSES, ocr_labels, text, sizeof text);
  if (result.score < scene_drop_score) {
    return 0;
  }
  if (with_index) {
    printf("image: %u, ", index);
  }
  printf("box: ");
  for (unsigned c = 0; c < 4; c++) {
    printf("%d,%d%s", (int)box->x[c], (int)box->y[c], c < 3 ? "," : "");
  }
  printf(", text: %s, score: %.6f\n", text, (double)result.score);
  return 1;
}

int main(void) {
  const scene_images_header *images = (const scene_images_header *)(const void *)ocr_images;
  printf("scene: detector %ux%u (%u kernels), recognizer %ux%ux%u (%u kernels), "
         "shared arena %lu bytes (detector %lu, recognizer %lu)\n",
         (unsigned)DET_INPUT_H, (unsigned)DET_INPUT_W, (unsigned)DET_NUM_KERNELS,
         (unsigned)MODEL_INPUT_C, (unsigned)MODEL_INPUT_H, (unsigned)MODEL_INPUT_W,
         (unsigned)MODEL_NUM_KERNELS, (unsigned long)SCENE_ARENA_BYTES, (unsigned long)DET_ARENA_BYTES,
         (unsigned long)MODEL_ARENA_BYTES);
  if (!check_data(images)) {
    return STATUS_BAD_DATA;
  }
  if (ocr_db_work_bytes(DET_INPUT_H, DET_INPUT_W) > sizeof db_work) {
    printf("error: DB post-processing needs %lu bytes of work memory, the app has %lu\n",
           (unsigned long)ocr_db_work_bytes(DET_INPUT_H, DET_INPUT_W), (unsigned long)sizeof db_work);
    return STATUS_BAD_DATA;
  }
  const int several = images->count > 1;
  for (unsigned i = 0; i < images->count; i++) {
    const scene_image image = scene_image_at(images, i);
    unsigned fit_w, fit_h;
    scene_fit(image.width, image.height, DET_INPUT_W, DET_INPUT_H, &fit_w, &fit_h);
    const uint64_t t0 = counter_ticks();
    scene_detector_input(&image, fit_w, fit_h, DET_INPUT_W, DET_INPUT_H, scene_det_mean, scene_det_std,
                         det_input);
    const int rc = det_run(det_input, det_output);
    if (rc != 0) {
      printf("error: det_run returned %d\n", rc);
      return STATUS_BAD_DATA;
    }
    const uint64_t t1 = counter_ticks();
    unsigned found = 0;
    const int count = ocr_db_boxes(det_output, DET_INPUT_W, fit_h, fit_w, image.height, image.width,
                                   &scene_db_params, db_work, sizeof db_work, boxes, scene_max_boxes,
                                   &found);
    const uint64_t t2 = counter_ticks();
    if (count < 0) {
      printf("error: DB post-processing ran out of work memory\n");
      return STATUS_BAD_DATA;
    }
    unsigned printed = 0;
    for (int k = 0; k < count; k++) {
      const int shown = read_line(&image, &boxes[k], several, i);
      if (shown < 0) {
        return STATUS_BAD_DATA;
      }
      printed += (unsigned)shown;
    }
    const uint64_t t3 = counter_ticks();
    if (several) {
      printf("image: %u, ", i);
    }
    if (printed == 0) {
      printf("no text found");
    } else {
      printf("texts: %u", printed);
    }
    printf(" (%u boxes, %u read, %u below score %.2f", found, (unsigned)count,
           (unsigned)count - printed, (double)scene_drop_score);
    if (found > (unsigned)count) {
      printf("; %u over the box limit %u not read", found - (unsigned)count, scene_max_boxes);
    }
    printf(")\n");
    if (several) {
      printf("image: %u, ", i);
    }
    print_u64("stages: detector ", counter_ticks_to_instructions(t1 - t0));
    print_u64(", post-processing ", counter_ticks_to_instructions(t2 - t1));
    print_u64(", recognition ", counter_ticks_to_instructions(t3 - t2));
    printf(" (%d lines)\n", count);
    platform_print_instructions(counter_ticks_to_instructions(t3 - t0));
  }
  return 0;
}
