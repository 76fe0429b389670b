/* sl-rng-private.h: seeded random generators, no global state: xoshiro256** for long
 * streams, and a counter-based splitmix64 for draws keyed by (seed, epoch, item). */
#pragma once

#include <stdint.h>

typedef struct
{
  uint64_t s[4];
} sl_rng;

void _sl_rng_seed (sl_rng *rng, uint64_t seed);
uint64_t _sl_rng_next (sl_rng *rng);
/* Uniform in [0, 1). */
float _sl_rng_uniform (sl_rng *rng);
/* Standard normal (Box-Muller). */
float _sl_rng_normal (sl_rng *rng);
/* Uniform integer in [0, n). */
uint64_t _sl_rng_below (sl_rng *rng, uint64_t n);

/* Counter-based: a stream per key, cheap to create for every image or element,
 * so draws never depend on how work is split over threads. */
typedef struct
{
  uint64_t state;
} sl_mix_rng;

static inline uint64_t
_sl_mix_rng_next (sl_mix_rng *r)
{
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Mixes values into one seed, so (seed, epoch, item) streams do not overlap. */
static inline uint64_t
_sl_mix_seed (uint64_t a, uint64_t b)
{
  sl_mix_rng r = { a ^ (b * 0xd1b54a32d192ed03ull) };

  return _sl_mix_rng_next (&r);
}

/* Uniform in [0, 1). */
static inline double
_sl_mix_rng_uniform (sl_mix_rng *r)
{
  return (double) (_sl_mix_rng_next (r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [lo, hi). */
static inline double
_sl_mix_rng_range (sl_mix_rng *r, double lo, double hi)
{
  return lo + (hi - lo) * _sl_mix_rng_uniform (r);
}

/* Uniform in [0, n) for n > 0. */
static inline uint64_t
_sl_mix_rng_below (sl_mix_rng *r, uint64_t n)
{
  return (uint64_t) (_sl_mix_rng_uniform (r) * (double) n) % n;
}
