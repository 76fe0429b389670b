/* sl-cpu-conv-phases.c: the input gradient of a strided convolution as one small convolution of
 * dy per phase of the input (its pixels whose coordinates leave the same remainders by the
 * stride), then the phases woven back together.
 *
 * Along one axis of a convolution with stride s, padding p and kernel K, input pixel
 * i = s q + r (phase r) receives dy[o] w[k] for every s o + k - p = i: k takes the values
 * k0, k0 + s, ... (k0 = (r + p) mod s; J of them) and o = q + c - j for k = k0 + s j, where
 * c = (r + p - k0) / s. So phase r of dx is a stride-1 correlation of dy with the J taps
 * w[k0 + s (J - 1 - t)], t = 0 .. J - 1, padded by J - 1 - c before it. A 3 x 3 kernel of stride
 * 2 gives phases of 1 x 1, 1 x 2, 2 x 1 and 2 x 2 taps: the nine products of the forward pass and
 * no more, each phase a GEMM with K = out_c taps deep, where the column route has K = out_c
 * (16 to 64 for the downsampling layers: memory-bound) and a col2im pass over a column matrix
 * nine times dx. */
#include "sl-cpu-private.h"

#include <string.h>

/* The most phases (stride h x stride w) a convolution may have here. */
#define MAX_PHASES 16

/* One axis of one phase: its outputs (q), taps (j), first tap (k0) and leading padding. */
typedef struct
{
  int q, j, k0, pad;
} phase_axis;

static phase_axis
axis_of (int in, int k, int s, int p, int r)
{
  phase_axis a = { 0 };

  a.q = r < in ? (in - r + s - 1) / s : 0;
  a.k0 = (r + p) % s;
  a.j = a.k0 < k ? (k - 1 - a.k0) / s + 1 : 0;
  a.pad = a.j - 1 - (r + p - a.k0) / s;
  return a;
}

/* Phase (rh, rw) of d's input gradient as a forward convolution of dy. */
static sl_conv_desc
phase_desc (const sl_conv_desc *d, int rh, int rw, phase_axis *ah, phase_axis *aw)
{
  sl_conv_desc t = *d;

  *ah = axis_of (d->in_h, d->kh, d->sh, d->ph, rh);
  *aw = axis_of (d->in_w, d->kw, d->sw, d->pw, rw);
  t.in_c = d->out_c;
  t.in_h = d->out_h;
  t.in_w = d->out_w;
  t.out_c = d->in_c;
  t.out_h = ah->q;
  t.out_w = aw->q;
  t.kh = ah->j;
  t.kw = aw->j;
  t.sh = t.sw = t.dh = t.dw = 1;
  t.ph = ah->pad;
  t.pw = aw->pad;
  t.ph_end = ah->q - 1 + ah->j - d->out_h - ah->pad;
  t.pw_end = aw->q - 1 + aw->j - d->out_w - aw->pad;
  return t;
}

bool
_sl_cpu_phase_dx_applies (const sl_conv_desc *d)
{
  return d->groups == 1 && d->dh == 1 && d->dw == 1 && (d->sh > 1 || d->sw > 1)
         && d->sh * d->sw <= MAX_PHASES && d->kh * d->kw > 1 && d->ph >= 0 && d->pw >= 0;
}

size_t
_sl_cpu_phase_dx_col_floats (const sl_conv_desc *d)
{
  size_t most = 0;

  for (int rh = 0; rh < d->sh; rh++)
    for (int rw = 0; rw < d->sw; rw++)
      {
        phase_axis ah, aw;
        const sl_conv_desc t = phase_desc (d, rh, rw, &ah, &aw);
        const size_t col = (size_t) t.in_c * t.kh * t.kw * t.out_h * t.out_w;

        most = col > most ? col : most;
      }
  return most;
}

void
_sl_cpu_phase_dx_pack (const sl_conv_desc *d, const float *w, float *phase_w)
{
  for (int rh = 0; rh < d->sh; rh++)
    for (int rw = 0; rw < d->sw; rw++)
      {
        phase_axis ah, aw;

        (void) phase_desc (d, rh, rw, &ah, &aw);
        /* Rows: input channels; columns in the order of dy's columns (filter, tap row, tap). */
        for (int ic = 0; ic < d->in_c; ic++)
          for (int oc = 0; oc < d->out_c; oc++)
            for (int ty = 0; ty < ah.j; ty++)
              for (int tx = 0; tx < aw.j; tx++)
                {
                  const int ki = ah.k0 + d->sh * (ah.j - 1 - ty);
                  const int kj = aw.k0 + d->sw * (aw.j - 1 - tx);

                  *phase_w++ = w[(((size_t) oc * d->in_c + ic) * d->kh + ki) * d->kw + kj];
                }
      }
}

/* dx from the phases' planes in stage (each [in_c][its pixels]): row y of
 * channel c takes phase (y mod sh, x mod sw)'s value at (y / sh, x / sw)
 * for each x. */
static void
weave (const sl_conv_desc *d, const float *stage, float *dx, bool accumulate)
{
  const float *plane_at[MAX_PHASES];
  int q_w[MAX_PHASES];
  size_t row_at[MAX_PHASES], at = 0;

  for (int rh = 0; rh < d->sh; rh++)
    for (int rw = 0; rw < d->sw; rw++)
      {
        phase_axis ah, aw;
        const int p = rh * d->sw + rw;

        (void) phase_desc (d, rh, rw, &ah, &aw);
        plane_at[p] = stage + at;
        q_w[p] = aw.q;
        row_at[p] = (size_t) ah.q * aw.q; /* from one channel to the next */
        at += (size_t) d->in_c * row_at[p];
      }
  for (int c = 0; c < d->in_c; c++)
    for (int y = 0; y < d->in_h; y++)
      {
        const int rh = y % d->sh, qy = y / d->sh;
        float *restrict out = dx + ((size_t) c * d->in_h + y) * d->in_w;

        if (d->sw == 2)
          {
            /* The common case, two phases a row: even and odd pixels. */
            const int pe = rh * 2, po = pe + 1, qe = q_w[pe], qo = q_w[po];
            const float *restrict e = plane_at[pe] + c * row_at[pe] + (size_t) qy * qe;
            const float *restrict o = plane_at[po] + c * row_at[po] + (size_t) qy * qo;
            int x = 0;

            if (accumulate)
              for (; x < qo; x++)
                {
                  out[2 * x] += e[x];
                  out[2 * x + 1] += o[x];
                }
            else
              for (; x < qo; x++)
                {
                  out[2 * x] = e[x];
                  out[2 * x + 1] = o[x];
                }
            if (x < qe)
              out[2 * x] = accumulate ? out[2 * x] + e[x] : e[x];
            continue;
          }
        for (int x = 0; x < d->in_w; x++)
          {
            const int p = rh * d->sw + x % d->sw;
            const float v = plane_at[p][c * row_at[p] + (size_t) qy * q_w[p] + x / d->sw];

            out[x] = accumulate ? out[x] + v : v;
          }
      }
}

void
_sl_cpu_phase_dx_image (const sl_conv_desc *d, const float *phase_w, const float *dy, float *dx,
                        bool accumulate, float *col, float *stage)
{
  float *at = stage;

  for (int rh = 0; rh < d->sh; rh++)
    for (int rw = 0; rw < d->sw; rw++)
      {
        phase_axis ah, aw;
        const sl_conv_desc t = phase_desc (d, rh, rw, &ah, &aw);
        const int q = t.out_h * t.out_w, k = t.in_c * t.kh * t.kw;
        const float *cols = col;

        if (q == 0)
          continue;
        if (k == 0)
          memset (at, 0, sizeof (float) * d->in_c * q);
        else
          {
            /* One tap over dy's own grid: dy is its column matrix. */
            if (t.kh == 1 && t.kw == 1 && t.ph == 0 && t.pw == 0 && t.out_h == t.in_h
                && t.out_w == t.in_w)
              cols = dy;
            else
              _sl_im2col (&t, dy, col, (size_t) q);
            _sl_cpu_sgemm (false, false, d->in_c, q, k, 1.0f, phase_w, k, cols, q, 0.0f, at, q);
          }
        phase_w += (size_t) d->in_c * k;
        at += (size_t) d->in_c * q;
      }
  weave (d, stage, dx, accumulate);
}
