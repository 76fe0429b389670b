/* sl-block-private.h: zeroed, 64-byte-aligned memory blocks; large ones straight from the kernel. */
#pragma once

#include <stddef.h>

#include "sightline.h"

SL_BEGIN_DECLS

/* Blocks of at least this many bytes are mapped from the kernel: already
 * zero, so nothing clears them, and their pages arrive when first written. */
#define SL_BLOCK_MAPPED_MIN ((size_t) 256 << 10)

/* A zeroed block of bytes (0 is allowed), 64-byte aligned; NULL when out of
 * memory. A mapped block that fills a quarter of a 2 MB page or more is
 * aligned to 2 MB and advised for transparent huge pages: writing 13 MB of
 * weights or activations into fresh memory then takes a few faults instead of
 * 3,300, which cost a cold start about 3 µs each on a virtual machine. */
void *_sl_block_alloc (size_t bytes);
/* Frees a block of _sl_block_alloc; NULL-safe. */
void _sl_block_free (void *block);

SL_END_DECLS
