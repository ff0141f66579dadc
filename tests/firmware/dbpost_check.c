/* Host driver for firmware/app/scene/dbpost.c (tests/firmware/test_dbpost.py):
 *
 *   dbpost_check MAP H W VALID_H VALID_W SRC_H SRC_W [MAX_BOXES [WORK_BYTES]]
 *
 * MAP is H x W raw float32 (native byte order, row stride W); the valid region is its top-left
 * VALID_H x VALID_W and maps onto SRC_H x SRC_W source pixels. MAX_BOXES defaults to
 * OCR_DB_MAX_CANDIDATES, WORK_BYTES to ocr_db_work_bytes(VALID_H, VALID_W). Prints
 *
 *   work <bytes needed>
 *   result <return value> found <found>
 *   box <x0> <y0> <x1> <y1> <x2> <y2> <x3> <y3> <score>     one line per written box
 *
 * with PaddleOCR's DBPostProcess defaults (thresh 0.3, box_thresh 0.6, unclip_ratio 1.5,
 * min_size 3). Exit status 0 unless the arguments or the file are unusable. */
#include <stdio.h>
#include <stdlib.h>

#include "dbpost.h"

static unsigned arg(const char *s) { return (unsigned)strtoul(s, NULL, 10); }

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: %s MAP H W VALID_H VALID_W SRC_H SRC_W [MAX_BOXES [WORK_BYTES]]\n",
            argv[0]);
    return 2;
  }
  const unsigned h = arg(argv[2]), w = arg(argv[3]), vh = arg(argv[4]), vw = arg(argv[5]);
  const unsigned src_h = arg(argv[6]), src_w = arg(argv[7]);
  const unsigned max_boxes = argc > 8 ? arg(argv[8]) : OCR_DB_MAX_CANDIDATES;
  const size_t need = ocr_db_work_bytes(vh, vw);
  const size_t work_bytes = argc > 9 ? (size_t)strtoull(argv[9], NULL, 10) : need;
  if (h == 0 || w == 0) {
    fprintf(stderr, "empty map\n");
    return 2;
  }
  float *map = malloc((size_t)h * w * sizeof(float));
  FILE *f = fopen(argv[1], "rb");
  if (!map || !f || fread(map, sizeof(float), (size_t)h * w, f) != (size_t)h * w) {
    fprintf(stderr, "cannot read %u x %u floats from %s\n", h, w, argv[1]);
    return 2;
  }
  fclose(f);
  /* + 8 so that a deliberately short buffer is still a valid, aligned allocation */
  void *work = malloc(work_bytes + 8);
  ocr_box *boxes = malloc((max_boxes ? max_boxes : 1) * sizeof(ocr_box));
  if (!work || !boxes) {
    fprintf(stderr, "out of memory\n");
    return 2;
  }
  const ocr_db_params params = {0.3f, 0.6f, 1.5f, 3};
  unsigned found = 0;
  const int n = ocr_db_boxes(map, w, vh, vw, src_h, src_w, &params, work, work_bytes, boxes,
                             max_boxes, &found);
  printf("work %lu\n", (unsigned long)need);
  printf("result %d found %u\n", n, found);
  for (int i = 0; i < n; i++) {
    const ocr_box *b = &boxes[i];
    printf("box %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g\n", b->x[0], b->y[0], b->x[1], b->y[1],
           b->x[2], b->y[2], b->x[3], b->y[3], b->score);
  }
  free(boxes);
  free(work);
  free(map);
  return 0;
}
