/* The model's classes and input normalisation, generated from the inference
 * model's dict.txt and meta.json by host/labels.py (build/.../labels.c). */
#ifndef OCR_LABELS_H
#define OCR_LABELS_H

/* ocr_labels[0] is the CTC blank; then the dictionary, then " " when the
   model was trained with use_space_char. */
extern const char *const ocr_labels[];
extern const unsigned ocr_label_count;
/* Per channel, in the model's channel order. */
extern const float ocr_input_mean[];
extern const float ocr_input_std[];

#endif
