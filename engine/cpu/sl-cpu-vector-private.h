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
