/* Greedy CTC decoding as PaddleOCR's CTCLabelDecode does it: the best class
 * at every time step, repeats merged, blanks (class 0) dropped; the score is
 * the mean probability of the kept steps (0 when nothing is kept). */
#ifndef OCR_CTC_H
#define OCR_CTC_H

#include <stddef.h>

typedef struct {
  float score;
  unsigned length; /* characters kept */
} ocr_ctc_result;

/* probs: [steps][classes] softmax output. labels[k] is the UTF-8 text of
   class k (labels[0], the blank, is never printed). Writes a NUL-terminated
   string of at most text_size bytes (truncating whole characters). */
ocr_ctc_result ocr_ctc_greedy(const float *probs, unsigned steps, unsigned classes,
                              const char *const *labels, char *text, size_t text_size);

#endif
