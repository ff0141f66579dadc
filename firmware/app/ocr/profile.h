/* Per-kernel instruction counts for `./scons bench`: with -DMODEL_PROFILE the
 * generated model_run calls model_profile_begin/end around every kernel; the
 * counts accumulate over all inferences of the run. */
#ifndef OCR_PROFILE_H
#define OCR_PROFILE_H

/* Prints "kernel: <index> <name> instructions: <n>" per kernel (a no-op
   without MODEL_PROFILE). */
void ocr_profile_report(void);

#endif
