#include "resample.h"

#include <math.h>

void scene_fit(unsigned src_w, unsigned src_h, unsigned in_w, unsigned in_h, unsigned *fit_w,
               unsigned *fit_h) {
  /* Integer arithmetic: the host computes exactly the same size. */
  const uint64_t wide = (uint64_t)src_w * in_h, tall = (uint64_t)src_h * in_w;
  unsigned w, h;
  if (wide >= tall) {
    w = in_w;
    h = (unsigned)((2ull * src_h * in_w + src_w) / (2ull * src_w));
  } else {
    h = in_h;
    w = (unsigned)((2ull * src_w * in_h + src_h) / (2ull * src_h));
  }
  *fit_w = w < 1 ? 1 : (w > in_w ? in_w : w);
  *fit_h = h < 1 ? 1 : (h > in_h ? in_h : h);
}

/* Source coordinate of destination pixel centre i for a resize by `step`
   (source pixels per destination pixel), clamped into the image: the lower
   neighbour and the weight of the upper one. */
static void source_tap(unsigned i, float step, unsigned size, unsigned *lower, float *weight) {
  float at = ((float)i + 0.5f) * step - 0.5f;
  if (at < 0.0f) {
    at = 0.0f;
  }
  unsigned k = (unsigned)at;
  if (k >= size - 1) {
    *lower = size - 1;
    *weight = 0.0f;
    return;
  }
  *lower = k;
  *weight = at - (float)k;
}

void scene_detector_input(const scene_image *image, unsigned fit_w, unsigned fit_h, unsigned in_w,
                          unsigned in_h, const float mean[3], const float std[3], float *out) {
  static unsigned column[SCENE_MAX_INPUT_W];
  static float column_weight[SCENE_MAX_INPUT_W];
  const float step_x = (float)image->width / (float)fit_w;
  const float step_y = (float)image->height / (float)fit_h;
  const unsigned next_x = image->width > 1 ? 3u : 0u;
  for (unsigned x = 0; x < fit_w; x++) {
    source_tap(x, step_x, image->width, &column[x], &column_weight[x]);
  }
  float scale[3], shift[3];
  for (unsigned c = 0; c < 3; c++) {
    scale[c] = 1.0f / (255.0f * std[c]);
    shift[c] = mean[c] / std[c];
  }
  const unsigned plane = in_w * in_h;
  for (unsigned y = 0; y < in_h; y++) {
    float *row[3] = {out + y * in_w, out + plane + y * in_w, out + 2 * plane + y * in_w};
    unsigned x = 0;
    if (y < fit_h) {
      unsigned y0;
      float wy;
      source_tap(y, step_y, image->height, &y0, &wy);
      const unsigned y1 = wy > 0.0f ? y0 + 1 : y0;
      const uint8_t *top = image->bgr + (uint32_t)y0 * image->width * 3u;
      const uint8_t *bottom = image->bgr + (uint32_t)y1 * image->width * 3u;
      for (; x < fit_w; x++) {
        const unsigned k = column[x] * 3u, k1 = column_weight[x] > 0.0f ? k + next_x : k;
        const float wx = column_weight[x];
        for (unsigned c = 0; c < 3; c++) {
          const float upper = (float)top[k + c] + ((float)top[k1 + c] - (float)top[k + c]) * wx;
          const float lower = (float)bottom[k + c] + ((float)bottom[k1 + c] - (float)bottom[k + c]) * wx;
          row[c][x] = (upper + (lower - upper) * wy) * scale[c] - shift[c];
        }
      }
    }
    for (; x < in_w; x++) {
      row[0][x] = row[1][x] = row[2][x] = 0.0f;
    }
  }
}

static float distance(float x0, float y0, float x1, float y1) {
  return sqrtf((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0));
}

/* The projective map of the unit square onto the quad p0 p1 p2 p3
   ((0,0) (1,0) (1,1) (0,1) -> p0 p1 p2 p3), Heckbert's closed form. */
typedef struct {
  double a, b, c, d, e, f, g, h;
} square_to_quad;

static square_to_quad quad_map(const ocr_box *q) {
  square_to_quad m;
  const double x0 = q->x[0], x1 = q->x[1], x2 = q->x[2], x3 = q->x[3];
  const double y0 = q->y[0], y1 = q->y[1], y2 = q->y[2], y3 = q->y[3];
  const double sx = x0 - x1 + x2 - x3, sy = y0 - y1 + y2 - y3;
  if (fabs(sx) < 1e-9 && fabs(sy) < 1e-9) { /* a parallelogram: affine */
    m.a = x1 - x0, m.b = x2 - x1, m.c = x0;
    m.d = y1 - y0, m.e = y2 - y1, m.f = y0;
    m.g = m.h = 0.0;
    return m;
  }
  const double dx1 = x1 - x2, dx2 = x3 - x2, dy1 = y1 - y2, dy2 = y3 - y2;
  const double det = dx1 * dy2 - dx2 * dy1;
  m.g = (sx * dy2 - dx2 * sy) / det;
  m.h = (dx1 * sy - sx * dy1) / det;
  m.a = x1 - x0 + m.g * x1, m.b = x3 - x0 + m.h * x3, m.c = x0;
  m.d = y1 - y0 + m.g * y1, m.e = y3 - y0 + m.h * y3, m.f = y0;
  return m;
}

unsigned scene_cut_line(const scene_image *image, const ocr_box *box, unsigned rec_h, unsigned rec_w,
                        int rec_bgr, unsigned char *pixels) {
  /* PaddleOCR's crop size: the longer of each pair of opposite sides. */
  const float top = distance(box->x[0], box->y[0], box->x[1], box->y[1]);
  const float bottom = distance(box->x[3], box->y[3], box->x[2], box->y[2]);
  const float left = distance(box->x[0], box->y[0], box->x[3], box->y[3]);
  const float right = distance(box->x[1], box->y[1], box->x[2], box->y[2]);
  const unsigned crop_w = (unsigned)(top > bottom ? top : bottom);
  const unsigned crop_h = (unsigned)(left > right ? left : right);
  if (crop_w == 0 || crop_h == 0) {
    return 0;
  }
  const int rotate = (float)crop_h >= 1.5f * (float)crop_w;
  const unsigned line_w = rotate ? crop_h : crop_w, line_h = rotate ? crop_w : crop_h;
  unsigned width = (unsigned)ceilf((float)rec_h * (float)line_w / (float)line_h);
  width = width < 1 ? 1 : (width > rec_w ? rec_w : width);
  const square_to_quad m = quad_map(box);
  const float step_x = (float)line_w / (float)width, step_y = (float)line_h / (float)rec_h;
  const unsigned w = image->width, h = image->height;
  for (unsigned y = 0; y < rec_h; y++) {
    const float v = ((float)y + 0.5f) * step_y - 0.5f; /* line row */
    for (unsigned x = 0; x < width; x++) {
      const float u = ((float)x + 0.5f) * step_x - 0.5f; /* line column */
      /* crop pixel: the line itself, or (np.rot90) the crop turned back */
      const float cu = rotate ? (float)(crop_w - 1) - v : u;
      const float cv = rotate ? u : v;
      /* cv2.warpPerspective maps crop pixel (cu, cv) to the source point
         whose corners are (0,0) .. (crop_w, crop_h) */
      const double s = cu / (double)crop_w, t = cv / (double)crop_h;
      const double z = m.g * s + m.h * t + 1.0;
      float sx = (float)((m.a * s + m.b * t + m.c) / z);
      float sy = (float)((m.d * s + m.e * t + m.f) / z);
      sx = sx < 0.0f ? 0.0f : (sx > (float)(w - 1) ? (float)(w - 1) : sx);
      sy = sy < 0.0f ? 0.0f : (sy > (float)(h - 1) ? (float)(h - 1) : sy);
      const unsigned x0 = (unsigned)sx, y0 = (unsigned)sy;
      const unsigned x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
      const float ax = sx - (float)x0, ay = sy - (float)y0;
      const uint8_t *p00 = image->bgr + ((uint32_t)y0 * w + x0) * 3u;
      const uint8_t *p01 = image->bgr + ((uint32_t)y0 * w + x1) * 3u;
      const uint8_t *p10 = image->bgr + ((uint32_t)y1 * w + x0) * 3u;
      const uint8_t *p11 = image->bgr + ((uint32_t)y1 * w + x1) * 3u;
      unsigned char *dst = pixels + ((uint32_t)y * rec_w + x) * 3u;
      for (unsigned c = 0; c < 3; c++) {
        const float upper = (float)p00[c] + ((float)p01[c] - (float)p00[c]) * ax;
        const float lower = (float)p10[c] + ((float)p11[c] - (float)p10[c]) * ax;
        const float value = upper + (lower - upper) * ay + 0.5f;
        dst[rec_bgr ? c : 2 - c] = (unsigned char)(value > 255.0f ? 255.0f : value);
      }
    }
  }
  return width;
}
