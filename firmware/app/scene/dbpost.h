/* PaddleOCR's DB text-detection post-processing (DBPostProcess with box_type='quad',
 * score_mode='fast', use_dilation=False, max_candidates=1000, then predict_det's
 * filter_tag_det_res and predict_system's sorted_boxes) in plain C for the device: no malloc
 * (the caller passes one work buffer), nothing from libc but <math.h> and <string.h>.
 *
 * It redoes what ppocr computes with OpenCV 5.0 (the version requirements.lock pins), pyclipper
 * and shapely, in their arithmetic, rather than approximating it: every step ends in a
 * threshold or an integer cast, where an approximation flips boxes in and out or moves corners.
 * On the test maps every corner is identical to ppocr's and every score within 2e-6.
 *
 *  1. bitmap = prob > threshold over the valid region.
 *  2. cv2.findContours(RETR_LIST): Suzuki-Abe border following on a byte copy of the bitmap
 *     framed by zeros (it holds the marks the algorithm needs), so outer borders AND the
 *     borders of holes are contours, found in OpenCV's order. Of each contour only its convex
 *     hull is used later, built from the contour's leftmost and rightmost point in every row.
 *     ppocr scores only the first max_candidates contours of OpenCV's list, which runs from the
 *     last found to the first: so here only the last OCR_DB_MAX_CANDIDATES found make boxes.
 *  3. get_mini_boxes: cv2.minAreaRect (OpenCV 5.0's rotating calipers in its float arithmetic,
 *     on the hull in the vertex order OpenCV's convexHull gives it) and cv2.boxPoints, corners
 *     ordered as ppocr does; dropped if the shorter side < min_size.
 *  4. box_score_fast: the mean probability over the pixels cv2.fillPoly sets for the corners
 *     cast to int (its 8-connected outline plus its fixed-point scanline fill, clipping
 *     included); dropped if below box_threshold.
 *  5. unclip: pyclipper's round-join offset (Clipper 6.4's ClipperOffset, arc tolerance 0.25)
 *     of the corners truncated to integers, by area * unclip_ratio / perimeter (shapely's
 *     formulas), then minAreaRect of the result; dropped if the shorter side < min_size + 2.
 *  6. corners to source pixels: clip(rint(x / valid_w * src_w), 0, src_w) in float (rintf is
 *     np.round's round-half-to-even; ppocr's float32 path when src_w is an integer).
 *  7. filter_tag_det_res (order_points_clockwise, clip to [0, w-1] x [0, h-1], drop a box whose
 *     width or height as an int is <= 3), then sorted_boxes.
 *
 * Where it can still differ from ppocr (none of these showed on the test maps):
 *  - convexHull's first vertex depends on the order of the contour's points; the rule used here
 *    is exact unless a contour passes a hull vertex twice (thin, noisy shapes); then only
 *    equal-area ties and last-bit rounding in the calipers can differ.
 *  - Clipper's final union is not run; for the convex offset polygon it only removes collinear
 *    points, which leaves the hull as it is.
 *  - A box's probabilities are summed in float per row and in double over the rows (cv2.mean:
 *    all double), and box_threshold is a float (ppocr's 0.6 a double): scores differ by ~1e-6,
 *    which matters only for a score within that of box_threshold.
 *  - Degenerate components (all pixels on one line) never make a box, whatever min_size is.
 *  - NaN probabilities are background (prob > threshold is false for them).
 *
 * Cost on the Cortex-M55 (QEMU instruction counts, -O3): about 9 instructions per map pixel
 * (8 of them the threshold; the scan skips background 8 bytes at a time and jumps from run to
 * run) plus, per boxed contour, ~17k for a 10 x 10 blob and ~52k for a 100 x 14 text line
 * (border, hull, two calipers, fillPoly score, offset): 3.8 M for an empty 640 x 640 map,
 * 9.4 M for a 640 x 640 page of 109 lines. The results are the same as on the host.
 */
#ifndef OCR_DBPOST_H
#define OCR_DBPOST_H

#include <stddef.h>

/* DBPostProcess's max_candidates: contours beyond it are ignored (see step 2 above). */
#define OCR_DB_MAX_CANDIDATES 1000u

/* Largest valid-region side: the 16386 x 16386 byte bitmap still fits a 32-bit size_t. */
#define OCR_DB_MAX_SIDE 16384u

typedef struct {
  float threshold;      /* binarization of the probability map: 0.3 */
  float box_threshold;  /* minimum mean probability inside a box: 0.6 */
  float unclip_ratio;   /* expansion: distance = area * ratio / perimeter: 1.5 */
  int min_size;         /* boxes whose shorter side is below this are dropped: 3 (must be >= 1) */
} ocr_db_params;

typedef struct {
  float x[4], y[4];  /* corners in source-image pixels: top-left, top-right, bottom-right, bottom-left (PaddleOCR's order) */
  float score;       /* mean probability inside the (un-expanded) box */
} ocr_box;

/* Bytes of work memory ocr_db_boxes needs for a valid region of h x w: the framed bitmap
   (h+2)*(w+2) plus 56*h + 46,136 bytes (+ up to 56 of alignment) for h >= 512, at most 61 KB
   below that: 494,144 bytes for 640 x 640, 76,960 for 48 x 320. 0 if a side is 0 or above
   OCR_DB_MAX_SIDE. */
size_t ocr_db_work_bytes(unsigned h, unsigned w);

/* prob: the detector's probability map, row stride `stride` floats; only the top-left valid_h x valid_w
   region is the image (the rest is padding), and it maps onto src_h x src_w source pixels
   (x_src = x_map * src_w / valid_w, like DBPostProcess with the valid region as the bitmap).
   Writes at most max_boxes boxes into `boxes` in PaddleOCR's reading order (sorted_boxes: top-to-bottom,
   then left-to-right for boxes within 10 px vertically), after predict_det's filter (clip to the image,
   drop boxes whose width or height <= 3). Returns the number written; *found = how many boxes passed
   all filters (may exceed max_boxes: the caller reports the rest, never drops them silently).
   When more than max_boxes pass, the ones written are the first max_boxes of the full reading
   order (the same prefix whatever max_boxes is).
   Returns -1 if work_bytes is too small (less than ocr_db_work_bytes(valid_h, valid_w)) or the
   arguments are invalid (no map, valid_w > stride, a zero size); *found is then 0.
   `work` must be 8-byte aligned. */
int ocr_db_boxes(const float *prob, unsigned stride, unsigned valid_h, unsigned valid_w,
                 unsigned src_h, unsigned src_w, const ocr_db_params *params,
                 void *work, size_t work_bytes, ocr_box *boxes, unsigned max_boxes, unsigned *found);

#endif
