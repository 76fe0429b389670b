/* sl-anomaly-threshold.c: anomaly thresholds from good images (conformal, Clopper-Pearson), AUROC and the ROC. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-anomaly-private.h"

#include <math.h>
#include <string.h>

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

static double *
sorted_copy (const double *v, gsize n)
{
  double *out = g_new (double, MAX (n, 1));

  if (n > 0)
    memcpy (out, v, n * sizeof *v);
  qsort (out, n, sizeof *out, compare_doubles);
  return out;
}

/* ---- The regularized incomplete beta function I_x (a, b) ----------------------
 * Lentz's continued fraction (as in Numerical Recipes' betacf), used on the side
 * where it converges fast. */

static double
beta_continued_fraction (double a, double b, double x)
{
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1), h;

  d = 1 / (fabs (d) < tiny ? tiny : d);
  h = d;
  for (int m = 1; m <= 1000; m++)
    {
      double aa = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)), delta;

      d = 1 + aa * d;
      c = 1 + aa / c;
      d = 1 / (fabs (d) < tiny ? tiny : d);
      c = fabs (c) < tiny ? tiny : c;
      h *= d * c;
      aa = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
      d = 1 + aa * d;
      c = 1 + aa / c;
      d = 1 / (fabs (d) < tiny ? tiny : d);
      c = fabs (c) < tiny ? tiny : c;
      delta = d * c;
      h *= delta;
      if (fabs (delta - 1) < 1e-15)
        break;
    }
  return h;
}

static double
incomplete_beta (double a, double b, double x)
{
  double front;

  if (x <= 0)
    return 0;
  if (x >= 1)
    return 1;
  front = exp (lgamma (a + b) - lgamma (a) - lgamma (b) + a * log (x) + b * log1p (-x));
  if (x < (a + 1) / (a + b + 2))
    return front * beta_continued_fraction (a, b, x) / a;
  return 1 - front * beta_continued_fraction (b, a, 1 - x) / b;
}

/* The one-sided upper confidence bound (Clopper-Pearson) on a rate seen k times
 * in n trials: the p at which seeing at most k has probability 1 - confidence,
 * i.e. the `confidence` quantile of Beta (k + 1, n - k). */
static double
clopper_pearson_upper (gint64 k, gint64 n, double confidence)
{
  double lo = 0, hi = 1;

  if (n <= 0)
    return NAN;
  if (k >= n)
    return 1;
  if (k == 0) /* closed form: (1 - p)^n = 1 - confidence */
    return -expm1 (log1p (-confidence) / n);
  for (int i = 0; i < 200 && hi - lo > 1e-15; i++)
    {
      double mid = (lo + hi) / 2;

      if (incomplete_beta (k + 1, n - k, mid) < confidence)
        lo = mid;
      else
        hi = mid;
    }
  return (lo + hi) / 2;
}

double
_sl_anomaly_upper95 (gint64 hits, gint64 n)
{
  return clopper_pearson_upper (hits, n, 0.95);
}

/* "1", "0.5", "9.5", "0.05". */
char *
_sl_anomaly_percent (double rate)
{
  double p = rate * 100;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (fabs (p - round (p)) < 1e-9)
    return g_strdup_printf ("%.0f", p);
  if (p >= 1)
    return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.1f", p));
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.2g", p));
}

void
sl_anomaly_threshold_clear (SlAnomalyThreshold *threshold)
{
  if (threshold == NULL)
    return;
  g_free (threshold->statement);
  memset (threshold, 0, sizeof *threshold);
}

static char *
threshold_statement (const SlAnomalyThreshold *t, gint64 rank, gint64 above)
{
  g_autofree char *target = _sl_anomaly_percent (t->target_false_reject);
  g_autofree char *bound = _sl_anomaly_percent (t->false_reject_upper95);
  g_autofree char *observed = _sl_anomaly_percent (t->observed_false_reject);
  gint64 needed = (gint64) ceil (1 / t->target_false_reject - 1 - 1e-9);

  if (t->good_images == 0)
    return g_strdup ("There are no good validation images to set the threshold from: every "
                     "part would pass. Import more good images and split the project, so that "
                     "some are kept for validation.");
  if (!t->target_reachable)
    return g_strdup_printf (
        "With %lld good validation image%s the threshold is %s largest score: a %s %% "
        "false-reject rate needs at least %lld; with 95 %% confidence new good parts are flagged "
        "at most %s %% of the time.",
        (long long) t->good_images, t->good_images == 1 ? "" : "s",
        t->good_images == 1 ? "its" : "their", target, (long long) needed, bound);
  return g_strdup_printf (
      "The threshold is score %lld of the %lld good validation images (ascending), aiming at "
      "%s %% false rejects; %lld of them (%s %%) score above it. With 95 %% confidence new "
      "good parts are flagged at most %s %% of the time.",
      (long long) rank, (long long) t->good_images, target, (long long) above, observed, bound);
}

void
sl_anomaly_threshold_from_good (const double *good_scores, gsize n, double target_false_reject,
                                SlAnomalyThreshold *out)
{
  g_autofree double *sorted = NULL;
  gint64 rank = 0, above = 0;

  g_return_if_fail (out != NULL && (good_scores != NULL || n == 0));
  memset (out, 0, sizeof *out);
  out->target_false_reject = target_false_reject;
  out->good_images = (gint64) n;
  out->observed_false_reject = NAN;
  out->false_reject_upper95 = NAN;
  if (n == 0 || !(target_false_reject > 0 && target_false_reject < 1))
    {
      out->threshold = INFINITY;
      out->target_reachable = FALSE;
      if (n == 0)
        out->statement = threshold_statement (out, 0, 0);
      else
        out->statement = g_strdup_printf ("The target false-reject rate must be above 0 and "
                                          "below 1, not %g.",
                                          target_false_reject);
      return;
    }
  sorted = sorted_copy (good_scores, n);
  /* The ceil ((1 - target) (n + 1))-th smallest (1-based); the small margin keeps
   * 0.99 * 100 from rounding up to 100. */
  rank = (gint64) ceil ((1 - target_false_reject) * ((double) n + 1) - 1e-9);
  rank = MAX (rank, 1);
  out->target_reachable = rank <= (gint64) n;
  rank = MIN (rank, (gint64) n);
  out->threshold = sorted[rank - 1];
  for (gsize i = 0; i < n; i++)
    above += sorted[i] > out->threshold;
  out->observed_false_reject = (double) above / (double) n;
  out->false_reject_upper95 = clopper_pearson_upper (above, (gint64) n, 0.95);
  out->statement = threshold_statement (out, rank, above);
}

double
sl_anomaly_auroc (const double *good, gsize n_good, const double *defect, gsize n_defect)
{
  g_autofree double *g = NULL, *d = NULL;
  double wins = 0;
  gsize lo = 0, hi = 0;

  if (n_good == 0 || n_defect == 0)
    return NAN;
  g = sorted_copy (good, n_good);
  d = sorted_copy (defect, n_defect);
  /* For each defect score: good scores below it win, equal ones count half. */
  for (gsize j = 0; j < n_defect; j++)
    {
      while (lo < n_good && g[lo] < d[j])
        lo++;
      hi = MAX (hi, lo);
      while (hi < n_good && g[hi] <= d[j])
        hi++;
      wins += (double) lo + 0.5 * (double) (hi - lo);
    }
  return wins / ((double) n_good * (double) n_defect);
}

GArray *
sl_anomaly_roc (const double *good, gsize n_good, const double *defect, gsize n_defect)
{
  g_autofree double *g = sorted_copy (good, n_good), *d = sorted_copy (defect, n_defect);
  g_autofree double *all = g_new (double, n_good + n_defect + 1);
  GArray *roc = g_array_new (FALSE, FALSE, sizeof (SlRocPoint));
  gsize n = 0, gi = 0, di = 0;

  if (n_good > 0)
    memcpy (all, g, n_good * sizeof *all);
  if (n_defect > 0)
    memcpy (all + n_good, d, n_defect * sizeof *all);
  qsort (all, n_good + n_defect, sizeof *all, compare_doubles);
  for (gsize i = 0; i < n_good + n_defect; i++)
    if (i == 0 || all[i] != all[n - 1])
      all[n++] = all[i];
  for (gsize i = 0; i < n; i++)
    {
      SlRocPoint p = { all[i], NAN, NAN };

      /* Flagged: score > threshold. gi, di count the scores at or below it. */
      while (gi < n_good && g[gi] <= all[i])
        gi++;
      while (di < n_defect && d[di] <= all[i])
        di++;
      if (n_good > 0)
        p.false_reject = (double) (n_good - gi) / (double) n_good;
      if (n_defect > 0)
        p.escape = (double) di / (double) n_defect;
      g_array_append_val (roc, p);
    }
  return roc;
}
