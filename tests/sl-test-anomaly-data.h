/* sl-test-anomaly-data.h: a seeded synthetic surface with defects and masks, for anomaly tests without Python. */
#pragma once

#include <stdint.h>

/* Writes n_good defect-free and n_defect defective size x size RGB PNGs of one
 * seeded material (a woven pattern over brushed streaks, lit unevenly, with
 * sensor noise; every image shows a different, randomly shifted piece of it):
 *   dir/good/good-NNN.png
 *   dir/defect/defect-NNN-KIND.png   KIND cycles scratch, spot, crack, missing,
 *                                    contamination; size and contrast vary
 *   dir/masks/defect-NNN-KIND.png    8-bit gray, 255 on the defect, else 0
 * The folders are created when missing. The same arguments give the same
 * files. size must be 32..1024. Returns 0, or -1 after printing why (an
 * argument out of range, a folder or file that cannot be written). */
int sl_test_write_anomaly_images (const char *dir, int n_good, int n_defect, int size,
                                  uint64_t seed);
