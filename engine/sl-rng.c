/* sl-rng.c: xoshiro256** seeded through splitmix64; reproducible on every platform. */
#include "sl-rng-private.h"

#include <math.h>

static uint64_t
splitmix64 (uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline uint64_t
rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

void
_sl_rng_seed (sl_rng *rng, uint64_t seed)
{
  uint64_t x = seed;

  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

uint64_t
_sl_rng_next (sl_rng *rng)
{
  uint64_t *s = rng->s;
  uint64_t result = rotl (s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

float
_sl_rng_uniform (sl_rng *rng)
{
  return (float) (_sl_rng_next (rng) >> 40) * (1.0f / 16777216.0f);
}

float
_sl_rng_normal (sl_rng *rng)
{
  double u1 = ((_sl_rng_next (rng) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = (_sl_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);

  return (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2));
}

uint64_t
_sl_rng_below (sl_rng *rng, uint64_t n)
{
  /* Lemire's multiply-shift; the tiny bias is irrelevant for shuffling. */
  return (uint64_t) (((__uint128_t) _sl_rng_next (rng) * n) >> 64);
}
