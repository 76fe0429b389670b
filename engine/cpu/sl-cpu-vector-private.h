/* sl-cpu-vector-private.h: one vector register of floats (SL_CPU_VECTOR_LANES of them, GCC's
 * vector extensions) for the direct convolution kernels: loads and stores at any address, and a
 * float broadcast to every lane. */
#pragma once

#include "sl-cpu-private.h"

typedef float sl_cpu_vf __attribute__ ((vector_size (SL_CPU_VECTOR_LANES * sizeof (float))));
/* The same, aligned (4): loads and stores anywhere (vmovups). */
typedef float sl_cpu_vf_u
    __attribute__ ((vector_size (SL_CPU_VECTOR_LANES * sizeof (float)), aligned (4)));

static inline sl_cpu_vf
_sl_cpu_vf_load (const float *p)
{
  return *(const sl_cpu_vf_u *) p;
}

static inline void
_sl_cpu_vf_store (float *p, sl_cpu_vf v)
{
  *(sl_cpu_vf_u *) p = v;
}

/* *p in every lane: one vbroadcastss (x - 0 is x, so GCC drops the
 * subtraction; (sl_cpu_vf){ 0 } + *p would add the zero first, -0 + 0 being +0). */
static inline sl_cpu_vf
_sl_cpu_vf_broadcast (const float *p)
{
  return *p - (sl_cpu_vf){ 0 };
}

#if SL_CPU_VECTOR_LANES == 16
#include <immintrin.h>

/* r[i][j] becomes r[j][i]: four rounds, each swapping the off-diagonal
 * blocks of side h of every 2h x 2h block (one two-source permute a row:
 * index bit 4 picks the second row). */
static inline void
_sl_cpu_transpose16 (sl_cpu_vf r[16])
{
  static const int rounds[4][2][16] = {
    { { 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23 },
      { 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31 } },
    { { 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27 },
      { 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31 } },
    { { 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29 },
      { 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31 } },
    { { 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30 },
      { 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31 } },
  };

#pragma GCC unroll 4
  for (int k = 0, h = 8; k < 4; k++, h /= 2)
    {
      const __m512i lo = _mm512_loadu_si512 (rounds[k][0]), hi = _mm512_loadu_si512 (rounds[k][1]);

#pragma GCC unroll 16
      for (int i = 0; i < 16; i++)
        if ((i & h) == 0)
          {
            const __m512 a = (__m512) r[i], b = (__m512) r[i + h];

            r[i] = (sl_cpu_vf) _mm512_permutex2var_ps (a, lo, b);
            r[i + h] = (sl_cpu_vf) _mm512_permutex2var_ps (a, hi, b);
          }
    }
}
#endif
