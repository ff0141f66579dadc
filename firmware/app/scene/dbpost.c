/* DB post-processing: see dbpost.h for what each step reproduces and why.
 *
 * Work memory (one buffer, carved by plan()):
 *   marks   (h+2) x (w+2) bytes  the bitmap with a zero frame; border following marks it
 *   lo, hi  h int32 each         per-row extremes of the contour being traced, later the rows
 *                                of the fillPoly mask being scored
 *   ca, cb  max(h, RAW_CAP)      the two monotone chains of a convex hull (indices)
 *   raw     RAW_CAP points       the offset polygon's points
 *   hull    max(2h+2, RAW_CAP+2) hull points with their calipers edge vectors
 *   ring    OCR_DB_MAX_CANDIDATES boxes of the last contours (step 2 in dbpost.h)
 *   order   as many uint16       indices for the reading-order sort
 */
#include "dbpost.h"

/* ppocr's arithmetic (OpenCV, Clipper, GEOS on x86-64) rounds every product; GCC fuses a*b+c
   into one rounding by default (-ffp-contract=fast in GNU C), and on the Cortex-M55 that moved
   a corner by a pixel on one of 107 boxes of the test page. Nothing per-pixel multiplies, so
   keeping ppocr's rounding costs nothing. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

/* -ffreestanding implies -fno-builtin: without these every fabsf, floorf or 4-byte memcpy would
   be a library call (the scan's word test among them). The builtins compile to single
   instructions where the FPU has one and call the same libm function otherwise. */
#if defined(__GNUC__)
#define DB_MEMCPY __builtin_memcpy
#define DB_SQRT __builtin_sqrt
#define DB_SQRTF __builtin_sqrtf
#define DB_FABS __builtin_fabs
#define DB_FABSF __builtin_fabsf
#define DB_FLOORF __builtin_floorf
#define DB_CEILF __builtin_ceilf
#define DB_RINTF __builtin_rintf
#else
#define DB_MEMCPY memcpy
#define DB_SQRT sqrt
#define DB_SQRTF sqrtf
#define DB_FABS fabs
#define DB_FABSF fabsf
#define DB_FLOORF floorf
#define DB_CEILF ceilf
#define DB_RINTF rintf
#endif

/* Clipper's and OpenCV's pi (the same double). */
#define DB_PI 3.141592653589793238
#define DB_TWO_PI (DB_PI * 2)

/* Points of one offset polygon. Clipper needs about pi*sqrt(2*d)+8 for a distance d (d = 1000
   px: 149), so this is only exceeded for absurd unclip ratios; then the arcs are left out, which
   moves the result by at most half a pixel (the arcs lie inside the grown rectangle). */
#define RAW_CAP 512u

enum { PX_BG = 0, PX_FG = 1, PX_POS = 2, PX_NEG = 3 };

typedef struct {
  int32_t x, y;
} ipt;

typedef struct {
  float x, y;
} fpt;

/* A hull point for the calipers: position, edge vector to the next point, 1/|edge|. */
typedef struct {
  float x, y, vx, vy, inv;
} cpt;

typedef struct {
  float cx, cy, w, h, angle; /* cv::RotatedRect, angle in degrees */
} rrect;

typedef struct {
  ocr_box box;
  uint32_t contour; /* discovery index of the contour it came from */
} cand;

typedef struct {
  size_t marks, lo, hi, ca, cb, raw, hull, ring, order, total;
  unsigned chain_cap, hull_cap;
} layout;

typedef struct {
  const float *prob;
  unsigned stride, vh, vw;
  float src_h, src_w;
  int isrc_h, isrc_w;
  const ocr_db_params *params;
  uint8_t *marks;
  int ms; /* marks row stride: vw + 2 */
  int32_t *lo, *hi;
  int ymin, ymax; /* rows of lo/hi in use by the current contour */
  int32_t *ca, *cb;
  ipt *raw;
  cpt *hull;
  unsigned hull_cap;
  cand *ring;
  unsigned ring_head, ring_count;
  uint16_t *order;
  uint32_t contours;
} ctx;

static size_t align8(size_t n) { return (n + 7u) & ~(size_t)7u; }

static void plan(unsigned h, unsigned w, layout *l) {
  size_t o = 0;
  l->chain_cap = h > RAW_CAP ? h : RAW_CAP;
  l->hull_cap = 2u * h + 2u > RAW_CAP + 2u ? 2u * h + 2u : RAW_CAP + 2u;
  l->marks = o;
  o = align8(o + (size_t)(h + 2u) * (w + 2u));
  l->lo = o;
  o = align8(o + (size_t)h * sizeof(int32_t));
  l->hi = o;
  o = align8(o + (size_t)h * sizeof(int32_t));
  l->ca = o;
  o = align8(o + (size_t)l->chain_cap * sizeof(int32_t));
  l->cb = o;
  o = align8(o + (size_t)l->chain_cap * sizeof(int32_t));
  l->raw = o;
  o = align8(o + (size_t)RAW_CAP * sizeof(ipt));
  l->hull = o;
  o = align8(o + (size_t)l->hull_cap * sizeof(cpt));
  l->ring = o;
  o = align8(o + (size_t)OCR_DB_MAX_CANDIDATES * sizeof(cand));
  l->order = o;
  o = align8(o + (size_t)OCR_DB_MAX_CANDIDATES * sizeof(uint16_t));
  l->total = o;
}

size_t ocr_db_work_bytes(unsigned h, unsigned w) {
  layout l;
  if (h == 0 || w == 0 || h > OCR_DB_MAX_SIDE || w > OCR_DB_MAX_SIDE) {
    return 0;
  }
  plan(h, w, &l);
  return l.total;
}

/* ---------------------------------------------------------------- convex hulls */

static int64_t cross3(int32_t ox, int32_t oy, int32_t ax, int32_t ay, int32_t bx, int32_t by) {
  return (int64_t)(ax - ox) * (by - oy) - (int64_t)(ay - oy) * (bx - ox);
}

static int64_t cross_h(const cpt *o, const cpt *a, const cpt *b) {
  /* hull coordinates are integers held exactly in floats */
  return cross3((int32_t)o->x, (int32_t)o->y, (int32_t)a->x, (int32_t)a->y, (int32_t)b->x,
                (int32_t)b->y);
}

static int same_h(const cpt *a, const cpt *b) { return a->x == b->x && a->y == b->y; }

static void reverse_h(cpt *p, int a, int b) {
  for (; a < b; a++, b--) {
    cpt t = p[a]; p[a] = p[b]; p[b] = t;
  }
}

static void rotate_h(cpt *p, int n, int r) { /* left by r, three reversals */
  if (r <= 0 || r >= n) {
    return;
  }
  reverse_h(p, 0, r - 1);
  reverse_h(p, r, n - 1);
  reverse_h(p, 0, n - 1);
}

/* Drops duplicate and collinear points of a closed convex polygon (OpenCV's hull keeps only
   strict vertices), keeping it started at its topmost-leftmost point. Returns the count. */
static int hull_cleanup(cpt *p, int n) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (m >= 1 && same_h(&p[m - 1], &p[i])) {
      continue;
    }
    while (m >= 2 && cross_h(&p[m - 2], &p[m - 1], &p[i]) == 0) {
      m--;
    }
    p[m++] = p[i];
  }
  while (m >= 2 && same_h(&p[m - 1], &p[0])) {
    m--;
  }
  for (int changed = 1; changed && m >= 3;) {
    changed = 0;
    if (cross_h(&p[m - 2], &p[m - 1], &p[0]) == 0) {
      m--;
      changed = 1;
    } else if (cross_h(&p[m - 1], &p[0], &p[1]) == 0) {
      memmove(p, p + 1, (size_t)(m - 1) * sizeof(cpt));
      m--;
      changed = 1;
    }
  }
  /* restart at the topmost-leftmost point (it moves only if the removals above took it) */
  int s = 0;
  for (int i = 1; i < m; i++) {
    if (p[i].y < p[s].y || (p[i].y == p[s].y && p[i].x < p[s].x)) {
      s = i;
    }
  }
  rotate_h(p, m, s);
  return m;
}

static void set_h(cpt *p, int32_t x, int32_t y) {
  p->x = (float)x;
  p->y = (float)y;
}

/* Convex hull of the contour whose row extremes are lo/hi[ymin..ymax]. The hull of a set is the
   hull of its row extremes; its left side is the convex chain of the leftmost points, its right
   side that of the rightmost, each built with one stack pass down the rows (Andrew's monotone
   chain with y as the sort key, which needs no sort here). Counterclockwise on screen from
   the topmost-leftmost point, like every hull here (cv_order() makes it OpenCV's). */
static int hull_rows(ctx *c) {
  int na = 0, nb = 0;
  const int32_t *lo = c->lo, *hi = c->hi;
  for (int y = c->ymin; y <= c->ymax; y++) {
    while (na >= 2 && cross3(lo[c->ca[na - 2]], c->ca[na - 2], lo[c->ca[na - 1]], c->ca[na - 1],
                             lo[y], y) >= 0) {
      na--;
    }
    c->ca[na++] = y;
    while (nb >= 2 && cross3(hi[c->cb[nb - 2]], c->cb[nb - 2], hi[c->cb[nb - 1]], c->cb[nb - 1],
                             hi[y], y) <= 0) {
      nb--;
    }
    c->cb[nb++] = y;
  }
  int n = 0;
  if (na + nb > (int)c->hull_cap) { /* cannot happen: hull_cap >= 2 * rows */
    return 0;
  }
  for (int i = 0; i < na; i++) {
    set_h(&c->hull[n++], lo[c->ca[i]], c->ca[i]);
  }
  for (int i = nb - 1; i >= 0; i--) {
    set_h(&c->hull[n++], hi[c->cb[i]], c->cb[i]);
  }
  return hull_cleanup(c->hull, n);
}

static int ipt_less(const ipt *a, const ipt *b) {
  return a->y < b->y || (a->y == b->y && a->x < b->x);
}

/* Heapsort by (y, x): deterministic, in place, no recursion. */
static void sort_points(ipt *p, int n) {
  for (int start = n / 2 - 1, end = n;; ) {
    int root;
    if (start >= 0) {
      root = start--;
    } else {
      if (--end <= 0) {
        break;
      }
      ipt t = p[0]; p[0] = p[end]; p[end] = t;
      root = 0;
    }
    for (;;) {
      int child = 2 * root + 1;
      if (child >= end) {
        break;
      }
      if (child + 1 < end && ipt_less(&p[child], &p[child + 1])) {
        child++;
      }
      if (!ipt_less(&p[root], &p[child])) {
        break;
      }
      ipt t = p[root]; p[root] = p[child]; p[child] = t;
      root = child;
    }
  }
}

/* Convex hull of arbitrary points (the offset polygon): the same two chains after a sort. */
static int hull_points(ctx *c, ipt *p, int n) {
  sort_points(p, n);
  int na = 0, nb = 0;
  for (int i = 0; i < n; i++) {
    while (na >= 2 && cross3(p[c->ca[na - 2]].x, p[c->ca[na - 2]].y, p[c->ca[na - 1]].x,
                             p[c->ca[na - 1]].y, p[i].x, p[i].y) >= 0) {
      na--;
    }
    c->ca[na++] = i;
    while (nb >= 2 && cross3(p[c->cb[nb - 2]].x, p[c->cb[nb - 2]].y, p[c->cb[nb - 1]].x,
                             p[c->cb[nb - 1]].y, p[i].x, p[i].y) <= 0) {
      nb--;
    }
    c->cb[nb++] = i;
  }
  int m = 0;
  if (na + nb - 2 > (int)c->hull_cap) { /* cannot happen: the chains share only their ends */
    return 0;
  }
  for (int i = 0; i < na; i++) {
    set_h(&c->hull[m++], p[c->ca[i]].x, p[c->ca[i]].y);
  }
  for (int i = nb - 2; i >= 1; i--) {
    set_h(&c->hull[m++], p[c->cb[i]].x, p[c->cb[i]].y);
  }
  return hull_cleanup(c->hull, m);
}

/* ---------------------------------------------------------------- minAreaRect, boxPoints */

/* OpenCV 5.0's minAreaRect takes convexHull(clockwise=false), which on screen (y down) runs
   clockwise, and which convexHull cyclically shifts so that the vertices' indices in its input
   ascend or descend. Which vertex comes first only matters for ties and last-bit rounding in the
   calipers, but that is where an integer cast later flips, so it is reproduced: the hulls here
   are built counterclockwise from the topmost-leftmost vertex, and cv_order() turns them into
   OpenCV's order for the three kinds of input ppocr gives it. */
enum { HULL_OUTER, HULL_HOLE, HULL_OFFSET };

static void cv_order(cpt *p, int n, int kind, int sx, int sy) {
  /* reversed: clockwise, ending at the topmost-leftmost vertex */
  reverse_h(p, 0, n - 1);
  int r = 0;
  if (kind == HULL_HOLE) {
    /* a hole border is traced clockwise from its start pixel: the hull starts at the first
       hull vertex met, the start pixel itself if it is one, else the topmost-leftmost */
    r = n - 1;
    for (int i = 0; i < n; i++) {
      if (p[i].x == (float)sx && p[i].y == (float)sy) {
        r = i;
        break;
      }
    }
  } else if (kind == HULL_OFFSET) {
    /* pyclipper's union returns the polygon clockwise, ending at its topmost-rightmost vertex */
    int t = 0;
    for (int i = 1; i < n; i++) {
      if (p[i].y < p[t].y || (p[i].y == p[t].y && p[i].x > p[t].x)) {
        t = i;
      }
    }
    r = t + 1 == n ? 0 : t + 1;
  }
  /* HULL_OUTER: an outer border is traced counterclockwise from its topmost-leftmost pixel,
     so OpenCV's descending shift ends the hull there: r = 0 */
  rotate_h(p, n, r);
}

/* "vec1 is clockwise of vec2" (OpenCV's firstVecIsRight): the sign of a float dot product. */
static int first_vec_is_right(float x1, float y1, float x2, float y2) {
  const float tx = y1, ty = -x1; /* rotate90CW(vec1) */
  return tx * x2 + ty * y2 < 0;
}

/* OpenCV 5.0's rotatingCalipers(CALIPERS_MINAREARECT) for a hull in the order above
   (orientation 1), in its float arithmetic: the calipers turn to the hull edge making the
   smallest angle with one of their sides, every edge once; the rectangle with the smallest
   width*height (the last of equal ones) is kept. out = corner, side vector 1, side vector 2. */
static void calipers(cpt *p, int n, float out[6]) {
  int left = 0, bottom = 0, right = 0, top = 0;
  float left_x = p[0].x, right_x = p[0].x, top_y = p[0].y, bottom_y = p[0].y;
  for (int i = 0; i < n; i++) {
    const cpt *a = &p[i], *b = &p[i + 1 < n ? i + 1 : 0];
    if (a->x < left_x) { left_x = a->x; left = i; }
    if (a->x > right_x) { right_x = a->x; right = i; }
    if (a->y > top_y) { top_y = a->y; top = i; }
    if (a->y < bottom_y) { bottom_y = a->y; bottom = i; }
    const double dx = b->x - a->x, dy = b->y - a->y; /* float differences, widened */
    p[i].vx = (float)dx;
    p[i].vy = (float)dy;
    p[i].inv = (float)(1. / DB_SQRT(dx * dx + dy * dy));
  }
  float base_a = 1.f, base_b = 0;
  int seq[4] = {bottom, right, top, left};
  float minarea = 3.40282347e+38f;
  int best_left = 0, best_bottom = 0;
  float best_a = 0, best_b = 0, best_w = 0, best_h = 0;
  for (int k = 0; k < n; k++) {
    /* the four edges turned into caliper 0's frame: as is, 90 CW, 180, 90 CCW */
    float rx[4], ry[4];
    rx[0] = p[seq[0]].vx;  ry[0] = p[seq[0]].vy;
    rx[1] = p[seq[1]].vy;  ry[1] = -p[seq[1]].vx;
    rx[2] = -p[seq[2]].vx; ry[2] = -p[seq[2]].vy;
    rx[3] = -p[seq[3]].vy; ry[3] = p[seq[3]].vx;
    int main_element = 0;
    for (int i = 1; i < 4; i++) {
      if (first_vec_is_right(rx[i], ry[i], rx[main_element], ry[main_element])) {
        main_element = i;
      }
    }
    {
      const int pi = seq[main_element];
      const float lead_x = p[pi].vx * p[pi].inv, lead_y = p[pi].vy * p[pi].inv;
      switch (main_element) {
        case 0: base_a = lead_x; base_b = lead_y; break;
        case 1: base_a = lead_y; base_b = -lead_x; break;
        case 2: base_a = -lead_x; base_b = -lead_y; break;
        default: base_a = -lead_y; base_b = lead_x; break;
      }
    }
    seq[main_element] = seq[main_element] + 1 == n ? 0 : seq[main_element] + 1;
    float dx = p[seq[1]].x - p[seq[3]].x, dy = p[seq[1]].y - p[seq[3]].y;
    const float width = dx * base_a + dy * base_b;
    dx = p[seq[2]].x - p[seq[0]].x;
    dy = p[seq[2]].y - p[seq[0]].y;
    const float height = -dx * base_b + dy * base_a;
    const float area = width * height;
    if (area <= minarea) {
      minarea = area;
      best_left = seq[3];
      best_a = base_a;
      best_w = width;
      best_b = base_b;
      best_h = height;
      best_bottom = seq[0];
    }
  }
  const float A1 = best_a, B1 = best_b, A2 = -best_b, B2 = best_a;
  const float C1 = A1 * p[best_left].x + p[best_left].y * B1;
  const float C2 = A2 * p[best_bottom].x + p[best_bottom].y * B2;
  const float idet = 1.f / (A1 * B2 - A2 * B1);
  out[0] = (C1 * B2 - C2 * B1) * idet;
  out[1] = (A1 * C2 - A2 * C1) * idet;
  out[2] = A1 * best_w;
  out[3] = B1 * best_w;
  out[4] = A2 * best_h;
  out[5] = B2 * best_h;
}

/* cv::minAreaRect (OpenCV 5.0: angle in [-90, 0)) of a hull with n >= 3 points. */
static void min_area_rect(cpt *p, int n, rrect *r) {
  float out[6];
  double angle = -DB_PI / 2;
  calipers(p, n, out);
  r->cx = out[0] + (out[2] + out[4]) * 0.5f;
  r->cy = out[1] + (out[3] + out[5]) * 0.5f;
  r->w = (float)DB_SQRT((double)out[4] * out[4] + (double)out[5] * out[5]);
  r->h = (float)DB_SQRT((double)out[2] * out[2] + (double)out[3] * out[3]);
  if (out[2] == 0.f && out[3] > 0.f) {
    const float t = r->w; r->w = r->h; r->h = t;
  } else {
    angle = -atan2((double)out[2], (double)out[3]);
  }
  r->angle = (float)(angle * 180 / DB_PI);
}

/* cv::boxPoints (OpenCV 5.0's RotatedRect::points). */
static void box_points(const rrect *r, fpt pt[4]) {
  const double radians = r->angle * DB_PI / 180.;
  const float b = (float)cos(radians) * 0.5f;
  const float a = (float)sin(radians) * 0.5f;
  const float ah = a * r->h, aw = a * r->w, bh = b * r->h, bw = b * r->w;
  pt[0].x = r->cx - ah - bw;
  pt[0].y = r->cy + bh - aw;
  pt[1].x = r->cx + ah - bw;
  pt[1].y = r->cy - bh - aw;
  pt[2].x = r->cx + ah + bw;
  pt[2].y = r->cy - bh + aw;
  pt[3].x = r->cx - ah + bw;
  pt[3].y = r->cy + bh + aw;
}

/* get_mini_boxes: the min-area rectangle's corners as top-left, top-right, bottom-right,
   bottom-left the way ppocr picks them (a stable sort by x, then y within each pair); returns
   the shorter side, 0 for a degenerate hull. */
static float mini_box(cpt *hull, int n, fpt q[4]) {
  if (n < 3) {
    return 0.0f;
  }
  rrect r;
  fpt p[4];
  min_area_rect(hull, n, &r);
  box_points(&r, p);
  for (int i = 1; i < 4; i++) { /* insertion sort: stable like Python's sorted */
    fpt t = p[i];
    int j = i - 1;
    for (; j >= 0 && p[j].x > t.x; j--) {
      p[j + 1] = p[j];
    }
    p[j + 1] = t;
  }
  int i1 = 1, i4 = 0, i2 = 3, i3 = 2;
  if (p[1].y > p[0].y) {
    i1 = 0;
    i4 = 1;
  }
  if (p[3].y > p[2].y) {
    i2 = 2;
    i3 = 3;
  }
  q[0] = p[i1];
  q[1] = p[i2];
  q[2] = p[i3];
  q[3] = p[i4];
  return r.w <= r.h ? r.w : r.h;
}

/* ---------------------------------------------------------------- box_score_fast (cv2.fillPoly) */

/* cv::clipLine: Cohen-Sutherland against a w x h image, in OpenCV's integer/double steps.
   The endpoints are updated even when it returns 0 (OpenCV's callers rely on that). */
static int clip_line(int64_t w, int64_t h, int64_t *x1, int64_t *y1, int64_t *x2, int64_t *y2) {
  const int64_t right = w - 1, bottom = h - 1;
  if (w <= 0 || h <= 0) {
    return 0;
  }
  int c1 = (*x1 < 0) + (*x1 > right) * 2 + (*y1 < 0) * 4 + (*y1 > bottom) * 8;
  int c2 = (*x2 < 0) + (*x2 > right) * 2 + (*y2 < 0) * 4 + (*y2 > bottom) * 8;
  if ((c1 & c2) == 0 && (c1 | c2) != 0) {
    int64_t a;
    if (c1 & 12) {
      a = c1 < 8 ? 0 : bottom;
      *x1 += (int64_t)((double)(a - *y1) * (double)(*x2 - *x1) / (double)(*y2 - *y1));
      *y1 = a;
      c1 = (*x1 < 0) + (*x1 > right) * 2;
    }
    if (c2 & 12) {
      a = c2 < 8 ? 0 : bottom;
      *x2 += (int64_t)((double)(a - *y2) * (double)(*x2 - *x1) / (double)(*y2 - *y1));
      *y2 = a;
      c2 = (*x2 < 0) + (*x2 > right) * 2;
    }
    if ((c1 & c2) == 0 && (c1 | c2) != 0) {
      if (c1) {
        a = c1 == 1 ? 0 : right;
        *y1 += (int64_t)((double)(a - *x1) * (double)(*y2 - *y1) / (double)(*x2 - *x1));
        *x1 = a;
        c1 = 0;
      }
      if (c2) {
        a = c2 == 1 ? 0 : right;
        *y2 += (int64_t)((double)(a - *x2) * (double)(*y2 - *y1) / (double)(*x2 - *x1));
        *x2 = a;
        c2 = 0;
      }
    }
  }
  return (c1 | c2) == 0;
}

static void mask_add(int32_t *lo, int32_t *hi, int y, int x0, int x1) {
  if (x0 < lo[y]) lo[y] = x0;
  if (x1 > hi[y]) hi[y] = x1;
}

/* OpenCV's 8-connected Line() (LineIterator, left to right, clipped to the mask). */
static void mask_line(int32_t *lo, int32_t *hi, int mw, int mh, int x1, int y1, int x2, int y2) {
  if ((unsigned)x1 >= (unsigned)mw || (unsigned)x2 >= (unsigned)mw ||
      (unsigned)y1 >= (unsigned)mh || (unsigned)y2 >= (unsigned)mh) {
    int64_t a = x1, b = y1, cx = x2, d = y2;
    const int inside = clip_line(mw, mh, &a, &b, &cx, &d);
    x1 = (int)a; y1 = (int)b; x2 = (int)cx; y2 = (int)d;
    if (!inside) {
      return;
    }
  }
  int delta_x = 1, delta_y = 1;
  int dx = x2 - x1, dy = y2 - y1;
  if (dx < 0) {
    dx = -dx;
    dy = -dy;
    x1 = x2;
    y1 = y2;
  }
  if (dy < 0) {
    dy = -dy;
    delta_y = -1;
  }
  const int vert = dy > dx;
  if (vert) {
    int t = dx; dx = dy; dy = t;
    t = delta_x; delta_x = delta_y; delta_y = t;
  }
  int err = dx - (dy + dy);
  const int plus_delta = dx + dx, minus_delta = -(dy + dy);
  int minus_shift = delta_x, plus_shift = 0, minus_step = 0, plus_step = delta_y;
  if (vert) {
    int t = plus_step; plus_step = plus_shift; plus_shift = t;
    t = minus_step; minus_step = minus_shift; minus_shift = t;
  }
  int x = x1, y = y1;
  for (int i = 0; i <= dx; i++) {
    mask_add(lo, hi, y, x, x);
    const int m = err < 0 ? -1 : 0;
    err += minus_delta + (plus_delta & m);
    x += minus_shift + (plus_shift & m);
    y += minus_step + (plus_step & m);
  }
}

/* The rows of cv2.fillPoly(mask of mw x mh, the 4 integer vertices v, LINE_8): the outline
   (CollectPolyEdges draws every edge with Line) and the scanline fill (FillEdgeCollection,
   16.16 fixed point, x from ceil(left) to floor(right), an edge's last row left to the next).
   A convex quad's mask is one run per row: lo/hi[0..mh) (lo > hi: empty). */
static void fill_quad(int32_t *lo, int32_t *hi, int mw, int mh, const int32_t vx[4],
                      const int32_t vy[4]) {
  enum { SHIFT = 16 };
  struct { int y0, y1; int64_t x, dx; } e[4];
  int ne = 0;
  for (int r = 0; r < mh; r++) {
    lo[r] = INT32_MAX;
    hi[r] = INT32_MIN;
  }
  for (int i = 0; i < 4; i++) {
    const int j = (i + 3) & 3; /* edges (v3,v0), (v0,v1), ... as OpenCV walks them */
    int64_t t0x = vx[j], t0y = vy[j], t1x = vx[i], t1y = vy[i];
    int64_t c0y = vy[j], c1y = vy[i];
    mask_line(lo, hi, mw, mh, vx[j], vy[j], vx[i], vy[i]);
    if ((uint64_t)t0x >= (uint64_t)mw || (uint64_t)t1x >= (uint64_t)mw ||
        (uint64_t)t0y >= (uint64_t)mh || (uint64_t)t1y >= (uint64_t)mh) {
      clip_line(mw, mh, &t0x, &t0y, &t1x, &t1y);
      if (t0y != t1y) {
        c0y = t0y;
        c1y = t1y;
      }
    }
    const int64_t c0x = t0x * ((int64_t)1 << SHIFT), c1x = t1x * ((int64_t)1 << SHIFT);
    if (vy[j] == vy[i]) {
      continue;
    }
    const int64_t dx = (c1x - c0x) / (c1y - c0y);
    if (vy[j] < vy[i]) {
      e[ne].y0 = vy[j];
      e[ne].y1 = vy[i];
      e[ne].x = c0x + ((int64_t)vy[j] - c0y) * dx;
    } else {
      e[ne].y0 = vy[i];
      e[ne].y1 = vy[j];
      e[ne].x = c1x + ((int64_t)vy[i] - c1y) * dx;
    }
    e[ne].dx = dx;
    ne++;
  }
  if (ne < 2) {
    return;
  }
  int y_min = INT32_MAX, y_max = INT32_MIN;
  int64_t x_min = INT64_MAX, x_max = INT64_MIN;
  for (int i = 0; i < ne; i++) {
    const int64_t xe = e[i].x + (int64_t)(e[i].y1 - e[i].y0) * e[i].dx;
    if (e[i].y0 < y_min) y_min = e[i].y0;
    if (e[i].y1 > y_max) y_max = e[i].y1;
    if (e[i].x < x_min) x_min = e[i].x;
    if (e[i].x > x_max) x_max = e[i].x;
    if (xe < x_min) x_min = xe;
    if (xe > x_max) x_max = xe;
  }
  if (y_max < 0 || y_min >= mh || x_max < 0 || x_min >= ((int64_t)mw << SHIFT)) {
    return;
  }
  if (y_max > mh) {
    y_max = mh;
  }
  for (int y = y_min < 0 ? 0 : y_min; y < y_max; y++) {
    int64_t xs[4];
    int n = 0;
    for (int i = 0; i < ne; i++) {
      if (e[i].y0 <= y && y < e[i].y1) {
        const int64_t x = e[i].x + (int64_t)(y - e[i].y0) * e[i].dx;
        int k = n++;
        for (; k > 0 && xs[k - 1] > x; k--) {
          xs[k] = xs[k - 1];
        }
        xs[k] = x;
      }
    }
    for (int k = 0; k + 1 < n; k += 2) {
      int x1 = (int)((xs[k] + ((1 << SHIFT) - 1)) >> SHIFT);
      int x2 = (int)(xs[k + 1] >> SHIFT);
      if (x1 < mw && x2 >= 0) {
        if (x1 < 0) x1 = 0;
        if (x2 >= mw) x2 = mw - 1;
        if (x1 <= x2) {
          mask_add(lo, hi, y, x1, x2);
        }
      }
    }
  }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* box_score_fast: the mean of prob over the fillPoly mask of the box inside its bounding rect. */
static double box_score(ctx *c, const fpt q[4]) {
  float minx = q[0].x, maxx = q[0].x, miny = q[0].y, maxy = q[0].y;
  for (int i = 1; i < 4; i++) {
    if (q[i].x < minx) minx = q[i].x;
    if (q[i].x > maxx) maxx = q[i].x;
    if (q[i].y < miny) miny = q[i].y;
    if (q[i].y > maxy) maxy = q[i].y;
  }
  const int w = (int)c->vw, h = (int)c->vh;
  const int xmin = clampi((int)DB_FLOORF(minx), 0, w - 1);
  const int xmax = clampi((int)DB_CEILF(maxx), 0, w - 1);
  const int ymin = clampi((int)DB_FLOORF(miny), 0, h - 1);
  const int ymax = clampi((int)DB_CEILF(maxy), 0, h - 1);
  int32_t vx[4], vy[4];
  for (int i = 0; i < 4; i++) { /* numpy's astype(int32): truncation */
    vx[i] = (int32_t)(q[i].x - (float)xmin);
    vy[i] = (int32_t)(q[i].y - (float)ymin);
  }
  const int mw = xmax - xmin + 1, mh = ymax - ymin + 1;
  fill_quad(c->lo, c->hi, mw, mh, vx, vy);
  double sum = 0.0;
  long count = 0;
  for (int r = 0; r < mh; r++) {
    if (c->lo[r] > c->hi[r]) {
      continue;
    }
    const float *row = c->prob + (size_t)(ymin + r) * c->stride + xmin;
    float s = 0.0f; /* a row in float, the rows in double (cv2.mean sums in double) */
    for (int x = c->lo[r]; x <= c->hi[r]; x++) {
      s += row[x];
    }
    sum += s;
    count += c->hi[r] - c->lo[r] + 1;
  }
  return count ? sum / (double)count : 0.0;
}

/* ---------------------------------------------------------------- unclip (pyclipper) */

typedef struct {
  double x, y;
} dpt;

static int32_t clipper_round(double v) { return v < 0 ? (int32_t)(v - 0.5) : (int32_t)(v + 0.5); }

typedef struct {
  ipt src[4];
  dpt nrm[4];
  int n;
  double delta, sin_a, sn, cs, steps_per_rad;
  ipt *out;
  int count, cap, overflow, arcs;
} offsetter;

static void off_push(offsetter *o, int32_t x, int32_t y) {
  if (o->count >= o->cap) {
    o->overflow = 1;
    return;
  }
  o->out[o->count].x = x;
  o->out[o->count].y = y;
  o->count++;
}

static void off_push_n(offsetter *o, int j, const dpt *n) {
  off_push(o, clipper_round(o->src[j].x + n->x * o->delta),
           clipper_round(o->src[j].y + n->y * o->delta));
}

/* ClipperOffset::DoRound: points every 2*pi/steps from normal k to normal j. */
static void off_round(offsetter *o, int j, int k) {
  const dpt *nk = &o->nrm[k], *nj = &o->nrm[j];
  const double a = atan2(o->sin_a, nk->x * nj->x + nk->y * nj->y);
  int steps = (int)clipper_round(o->steps_per_rad * DB_FABS(a));
  if (steps < 1 || !o->arcs) {
    steps = 1;
  }
  double X = nk->x, Y = nk->y;
  for (int i = 0; i < steps; i++) {
    off_push(o, clipper_round(o->src[j].x + X * o->delta),
             clipper_round(o->src[j].y + Y * o->delta));
    const double X2 = X;
    X = X * o->cs - o->sn * Y;
    Y = X2 * o->sn + Y * o->cs;
  }
  off_push_n(o, j, nj);
}

/* ClipperOffset::OffsetPoint for JT_ROUND. */
static void off_point(offsetter *o, int j, int *k) {
  const dpt *nk = &o->nrm[*k], *nj = &o->nrm[j];
  o->sin_a = nk->x * nj->y - nj->x * nk->y;
  if (DB_FABS(o->sin_a * o->delta) < 1.0) {
    const double cos_a = nk->x * nj->x + nj->y * nk->y;
    if (cos_a > 0) { /* nearly straight: one point, and k stays (as Clipper 6.4 does) */
      off_push_n(o, j, nk);
      return;
    }
  } else if (o->sin_a > 1.0) {
    o->sin_a = 1.0;
  } else if (o->sin_a < -1.0) {
    o->sin_a = -1.0;
  }
  if (o->sin_a * o->delta < 0) { /* concave corner */
    off_push_n(o, j, nk);
    off_push(o, o->src[j].x, o->src[j].y);
    off_push_n(o, j, nj);
  } else {
    off_round(o, j, *k);
  }
  *k = j;
}

static int off_run(offsetter *o) {
  o->count = 0;
  o->overflow = 0;
  if (o->delta > -1e-20 && o->delta < 1e-20) {
    for (int j = 0; j < o->n; j++) {
      off_push(o, o->src[j].x, o->src[j].y);
    }
    return o->count;
  }
  int k = o->n - 1;
  for (int j = 0; j < o->n; j++) {
    off_point(o, j, &k);
  }
  return o->overflow ? -1 : o->count;
}

/* pyclipper.PyclipperOffset(JT_ROUND, ET_CLOSEDPOLYGON).Execute(delta) of the box (whose corners
   pyclipper truncates to integers), as raw points into c->raw; returns their count (0: Clipper
   would return nothing). */
static int offset_box(ctx *c, const fpt q[4], double delta) {
  offsetter o;
  ipt p[4];
  for (int i = 0; i < 4; i++) {
    p[i].x = (int32_t)q[i].x;
    p[i].y = (int32_t)q[i].y;
  }
  /* AddPath: drop a closing duplicate and consecutive duplicates */
  int high = 3;
  while (high > 0 && p[0].x == p[high].x && p[0].y == p[high].y) {
    high--;
  }
  o.n = 0;
  o.src[o.n++] = p[0];
  for (int i = 1; i <= high; i++) {
    if (o.src[o.n - 1].x != p[i].x || o.src[o.n - 1].y != p[i].y) {
      o.src[o.n++] = p[i];
    }
  }
  if (o.n < 3) {
    return 0;
  }
  /* FixOrientations: Clipper wants a positive Area() */
  double a = 0;
  for (int i = 0, j = o.n - 1; i < o.n; j = i++) {
    a += ((double)o.src[j].x + o.src[i].x) * ((double)o.src[j].y - o.src[i].y);
  }
  if (!(-a * 0.5 >= 0)) {
    for (int i = 0, j = o.n - 1; i < j; i++, j--) {
      ipt t = o.src[i]; o.src[i] = o.src[j]; o.src[j] = t;
    }
  }
  for (int j = 0; j < o.n; j++) { /* GetUnitNormal */
    const ipt *s = &o.src[j], *t = &o.src[j + 1 < o.n ? j + 1 : 0];
    if (s->x == t->x && s->y == t->y) {
      o.nrm[j].x = 0;
      o.nrm[j].y = 0;
      continue;
    }
    double dx = (double)(t->x - s->x), dy = (double)(t->y - s->y);
    const double f = 1 * 1.0 / DB_SQRT(dx * dx + dy * dy);
    dx *= f;
    dy *= f;
    o.nrm[j].x = dy;
    o.nrm[j].y = -dx;
  }
  o.delta = delta;
  const double ad = DB_FABS(delta);
  const double y = 0.25 > ad * 0.25 ? ad * 0.25 : 0.25; /* ArcTolerance 0.25 (pyclipper's) */
  double steps = DB_PI / acos(1 - y / ad);
  if (steps > ad * DB_PI) {
    steps = ad * DB_PI;
  }
  o.sn = sin(DB_TWO_PI / steps);
  o.cs = cos(DB_TWO_PI / steps);
  o.steps_per_rad = steps / DB_TWO_PI;
  if (delta < 0.0) {
    o.sn = -o.sn;
  }
  o.out = c->raw;
  o.cap = (int)RAW_CAP;
  o.arcs = 1;
  int n = off_run(&o);
  if (n < 0) {
    o.arcs = 0;
    n = off_run(&o);
  }
  return n < 0 ? 0 : n;
}

/* shapely's Polygon(q).area and .length (GEOS's shoelace from the first x, and summed sides). */
static double unclip_distance(const fpt q[4], float ratio) {
  double x[5], y[5];
  for (int i = 0; i < 5; i++) {
    x[i] = q[i & 3].x;
    y[i] = q[i & 3].y;
  }
  double sum = 0.0;
  for (int i = 1; i < 4; i++) {
    sum += (x[i] - x[0]) * (y[i - 1] - y[i + 1]);
  }
  const double area = DB_FABS(sum / 2.0);
  double length = 0.0;
  for (int i = 1; i < 5; i++) {
    const double dx = x[i] - x[i - 1], dy = y[i] - y[i - 1];
    length += DB_SQRT(dx * dx + dy * dy);
  }
  return length > 0 ? area * (double)ratio / length : 0.0;
}

/* ---------------------------------------------------------------- boxes */

/* predict_det's order_points_clockwise on the integer corners, then clip_det_res, then the
   width/height filter. Returns 0 when the box is dropped. */
static int filter_box(const ctx *c, const int32_t bx[4], const int32_t by[4], ocr_box *out) {
  int s[4], imin = 0, imax = 0;
  for (int i = 0; i < 4; i++) {
    s[i] = bx[i] + by[i];
    if (s[i] < s[imin]) imin = i;
    if (s[i] > s[imax]) imax = i;
  }
  int rx[4], ry[4];
  rx[0] = bx[imin]; ry[0] = by[imin];
  rx[2] = bx[imax]; ry[2] = by[imax];
  int rest[4], nr = 0; /* np.delete of both indices (one row if they are the same) */
  for (int i = 0; i < 4; i++) {
    if (i != imin && i != imax) rest[nr++] = i;
  }
  int dmin = 0, dmax = 0;
  for (int i = 1; i < nr; i++) {
    const int d = by[rest[i]] - bx[rest[i]];
    if (d < by[rest[dmin]] - bx[rest[dmin]]) dmin = i;
    if (d > by[rest[dmax]] - bx[rest[dmax]]) dmax = i;
  }
  rx[1] = bx[rest[dmin]]; ry[1] = by[rest[dmin]];
  rx[3] = bx[rest[dmax]]; ry[3] = by[rest[dmax]];
  for (int i = 0; i < 4; i++) {
    rx[i] = clampi(rx[i], 0, c->isrc_w - 1);
    ry[i] = clampi(ry[i], 0, c->isrc_h - 1);
  }
  const long w2 = (long)(rx[0] - rx[1]) * (rx[0] - rx[1]) + (long)(ry[0] - ry[1]) * (ry[0] - ry[1]);
  const long h2 = (long)(rx[0] - rx[3]) * (rx[0] - rx[3]) + (long)(ry[0] - ry[3]) * (ry[0] - ry[3]);
  if ((int)DB_SQRTF((float)w2) <= 3 || (int)DB_SQRTF((float)h2) <= 3) {
    return 0;
  }
  for (int i = 0; i < 4; i++) {
    out->x[i] = (float)rx[i];
    out->y[i] = (float)ry[i];
  }
  return 1;
}

static void ring_evict(ctx *c, uint32_t total) {
  /* keep the boxes of the last OCR_DB_MAX_CANDIDATES contours of `total` */
  while (c->ring_count && c->ring[c->ring_head].contour + OCR_DB_MAX_CANDIDATES < total) {
    c->ring_head = (c->ring_head + 1) % OCR_DB_MAX_CANDIDATES;
    c->ring_count--;
  }
}

/* Steps 3-7 for one traced contour. */
static void process_contour(ctx *c, uint32_t index, int is_hole, int sx, int sy) {
  const ocr_db_params *pr = c->params;
  fpt q[4], u[4];
  int n = hull_rows(c);
  if (n >= 3) {
    cv_order(c->hull, n, is_hole ? HULL_HOLE : HULL_OUTER, sx, sy);
  }
  float sside = mini_box(c->hull, n, q);
  if (n < 3 || sside < (float)pr->min_size) {
    return;
  }
  const double score = box_score(c, q);
  if ((double)pr->box_threshold > score) {
    return;
  }
  const double d = unclip_distance(q, pr->unclip_ratio);
  const int nraw = offset_box(c, q, d);
  if (nraw <= 0) {
    return;
  }
  n = hull_points(c, c->raw, nraw);
  if (n >= 3) {
    cv_order(c->hull, n, HULL_OFFSET, 0, 0);
  }
  sside = mini_box(c->hull, n, u);
  if (n < 3 || sside < (float)(pr->min_size + 2)) {
    return;
  }
  int32_t bx[4], by[4];
  const float fw = (float)c->vw, fh = (float)c->vh;
  for (int i = 0; i < 4; i++) {
    float x = DB_RINTF(u[i].x / fw * c->src_w), y = DB_RINTF(u[i].y / fh * c->src_h);
    x = x < 0 ? 0 : x > c->src_w ? c->src_w : x;
    y = y < 0 ? 0 : y > c->src_h ? c->src_h : y;
    bx[i] = (int32_t)x;
    by[i] = (int32_t)y;
  }
  ocr_box box;
  if (!filter_box(c, bx, by, &box)) {
    return;
  }
  box.score = (float)score;
  ring_evict(c, index + 1);
  cand *slot = &c->ring[(c->ring_head + c->ring_count) % OCR_DB_MAX_CANDIDATES];
  slot->box = box;
  slot->contour = index;
  c->ring_count++;
}

/* ---------------------------------------------------------------- border following */

/* OpenCV's chain codes: 0 = right, then counterclockwise on screen (y down) */
static const int dir_dx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
static const int dir_dy[8] = {0, -1, -1, -1, 0, 1, 1, 1};

static void row_add(ctx *c, int x, int y) {
  if (y < c->ymin) {
    c->ymin = y;
    c->lo[y] = c->hi[y] = x;
  } else if (y > c->ymax) {
    c->ymax = y;
    c->lo[y] = c->hi[y] = x;
  } else {
    if (x < c->lo[y]) c->lo[y] = x;
    if (x > c->hi[y]) c->hi[y] = x;
  }
}

/* Suzuki & Abe's border following from the start pixel (x0, y0) whose zero neighbour is in
   direction `from` (left for an outer border, right for a hole border): marks the border (PX_NEG
   where the right neighbour is an examined 0-pixel, else PX_POS on unmarked pixels) and records
   each border pixel's row extremes. */
static void trace(ctx *c, int x0, int y0, int from) {
  uint8_t *m = c->marks;
  const int ms = c->ms;
  int off[8];
  for (int d = 0; d < 8; d++) {
    off[d] = dir_dy[d] * ms + dir_dx[d];
  }
  const int p0 = (y0 + 1) * ms + x0 + 1;
  c->ymin = c->ymax = y0;
  c->lo[y0] = c->hi[y0] = x0;
  int d1 = -1;
  for (int k = 0; k < 8; k++) { /* clockwise from `from` */
    const int d = (from - k) & 7;
    if (m[p0 + off[d]] != PX_BG) {
      d1 = d;
      break;
    }
  }
  if (d1 < 0) { /* an isolated pixel */
    m[p0] = PX_NEG;
    return;
  }
  const int p1 = p0 + off[d1];
  int p3 = p0, x3 = x0, y3 = y0, d2 = d1;
  for (;;) {
    int right_zero = 0, d4 = d2;
    for (int k = 1; k <= 8; k++) { /* counterclockwise from the one after the previous pixel */
      d4 = (d2 + k) & 7;
      if (m[p3 + off[d4]] != PX_BG) {
        break;
      }
      if (d4 == 0) {
        right_zero = 1;
      }
    }
    if (right_zero) {
      m[p3] = PX_NEG;
    } else if (m[p3] == PX_FG) {
      m[p3] = PX_POS;
    }
    row_add(c, x3, y3);
    const int p4 = p3 + off[d4];
    if (p4 == p0 && p3 == p1) {
      break;
    }
    p3 = p4;
    x3 += dir_dx[d4];
    y3 += dir_dy[d4];
    d2 = (d4 + 4) & 7;
  }
}

/* ---------------------------------------------------------------- entry point */

/* Step 1: the bitmap prob > threshold in the marks image, framed by zeros. */
static void bitmap(ctx *c, float threshold) {
  const int ms = c->ms, vh = (int)c->vh, vw = (int)c->vw;
  memset(c->marks, PX_BG, (size_t)ms);
  memset(c->marks + (size_t)(vh + 1) * ms, PX_BG, (size_t)ms);
  for (int y = 0; y < vh; y++) {
    uint8_t *row = c->marks + (size_t)(y + 1) * ms;
    const float *src = c->prob + (size_t)y * c->stride;
    row[0] = PX_BG;
    row[vw + 1] = PX_BG;
    for (int x = 0; x < vw; x++) {
      row[x + 1] = src[x] > threshold ? PX_FG : PX_BG;
    }
  }
}

/* Step 2: the raster scan of Suzuki & Abe (and of OpenCV): a border starts at every unmarked
   pixel whose left neighbour is 0 (outer) and at every pixel not marked PX_NEG whose right
   neighbour is 0 (hole, unless an outer border just started there); then steps 3-7 for it.
   Only the first and last pixel of a run can meet either condition, and tracing re-marks
   foreground pixels but never makes or clears a 0, so the scan jumps from run end to run start,
   over background 8 bytes at a time, with the same result as visiting every pixel. */
static void scan(ctx *c) {
  const int ms = c->ms, vh = (int)c->vh, vw = (int)c->vw;
  for (int y = 0; y < vh; y++) {
    const uint8_t *row = c->marks + (size_t)(y + 1) * ms + 1; /* row[-1], row[vw] are the frame */
    int x = 0;
    for (;;) {
      for (uint32_t a, b; x + 8 <= vw; x += 8) {
        DB_MEMCPY(&a, row + x, sizeof a);
        DB_MEMCPY(&b, row + x + 4, sizeof b);
        if (a | b) {
          break;
        }
      }
      while (x < vw && row[x] == PX_BG) {
        x++;
      }
      if (x >= vw) {
        break;
      }
      const int first = x;
      int outer = 0;
      if (row[first] == PX_FG) {
        trace(c, first, y, 4);
        process_contour(c, c->contours++, 0, first, y);
        outer = 1;
      }
      while (row[x + 1] != PX_BG) { /* the frame stops it */
        x++;
      }
      if (!(outer && x == first) && (row[x] == PX_FG || row[x] == PX_POS)) {
        trace(c, x, y, 0);
        process_contour(c, c->contours++, 1, x, y);
      }
      x++;
    }
  }
}

static void reading_order(ctx *c, unsigned n) {
  /* ppocr's list is in OpenCV's contour order (newest first); sorted_boxes sorts it stably by
     the top-left corner (y, x), then moves a box left past its predecessors while they are
     within 10 px vertically and further right. The stable sort of the newest-first list is the
     sort of the oldest-first list with equal corners put newest first, and the oldest-first
     (discovery, i.e. raster) order is nearly sorted already: insertion sort is linear here. */
  uint16_t *o = c->order;
  for (unsigned i = 0; i < n; i++) {
    o[i] = (uint16_t)((c->ring_head + i) % OCR_DB_MAX_CANDIDATES);
  }
  for (unsigned i = 1; i < n; i++) {
    const uint16_t t = o[i];
    const cand *ct = &c->ring[t];
    unsigned j = i;
    for (; j > 0; j--) {
      const cand *cj = &c->ring[o[j - 1]];
      const float dy = cj->box.y[0] - ct->box.y[0], dx = cj->box.x[0] - ct->box.x[0];
      if (dy > 0 || (dy == 0 && (dx > 0 || (dx == 0 && cj->contour < ct->contour)))) {
        o[j] = o[j - 1];
      } else {
        break;
      }
    }
    o[j] = t;
  }
  for (unsigned i = 0; i + 1 < n; i++) {
    for (unsigned j = i + 1; j-- > 0;) {
      const ocr_box *a = &c->ring[o[j]].box, *b = &c->ring[o[j + 1]].box;
      if (DB_FABSF(b->y[0] - a->y[0]) < 10 && b->x[0] < a->x[0]) {
        const uint16_t t = o[j];
        o[j] = o[j + 1];
        o[j + 1] = t;
      } else {
        break;
      }
    }
  }
}

int ocr_db_boxes(const float *prob, unsigned stride, unsigned valid_h, unsigned valid_w,
                 unsigned src_h, unsigned src_w, const ocr_db_params *params,
                 void *work, size_t work_bytes, ocr_box *boxes, unsigned max_boxes, unsigned *found) {
  if (found) {
    *found = 0;
  }
  const size_t need = ocr_db_work_bytes(valid_h, valid_w);
  if (!prob || !params || !work || !found || (max_boxes && !boxes) || need == 0 ||
      valid_w > stride || src_h == 0 || src_w == 0 || work_bytes < need ||
      ((uintptr_t)work & 7u) != 0) {
    return -1;
  }
  layout l;
  plan(valid_h, valid_w, &l);
  uint8_t *base = (uint8_t *)work;
  ctx c;
  c.prob = prob;
  c.stride = stride;
  c.vh = valid_h;
  c.vw = valid_w;
  c.src_h = (float)src_h;
  c.src_w = (float)src_w;
  c.isrc_h = (int)src_h;
  c.isrc_w = (int)src_w;
  c.params = params;
  c.marks = base + l.marks;
  c.ms = (int)valid_w + 2;
  c.lo = (int32_t *)(void *)(base + l.lo);
  c.hi = (int32_t *)(void *)(base + l.hi);
  c.ca = (int32_t *)(void *)(base + l.ca);
  c.cb = (int32_t *)(void *)(base + l.cb);
  c.raw = (ipt *)(void *)(base + l.raw);
  c.hull = (cpt *)(void *)(base + l.hull);
  c.hull_cap = l.hull_cap;
  c.ring = (cand *)(void *)(base + l.ring);
  c.ring_head = c.ring_count = 0;
  c.order = (uint16_t *)(void *)(base + l.order);
  c.contours = 0;

  bitmap(&c, params->threshold);
  scan(&c);
  ring_evict(&c, c.contours);

  /* 7. reading order, then the first max_boxes */
  const unsigned n = c.ring_count;
  reading_order(&c, n);
  const unsigned written = n < max_boxes ? n : max_boxes;
  for (unsigned i = 0; i < written; i++) {
    boxes[i] = c.ring[c.order[i]].box;
  }
  *found = n;
  return (int)written;
}
