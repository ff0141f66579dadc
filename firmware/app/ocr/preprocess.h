/* PaddleOCR's recognizer input on the device: uint8 HWC pixels (already
 * resized to the model height) -> float CHW, (x/255 - mean)/std, zero beyond
 * the image's valid width (PaddleOCR pads after normalising). */
#ifndef OCR_PREPROCESS_H
#define OCR_PREPROCESS_H

void ocr_preprocess(const unsigned char *pixels, unsigned valid_width, unsigned channels,
                    unsigned height, unsigned width, const float *mean, const float *std,
                    float *out);

#endif
