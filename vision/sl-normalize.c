/* sl-normalize.c: turns 8-bit model-input images into mean/std-normalised CHW floats. */
#include "sl-pipeline-private.h"
#include "sl-error-private.h"

void
_sl_normalizer_init (sl_normalizer *n, const sl_input_spec *spec)
{
  n->channels = spec->channels;
  n->width = spec->width;
  n->height = spec->height;
  for (int c = 0; c < spec->channels; c++)
    for (int v = 0; v < 256; v++)
      n->lut[c][v] = ((float) v / 255.0f - spec->mean[c]) / spec->std[c];
}

void
_sl_normalizer_apply (const sl_normalizer *n, const sl_image *img, float *chw)
{
  size_t plane = (size_t) n->width * n->height;
  int C = n->channels;

  for (int y = 0; y < n->height; y++)
    {
      const uint8_t *row = img->data + (size_t) y * img->stride;

      for (int c = 0; c < C; c++)
        {
          const float *lut = n->lut[c];
          float *dst = chw + c * plane + (size_t) y * n->width;

          for (int x = 0; x < n->width; x++)
            dst[x] = lut[row[x * C + c]];
        }
    }
}

sl_status
sl_pipeline_normalize (const sl_pipeline *pipeline, const sl_image *img, float *chw, sl_error *err)
{
  const sl_input_spec *s = &pipeline->input;
  sl_normalizer n;

  if (img == NULL || img->data == NULL || img->depth != 8 || img->channels != s->channels
      || img->width != s->width || img->height != s->height)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the model expects %dx%d images with %d channels of 8 bits; apply "
                         "the pipeline first",
                         s->width, s->height, s->channels);
  _sl_normalizer_init (&n, s);
  _sl_normalizer_apply (&n, img, chw);
  return SL_OK;
}
