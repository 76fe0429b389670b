/* sl-pipeline-cost.c: the shape rule and work estimate of every operator, and a pipeline's cost per image. */
#include "sl-pipeline-cost-private.h"
#include "sl-pipeline-private.h"

#include <math.h>
#include <string.h>

/* An image as the cost rules follow it. */
typedef struct
{
  double w, h, ch, bytes; /* bytes per sample: 1 or 2 */
} shape;

static double
samples (const shape *s)
{
  return s->w * s->h * s->ch;
}

static double
image_bytes (const shape *s)
{
  return samples (s) * s->bytes;
}

/* One step's rule: turns `s` into the step's output shape and returns its
 * work; *scratch receives the bytes of temporary images it makes besides
 * its output (OpenCV's intermediates). */
typedef double (*cost_rule) (const sl_step *step, shape *s, double *scratch);

typedef struct
{
  const char *id;
  cost_rule rule;
} op_cost;

static double
value (const sl_step *step, const char *param)
{
  const sl_op_info *info = &step->op->info;

  for (int i = 0; i < info->n_params; i++)
    if (strcmp (info->params[i].id, param) == 0)
      return step->values[i].number;
  return 0.0;
}

static const sl_rect *
rect_value (const sl_step *step, const char *param)
{
  const sl_op_info *info = &step->op->info;

  for (int i = 0; i < info->n_params; i++)
    if (strcmp (info->params[i].id, param) == 0)
      return &step->values[i].rect;
  return NULL;
}

static double
to_gray (const sl_step *step, shape *s, double *scratch)
{
  double work = 3.0 * s->w * s->h;

  s->ch = 1;
  return work;
}

static double
to_rgb (const sl_step *step, shape *s, double *scratch)
{
  s->ch = 3;
  return samples (s);
}

static double
hsv_channel (const sl_step *step, shape *s, double *scratch)
{
  /* RGB and HSV copies of the image, then one channel. */
  *scratch = 2.0 * 3.0 * s->w * s->h * s->bytes;
  s->ch = 1;
  return 40.0 * s->w * s->h;
}

static double
to_8bit (const sl_step *step, shape *s, double *scratch)
{
  s->bytes = 1;
  return samples (s);
}

static double
per_sample (const sl_step *step, shape *s, double *scratch)
{
  return 2.0 * samples (s);
}

static double
crop (const sl_step *step, shape *s, double *scratch)
{
  const sl_rect *r = rect_value (step, "rect");

  if (r != NULL && value (step, "mode") == 0)
    {
      s->w = fmax (1.0, ceil (r->width * s->w));
      s->h = fmax (1.0, ceil (r->height * s->h));
    }
  else if (r != NULL)
    {
      /* A region larger than the image fails; it never enlarges one. */
      s->w = fmin (s->w, r->width);
      s->h = fmin (s->h, r->height);
    }
  return samples (s);
}

static double
resize (const sl_step *step, shape *s, double *scratch)
{
  const double W = value (step, "width"), H = value (step, "height");
  const int mode = (int) value (step, "mode");
  const double in = samples (s);

  if (mode == 1) /* fit-pad: a scaled copy within W x H, then the padded output */
    *scratch = W * H * s->ch * s->bytes;
  else if (mode == 2) /* center-crop: a scaled copy covering W x H, then the crop */
    {
      double k = fmax (W / s->w, H / s->h);
      *scratch = fmax (s->w * k, W) * fmax (s->h * k, H) * s->ch * s->bytes;
    }
  s->w = W;
  s->h = H;
  /* Cubic interpolation reads 16 samples per output, area reads every input. */
  return in + 16.0 * samples (s);
}

static double
rotate (const sl_step *step, shape *s, double *scratch)
{
  if ((int) value (step, "angle") != 1)
    {
      double w = s->w;
      s->w = s->h;
      s->h = w;
    }
  return samples (s);
}

static double
gaussian (const sl_step *step, shape *s, double *scratch)
{
  double k = value (step, "ksize");

  /* ksize 0 derives the kernel from sigma (about 6 sigma + 1). */
  if (k < 1)
    k = 6.0 * value (step, "sigma") + 1.0;
  return 4.0 * k * samples (s); /* separable: two passes of k multiply-adds */
}

static double
median (const sl_step *step, shape *s, double *scratch)
{
  double k = value (step, "ksize");

  /* OpenCV sorts small windows; larger 8-bit ones keep a running histogram
   * per column (constant time in k, a few hundred operations). */
  return (k <= 5 ? k * k : 256.0 + 4.0 * k) * samples (s);
}

static double
bilateral (const sl_step *step, shape *s, double *scratch)
{
  double d = value (step, "diameter");
  return 8.0 * d * d * samples (s);
}

static double
sharpen (const sl_step *step, shape *s, double *scratch)
{
  double k = 6.0 * value (step, "sigma") + 1.0;

  *scratch = image_bytes (s); /* the blurred copy */
  return (4.0 * k + 4.0) * samples (s);
}

static double
clahe (const sl_step *step, shape *s, double *scratch)
{
  *scratch = image_bytes (s);
  return 20.0 * samples (s);
}

static double
equalize (const sl_step *step, shape *s, double *scratch)
{
  *scratch = 2.0 * image_bytes (s); /* colour images: the luma planes */
  return 10.0 * samples (s);
}

static double
threshold (const sl_step *step, shape *s, double *scratch)
{
  double b = value (step, "block-size");
  int method = (int) value (step, "method");

  if (method >= 2) /* adaptive: a blurred copy of the block-size neighbourhood */
    {
      *scratch = image_bytes (s);
      return (4.0 * b + 2.0) * samples (s);
    }
  return 2.0 * samples (s);
}

static double
morphology (const sl_step *step, shape *s, double *scratch)
{
  double k = value (step, "ksize"), it = value (step, "iterations");
  int op = (int) value (step, "operation"), shape_kind = (int) value (step, "shape");
  /* Open, close, gradient, top hat and black hat run two passes and keep a copy. */
  double passes = op >= 2 ? 2.0 : 1.0;
  /* A rectangle is separable (a row pass and a column pass); OpenCV visits
   * every element of an ellipse (about pi/4 of the square) or a cross. */
  double per_sample = shape_kind == 0 ? 2.0 * k : shape_kind == 1 ? 0.8 * k * k : 2.0 * k;

  if (op >= 2)
    *scratch = image_bytes (s);
  return passes * fmax (it, 1.0) * per_sample * samples (s);
}

static double
derivative (const sl_step *step, shape *s, double *scratch)
{
  double k = fmax (value (step, "ksize"), value (step, "aperture"));

  k = fmax (k, 3.0);
  /* Float gradient planes (two for Sobel and Canny, one for the Laplacian). */
  *scratch = 3.0 * samples (s) * sizeof (float);
  return (2.0 * k * k + 10.0) * samples (s);
}

static double
canny (const sl_step *step, shape *s, double *scratch)
{
  double work = derivative (step, s, scratch) + 20.0 * samples (s);

  s->ch = 1;
  s->bytes = 1;
  return work;
}

static double
color_range (const sl_step *step, shape *s, double *scratch)
{
  double px = s->w * s->h;

  /* RGB and HSV copies, three planes and two masks. */
  *scratch = 11.0 * px;
  if ((int) value (step, "output") == 1)
    s->ch = 1;
  return 50.0 * px;
}

/* The part operators' search: gray and mask planes, 32-bit labels, Otsu and the labelling. */
static double
find_part (shape *s, double *scratch)
{
  *scratch = 6.0 * s->w * s->h;
  return 30.0 * s->w * s->h;
}

static double
crop_to_part (const sl_step *step, shape *s, double *scratch)
{
  double work = find_part (s, scratch), m = 2.0 * value (step, "margin");

  /* The box is at most the image plus the margins (square: its longer side). */
  s->w += m;
  s->h += m;
  if (value (step, "square") != 0)
    s->w = s->h = fmax (s->w, s->h);
  return work + samples (s);
}

static double
rotate_to_axis (const sl_step *step, shape *s, double *scratch)
{
  double work = find_part (s, scratch);

  /* A mask of the part for its moments. */
  *scratch += s->w * s->h;
  if ((int) value (step, "size") == 1) /* fit: at most the diagonal both ways */
    s->w = s->h = ceil (hypot (s->w, s->h));
  return work + 20.0 * samples (s);
}

static double
polar_unwrap (const sl_step *step, shape *s, double *scratch)
{
  double work = (int) value (step, "center") == 0 ? find_part (s, scratch) : 0.0;
  double out_px = value (step, "width") * value (step, "height");

  /* Two float maps and the un-transposed result. */
  *scratch += out_px * (8.0 + s->ch * s->bytes);
  s->w = value (step, "width");
  s->h = value (step, "height");
  return work + 30.0 * samples (s);
}

static double
flatten_illumination (const sl_step *step, shape *s, double *scratch)
{
  /* Float copies (the image, its background spread over the channels, the result) and the
   * gray plane mirrored 4 sigma out; a heavy blur (sigma >= 16) runs shrunk k times. */
  double sigma = value (step, "sigma"), k = floor (sigma / 8.0);
  double pw = s->w + 8.0 * sigma, ph = s->h + 8.0 * sigma;
  double blur;

  if (k < 2)
    blur = 4.0 * (8.0 * sigma + 1.0) * s->w * s->h;
  else
    blur = 4.0 * (8.0 * sigma / k + 1.0) * pw * ph / (k * k) + 6.0 * pw * ph;
  *scratch = (3.0 * samples (s) + 3.0 * pw * ph) * sizeof (float);
  return blur + 10.0 * samples (s);
}

/* Operators that compute in floating point whatever the image's depth. */
static bool
computes_in_float (const char *id)
{
  return strcmp (id, "sobel") == 0 || strcmp (id, "laplacian") == 0 || strcmp (id, "canny") == 0
         || strcmp (id, "flatten-illumination") == 0;
}

/* Every registered operator needs a row here (test-vision-cost checks it):
 * a missing row is costed as a per-sample operator that keeps the shape. */
static const op_cost rules[] = {
  { "gray", to_gray },
  { "rgb", to_rgb },
  { "hsv-channel", hsv_channel },
  { "to-8bit", to_8bit },
  { "invert", per_sample },
  { "crop", crop },
  { "resize", resize },
  { "rotate", rotate },
  { "flip", per_sample },
  { "gaussian-blur", gaussian },
  { "median-blur", median },
  { "bilateral", bilateral },
  { "sharpen", sharpen },
  { "brightness-contrast", per_sample },
  { "gamma", per_sample },
  { "equalize-hist", equalize },
  { "clahe", clahe },
  { "normalize", per_sample },
  { "threshold", threshold },
  { "morphology", morphology },
  { "canny", canny },
  { "sobel", derivative },
  { "laplacian", derivative },
  { "color-range", color_range },
  { "crop-to-part", crop_to_part },
  { "rotate-to-axis", rotate_to_axis },
  { "polar-unwrap", polar_unwrap },
  { "flatten-illumination", flatten_illumination },
};

static cost_rule
find_rule (const char *id)
{
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    if (strcmp (rules[i].id, id) == 0)
      return rules[i].rule;
  return NULL;
}

bool
_sl_pipeline_cost_knows (const char *op_id)
{
  return op_id != NULL && find_rule (op_id) != NULL;
}

static void
note (sl_pipeline_cost *c, int step, double bytes, double flops)
{
  uint64_t b = bytes >= 1.8e19 ? UINT64_MAX : (uint64_t) bytes;

  c->flops += flops;
  if (b > c->peak_bytes)
    c->peak_bytes = b;
  if (c->memory_step == -2 || b > c->memory_step_bytes)
    {
      c->memory_step = step;
      c->memory_step_bytes = b;
    }
  if (c->flops_step == -2 || flops > c->flops_step_flops)
    {
      c->flops_step = step;
      c->flops_step_flops = flops;
    }
}

void
_sl_pipeline_measure (const sl_pipeline *p, int in_width, int in_height, int in_channels,
                      int in_depth, sl_pipeline_cost *out)
{
  shape s = { in_width, in_height, in_channels, in_depth > 8 ? 2 : 1 };
  const sl_input_spec *spec = &p->input;

  memset (out, 0, sizeof *out);
  out->memory_step = out->flops_step = -2;
  for (int i = 0; i < p->n_steps; i++)
    {
      const sl_step *step = &p->steps[i];
      cost_rule rule = find_rule (step->op->info.id);
      double scratch = 0.0, before = image_bytes (&s), work;

      if (!step->enabled)
        continue;
      /* OpenCV works on 8- and 16-bit samples 4 and 2 at a time where it
       * would work on one float: an operation on them counts that fraction
       * of a floating-point one, so the figure compares with the model's. */
      double lanes = computes_in_float (step->op->info.id) ? 1.0 : s.bytes / 4.0;

      work = rule != NULL ? rule (step, &s, &scratch) : per_sample (step, &s, &scratch);
      note (out, i, before + scratch + image_bytes (&s), lanes * work);
    }
  /* The input stage: 8 bits, the model's channels, then its size. */
  {
    shape in = s;
    double bytes = image_bytes (&in), work = samples (&in) * in.bytes / 4.0;

    s.bytes = 1;
    s.ch = spec->channels;
    bytes += image_bytes (&s);
    s.w = spec->width;
    s.h = spec->height;
    bytes += image_bytes (&s);
    work += 16.0 * samples (&s) / 4.0;
    note (out, -1, bytes, work);
  }
}
