/* sl-idx.h: reading IDX image and label files (the MNIST family of data sets); not part of libsightline. */
#pragma once

#include "sightline.h"

SL_BEGIN_DECLS

/* An IDX file of unsigned bytes: count items of item_size bytes each
 * (height * width for images, 1 for labels). */
typedef struct
{
  int64_t count;
  int height, width; /* 1 x 1 for a label file */
  uint8_t *data;
} sl_idx;

/* Reads an IDX file, gzip-compressed or plain; max_items > 0 keeps the first ones.
 * A static library (idx_dep in vision/meson.build) for the demo project, the
 * tests and the benchmarks: libsightline neither exports nor installs it. */
sl_status sl_idx_load (const char *path, int64_t max_items, sl_idx *out, sl_error *err);
void sl_idx_clear (sl_idx *idx);

SL_END_DECLS
