/* sl-test-anomaly-data.c: writes a seeded synthetic surface (good images, defects, masks) as PNGs. */
#include "sl-test-anomaly-data.h"

#include "sl-vision.h"

#include <glib.h>
#include <errno.h>
#include <math.h>
#include <string.h>

/* splitmix64: a tiny generator whose stream is the same on every platform. */
typedef struct
{
  uint64_t s;
} Rng;

static uint64_t
rng_next (Rng *r)
{
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double
rng_uniform (Rng *r, double lo, double hi)
{
  return lo + (hi - lo) * ((double) (rng_next (r) >> 11) * (1.0 / 9007199254740992.0));
}

static double
rng_normal (Rng *r)
{
  double u1 = rng_uniform (r, 1e-12, 1.0), u2 = rng_uniform (r, 0.0, 1.0);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

/* What every image of one data set shares: the material. */
typedef struct
{
  double period;  /* weave cell size in pixels */
  double base;    /* mean gray level */
  double weave;   /* weave amplitude */
  double streaks; /* brushed streak amplitude */
  double noise;   /* sensor noise, gray levels */
  double tint[3]; /* colour of the material */
  int n_streaks;  /* length of the streak table */
  double *streak; /* smoothed 1-D noise along y, shared by all images */
} Material;

static void
material_init (Material *m, int size, Rng *rng)
{
  m->period = MAX (4.0, size / 14.0) * rng_uniform (rng, 0.85, 1.15);
  m->base = rng_uniform (rng, 110, 140);
  m->weave = rng_uniform (rng, 28, 40);
  m->streaks = rng_uniform (rng, 8, 14);
  m->noise = rng_uniform (rng, 4, 7);
  m->tint[0] = 1.0;
  m->tint[1] = rng_uniform (rng, 0.85, 0.98);
  m->tint[2] = rng_uniform (rng, 0.70, 0.90);
  m->n_streaks = 4 * size;
  m->streak = g_new0 (double, m->n_streaks);

  /* White noise smoothed twice with a 5-tap box: fine brushed lines. */
  g_autofree double *raw = g_new (double, m->n_streaks);
  for (int i = 0; i < m->n_streaks; i++)
    raw[i] = rng_normal (rng);
  for (int pass = 0; pass < 2; pass++)
    {
      for (int i = 0; i < m->n_streaks; i++)
        {
          double s = 0;
          for (int t = -2; t <= 2; t++)
            s += raw[(i + t + m->n_streaks) % m->n_streaks];
          m->streak[i] = s / sqrt (5.0);
        }
      memcpy (raw, m->streak, sizeof (double) * (gsize) m->n_streaks);
    }
}

/* One basket-weave cell: threads run across in even cells, down in odd ones. */
static double
weave_at (const Material *m, double x, double y)
{
  double u = x / m->period, v = y / m->period;
  long cell = (long) floor (u) + (long) floor (v);
  double across = (cell & 1) == 0 ? v : u;
  double f = across * 2.0 - floor (across * 2.0); /* two threads per cell */

  return sin (G_PI * f) - 0.64; /* mean about 0 */
}

/* Renders a defect-free piece of the material at offset (ox, oy) into rgb (floats, 0..255 scale). */
static void
render_material (const Material *m, int size, Rng *rng, double *rgb)
{
  double ox = rng_uniform (rng, 0, 1000), oy = rng_uniform (rng, 0, 1000);
  int streak0 = (int) rng_uniform (rng, 0, m->n_streaks);
  double gain = rng_uniform (rng, 0.94, 1.06);
  double gx = rng_uniform (rng, -8, 8), gy = rng_uniform (rng, -8, 8); /* uneven light */

  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        double level = m->base * gain + m->weave * weave_at (m, x + ox, y + oy)
                       + m->streaks * m->streak[(streak0 + y) % m->n_streaks]
                       + gx * (x / (double) size - 0.5) + gy * (y / (double) size - 0.5);
        for (int c = 0; c < 3; c++)
          rgb[(y * size + x) * 3 + c] = level * m->tint[c] + m->noise * rng_normal (rng);
      }
}

/* Blends colour col into pixel (x, y) with weight a and marks the mask where a is large. */
static void
paint (double *rgb, uint8_t *mask, int size, int x, int y, const double col[3], double a)
{
  if (x < 0 || y < 0 || x >= size || y >= size || a <= 0)
    return;
  a = MIN (a, 1.0);
  for (int c = 0; c < 3; c++)
    rgb[(y * size + x) * 3 + c] = (1 - a) * rgb[(y * size + x) * 3 + c] + a * col[c];
  if (a >= 0.5)
    mask[y * size + x] = 255;
}

/* Shifts pixel (x, y) by delta levels with weight a (scratches and cracks keep the texture under them). */
static void
shade (double *rgb, uint8_t *mask, int size, int x, int y, double delta, double a)
{
  if (x < 0 || y < 0 || x >= size || y >= size || a <= 0)
    return;
  a = MIN (a, 1.0);
  for (int c = 0; c < 3; c++)
    rgb[(y * size + x) * 3 + c] += a * delta;
  if (a >= 0.5)
    mask[y * size + x] = 255;
}

static double
segment_distance (double px, double py, double ax, double ay, double bx, double by)
{
  double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;

  t = CLAMP (t, 0.0, 1.0);
  return hypot (px - (ax + t * dx), py - (ay + t * dy));
}

/* A straight scratch, bright or dark, 1-3 px wide (at 224 px), anti-aliased. */
static void
draw_scratch (double *rgb, uint8_t *mask, int size, Rng *rng, double contrast)
{
  double s = size / 224.0;
  double len = rng_uniform (rng, 0.25, 0.6) * size, ang = rng_uniform (rng, 0, G_PI);
  double cx = rng_uniform (rng, 0.3, 0.7) * size, cy = rng_uniform (rng, 0.3, 0.7) * size;
  double ax = cx - 0.5 * len * cos (ang), ay = cy - 0.5 * len * sin (ang);
  double bx = cx + 0.5 * len * cos (ang), by = cy + 0.5 * len * sin (ang);
  double half = MAX (0.6, rng_uniform (rng, 0.5, 1.5) * s);
  double delta = (rng_uniform (rng, 0, 1) < 0.7 ? 1 : -1) * 90 * contrast;

  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      shade (rgb, mask, size, x, y, delta, half + 0.5 - segment_distance (x, y, ax, ay, bx, by));
}

/* A round stain with a soft rim. */
static void
draw_spot (double *rgb, uint8_t *mask, int size, Rng *rng, double contrast)
{
  double r = rng_uniform (rng, 0.03, 0.08) * size;
  double cx = rng_uniform (rng, 0.2, 0.8) * size, cy = rng_uniform (rng, 0.2, 0.8) * size;
  double delta = -rng_uniform (rng, 60, 90) * contrast;

  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      shade (rgb, mask, size, x, y, delta, (r + 0.5 - hypot (x - cx, y - cy)) / MAX (1.0, r * 0.3));
}

/* A dark crack: a random walk whose direction drifts, 1-2 px wide (at 224 px). */
static void
draw_crack (double *rgb, uint8_t *mask, int size, Rng *rng, double contrast)
{
  double s = size / 224.0;
  double x = rng_uniform (rng, 0.3, 0.7) * size, y = rng_uniform (rng, 0.3, 0.7) * size;
  double dir = rng_uniform (rng, 0, 2 * G_PI), half = MAX (0.6, rng_uniform (rng, 0.5, 1.1) * s);
  int steps = (int) (rng_uniform (rng, 0.3, 0.5) * size);
  double delta = -100 * contrast;

  for (int i = 0; i < steps; i++)
    {
      double nx = x + cos (dir), ny = y + sin (dir);
      for (int py = (int) floor (MIN (y, ny) - half - 1); py <= (int) ceil (MAX (y, ny) + half + 1);
           py++)
        for (int px = (int) floor (MIN (x, nx) - half - 1);
             px <= (int) ceil (MAX (x, nx) + half + 1); px++)
          {
            double a = half + 0.5 - segment_distance (px, py, x, y, nx, ny);
            /* A pixel darkens once, however many steps pass by it. */
            if (px >= 0 && py >= 0 && px < size && py < size && mask[py * size + px] == 0)
              shade (rgb, mask, size, px, py, delta, a);
          }
      x = CLAMP (nx, 1.0, size - 2.0);
      y = CLAMP (ny, 1.0, size - 2.0);
      dir += rng_uniform (rng, -0.2, 0.2);
    }
}

/* Missing material: an irregular hole showing a flat dark backing with its own noise. */
static void
draw_missing (double *rgb, uint8_t *mask, int size, Rng *rng, double contrast)
{
  double r = rng_uniform (rng, 0.05, 0.11) * size;
  double cx = rng_uniform (rng, 0.25, 0.75) * size, cy = rng_uniform (rng, 0.25, 0.75) * size;
  double wobble[3]
      = { rng_uniform (rng, 0.1, 0.25), rng_uniform (rng, 0, 2 * G_PI), rng_uniform (rng, 2, 5) };
  double level = 128 - 95 * contrast;

  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        double ang = atan2 (y - cy, x - cx);
        double edge = r * (1 + wobble[0] * sin (floor (wobble[2]) * ang + wobble[1]));
        double col[3] = { level + 3 * rng_normal (rng), level + 3 * rng_normal (rng),
                          level + 3 * rng_normal (rng) };
        paint (rgb, mask, size, x, y, col, edge + 0.5 - hypot (x - cx, y - cy));
      }
}

/* Contamination: a cluster of blobs of a foreign colour (rust, oil, paint). */
static void
draw_contamination (double *rgb, uint8_t *mask, int size, Rng *rng, double contrast)
{
  static const double colours[3][3] = { { 150, 70, 30 }, { 40, 60, 110 }, { 60, 110, 50 } };
  const double *base = colours[rng_next (rng) % 3];
  double cx = rng_uniform (rng, 0.25, 0.75) * size, cy = rng_uniform (rng, 0.25, 0.75) * size;
  int n = 3 + (int) (rng_next (rng) % 3);
  double bx[5], by[5], br[5];

  for (int i = 0; i < n; i++)
    {
      br[i] = rng_uniform (rng, 0.02, 0.05) * size;
      bx[i] = cx + rng_uniform (rng, -1.5, 1.5) * br[i];
      by[i] = cy + rng_uniform (rng, -1.5, 1.5) * br[i];
    }
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        double a = 0;
        for (int i = 0; i < n; i++)
          a = MAX (a, br[i] + 0.5 - hypot (x - bx[i], y - by[i]));
        if (a <= 0)
          continue;
        double col[3];
        for (int c = 0; c < 3; c++)
          col[c] = base[c] + 8 * rng_normal (rng);
        /* Low contrast: a thin film that lets the texture through. */
        paint (rgb, mask, size, x, y, col, MIN (a, 1.0) * (0.45 + 0.55 * contrast));
      }
}

typedef void (*DefectFn) (double *, uint8_t *, int, Rng *, double);
static const struct
{
  const char *name;
  DefectFn draw;
} defects[] = {
  { "scratch", draw_scratch },
  { "spot", draw_spot },
  { "crack", draw_crack },
  { "missing", draw_missing },
  { "contamination", draw_contamination },
};

static int
save_rgb (const double *rgb, int size, const char *path)
{
  sl_image im = { 0 };
  sl_error err = { 0 };
  int rc = 0;

  if (sl_image_alloc (&im, size, size, 3, 8, &err) != SL_OK)
    {
      g_printerr ("sl_test_write_anomaly_images: %s\n", err.message);
      return -1;
    }
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size * 3; x++)
      im.data[y * im.stride + x] = (uint8_t) CLAMP (lround (rgb[y * size * 3 + x]), 0, 255);
  if (sl_image_save (&im, path, &err) != SL_OK)
    {
      g_printerr ("sl_test_write_anomaly_images: %s: %s\n", path, err.message);
      rc = -1;
    }
  sl_image_clear (&im);
  return rc;
}

static int
save_mask (const uint8_t *mask, int size, const char *path)
{
  sl_image im = { 0 };
  sl_error err = { 0 };

  if (sl_image_borrow (&im, (void *) mask, size, size, 1, 8, (size_t) size, &err) != SL_OK
      || sl_image_save (&im, path, &err) != SL_OK)
    {
      g_printerr ("sl_test_write_anomaly_images: %s: %s\n", path, err.message);
      return -1;
    }
  return 0;
}

static int
make_dirs (const char *dir)
{
  const char *sub[] = { "good", "defect", "masks" };

  for (gsize i = 0; i < G_N_ELEMENTS (sub); i++)
    {
      g_autofree char *path = g_build_filename (dir, sub[i], NULL);
      if (g_mkdir_with_parents (path, 0755) != 0)
        {
          g_printerr ("sl_test_write_anomaly_images: cannot create %s: %s\n", path,
                      g_strerror (errno));
          return -1;
        }
    }
  return 0;
}

int
sl_test_write_anomaly_images (const char *dir, int n_good, int n_defect, int size, uint64_t seed)
{
  Material m = { 0 };
  Rng rng = { seed };
  int rc = 0;

  if (dir == NULL || n_good < 0 || n_defect < 0)
    {
      g_printerr ("sl_test_write_anomaly_images: needs a folder and counts of 0 or more\n");
      return -1;
    }
  if (size < 32 || size > 1024)
    {
      g_printerr ("sl_test_write_anomaly_images: size %d is not in 32..1024\n", size);
      return -1;
    }
  if (make_dirs (dir) != 0)
    return -1;
  material_init (&m, size, &rng);

  g_autofree double *rgb = g_new (double, (gsize) size *size * 3);
  g_autofree uint8_t *mask = g_new (uint8_t, (gsize) size * size);
  for (int i = 0; i < n_good && rc == 0; i++)
    {
      Rng r = { rng_next (&rng) };
      g_autofree char *name = g_strdup_printf ("good-%03d.png", i);
      g_autofree char *path = g_build_filename (dir, "good", name, NULL);
      render_material (&m, size, &r, rgb);
      rc = save_rgb (rgb, size, path);
    }
  for (int i = 0; i < n_defect && rc == 0; i++)
    {
      Rng r = { rng_next (&rng) };
      int kind = i % (int) G_N_ELEMENTS (defects);
      /* Every third round of the five kinds is faint. */
      double contrast = (i / (int) G_N_ELEMENTS (defects)) % 3 == 2 ? rng_uniform (&r, 0.45, 0.6)
                                                                    : rng_uniform (&r, 0.7, 1.0);
      g_autofree char *name = g_strdup_printf ("defect-%03d-%s.png", i, defects[kind].name);
      g_autofree char *path = g_build_filename (dir, "defect", name, NULL);
      g_autofree char *mpath = g_build_filename (dir, "masks", name, NULL);
      render_material (&m, size, &r, rgb);
      memset (mask, 0, (gsize) size * size);
      defects[kind].draw (rgb, mask, size, &r, contrast);
      rc = save_rgb (rgb, size, path);
      if (rc == 0)
        rc = save_mask (mask, size, mpath);
    }
  g_free (m.streak);
  return rc;
}
