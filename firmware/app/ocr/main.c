/* The text recognizer on the Cortex-M55.
 *
 * For every image in the linked blob: normalise the pixels into the model
 * input, run the TVM-generated model (model_run), decode the CTC output and
 * print the text in the learning path's format. With one image:
 *     text: QBHOUSE, score: 0.986746
 * with a test set each line names its image:
 *     image: 12, text: QBHOUSE, score: 0.986746
 * followed by the instruction count of that inference. The weights' CRC-32 is
 * checked once before the first inference so a stale or corrupt blob cannot
 * produce plausible-looking text. Exit status: 0 when every inference ran,
 * 2 when the weights or images are unusable. */
#include <stdio.h>

#include "crc32.h"
#include "ctc.h"
#include "images.h"
#include "labels.h"
#include "model.h"
#include "platform.h"
#include "preprocess.h"
#include "profile.h"

#define STATUS_BAD_DATA 2

extern const uint8_t model_weights[];
extern const uint32_t model_weights_size;

static float input[MODEL_INPUT_C * MODEL_INPUT_H * MODEL_INPUT_W] PLATFORM_DDR_BSS;
static float output[MODEL_OUTPUT_T * MODEL_OUTPUT_CLASSES] PLATFORM_DDR_BSS;
static char text[4 * MODEL_OUTPUT_T + 1]; /* up to 4 UTF-8 bytes per time step */

static int check_data(const ocr_images_header *images) {
  if (model_weights_size != MODEL_WEIGHTS_BYTES) {
    printf("error: weights blob has %lu bytes, the model expects %lu\n",
           (unsigned long)model_weights_size, (unsigned long)MODEL_WEIGHTS_BYTES);
    return 0;
  }
  const uint32_t crc = crc32(model_weights, model_weights_size);
  if (crc != MODEL_WEIGHTS_CRC32) {
    printf("error: weights CRC-32 0x%08lx, the model expects 0x%08lx\n", (unsigned long)crc,
           (unsigned long)MODEL_WEIGHTS_CRC32);
    return 0;
  }
  if (ocr_label_count != MODEL_OUTPUT_CLASSES) {
    printf("error: %u labels for %u model classes\n", ocr_label_count, (unsigned)MODEL_OUTPUT_CLASSES);
    return 0;
  }
  const char *problem = ocr_images_check(images, MODEL_INPUT_C, MODEL_INPUT_H, MODEL_INPUT_W, ocr_images_size);
  if (problem) {
    printf("error: %s\n", problem);
    return 0;
  }
  return 1;
}

int main(void) {
  const ocr_images_header *images = (const ocr_images_header *)ocr_images;
  printf("ocr: PaddleOCR recognizer, input %ux%ux%u, %u classes, %u kernels, arena %lu bytes\n",
         (unsigned)MODEL_INPUT_C, (unsigned)MODEL_INPUT_H, (unsigned)MODEL_INPUT_W,
         (unsigned)MODEL_OUTPUT_CLASSES, (unsigned)MODEL_NUM_KERNELS, (unsigned long)MODEL_ARENA_BYTES);
  if (!check_data(images)) {
    return STATUS_BAD_DATA;
  }
  for (unsigned i = 0; i < images->count; i++) {
    unsigned valid_width;
    const uint8_t *pixels = ocr_image_pixels(images, i, &valid_width);
    ocr_preprocess(pixels, valid_width, MODEL_INPUT_C, MODEL_INPUT_H, MODEL_INPUT_W, ocr_input_mean,
                   ocr_input_std, input);
    const uint64_t start = counter_ticks();
    const int rc = model_run(input, output);
    const uint64_t instructions = counter_ticks_to_instructions(counter_ticks() - start);
    if (rc != 0) {
      printf("error: model_run returned %d\n", rc);
      return STATUS_BAD_DATA;
    }
    const ocr_ctc_result result =
        ocr_ctc_greedy(output, MODEL_OUTPUT_T, MODEL_OUTPUT_CLASSES, ocr_labels, text, sizeof text);
    if (images->count == 1) {
      printf("text: %s, score: %.6f\n", text, (double)result.score);
    } else {
      printf("image: %u, text: %s, score: %.6f\n", i, text, (double)result.score);
    }
    platform_print_instructions(instructions);
  }
  ocr_profile_report();
  return 0;
}
