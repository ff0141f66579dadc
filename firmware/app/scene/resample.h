/* Moving pixels between the source image, the detector and the recognizer.
 *
 * Sampling is bilinear with pixel centres at integer coordinates and edges
 * replicated; resizing maps pixel centres onto pixel centres (cv2's
 * INTER_LINEAR convention). host/scene.py mirrors scene_fit and
 * scene_detector_input in numpy, so the host reference feeds the detector
 * the same numbers. */
#ifndef SCENE_RESAMPLE_H
#define SCENE_RESAMPLE_H

#include "dbpost.h"
#include "scene_image.h"

/* Largest detector input width the column tables hold. */
#define SCENE_MAX_INPUT_W 2048u

/* The size the image takes inside a detector input of in_w x in_h: as large
   as fits with the aspect ratio kept (integer rounding, as host/scene.py). */
void scene_fit(unsigned src_w, unsigned src_h, unsigned in_w, unsigned in_h, unsigned *fit_w,
               unsigned *fit_h);

/* The detector's input (float planes, 3 x in_h x in_w, the source's B G R
   order): the image resized to fit_w x fit_h at the top left, each channel
   (x/255 - mean)/std, zero (the mean colour) elsewhere. */
void scene_detector_input(const scene_image *image, unsigned fit_w, unsigned fit_h, unsigned in_w,
                          unsigned in_h, const float mean[3], const float std[3], float *out);

/* The text line inside box (corners TL, TR, BR, BL in source pixels) as the
   recognizer's uint8 HWC input of height rec_h: the box straightened with a
   perspective warp (rotated 90 degrees counter-clockwise when it is at least
   1.5 times taller than wide, as PaddleOCR does), width ceil(rec_h * w / h)
   at most rec_w, channels in B G R order (rec_bgr) or R G B. Columns from
   the returned valid width on are left as they were (never read). */
unsigned scene_cut_line(const scene_image *image, const ocr_box *box, unsigned rec_h, unsigned rec_w,
                        int rec_bgr, unsigned char *pixels);

#endif
