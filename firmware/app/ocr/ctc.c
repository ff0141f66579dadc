#include "ctc.h"

#include <string.h>

ocr_ctc_result ocr_ctc_greedy(const float *probs, unsigned steps, unsigned classes,
                              const char *const *labels, char *text, size_t text_size) {
  ocr_ctc_result result = {0.0f, 0};
  size_t used = 0;
  unsigned previous = 0;
  double sum = 0.0; /* the mean of up to hundreds of floats: keep the extra bits */
  text[0] = '\0';
  for (unsigned t = 0; t < steps; t++) {
    const float *row = probs + (size_t)t * classes;
    unsigned best = 0; /* first maximum wins, as numpy's argmax */
    for (unsigned k = 1; k < classes; k++) {
      if (row[k] > row[best]) {
        best = k;
      }
    }
    if (best != 0 && best != previous) {
      const size_t n = strlen(labels[best]);
      if (used + n < text_size) {
        memcpy(text + used, labels[best], n + 1);
        used += n;
      }
      sum += row[best];
      result.length++;
    }
    previous = best;
  }
  result.score = result.length ? (float)(sum / result.length) : 0.0f;
  return result;
}
