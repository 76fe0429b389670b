/* test-projects-anomaly-threshold.c: thresholds from good scores (order statistic, Clopper-Pearson bound), AUROC and the ROC. */
#include <math.h>
#include <string.h>

#include "sl-anomaly.h"

/* 1, 2, ..., n in a scrambled order (the threshold must not depend on it). */
static double *
scrambled_ramp (gsize n)
{
  double *v = g_new (double, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    v[i] = (double) ((i * 7919) % n) + 1;
  return v;
}

static void
test_order_statistic (void)
{
  SlAnomalyThreshold t;
  g_autofree double *ramp100 = scrambled_ramp (100);
  g_autofree double *ramp200 = scrambled_ramp (200);
  g_autofree double *ramp19 = scrambled_ramp (19);

  /* n = 100, 1 %: the ceil (0.99 * 101) = 100th smallest, the largest; reachable (n + 1 >= 100). */
  sl_anomaly_threshold_from_good (ramp100, 100, 0.01, &t);
  g_assert_cmpfloat (t.threshold, ==, 100);
  g_assert_true (t.target_reachable);
  g_assert_cmpint (t.good_images, ==, 100);
  g_assert_cmpfloat (t.observed_false_reject, ==, 0);
  sl_anomaly_threshold_clear (&t);
  /* 0.99 * 100 must not round up past 99: n = 99 is just enough for 1 %. */
  sl_anomaly_threshold_from_good (ramp100, 99, 0.01, &t);
  g_assert_true (t.target_reachable);
  sl_anomaly_threshold_clear (&t);
  /* n = 200, 5 %: ceil (0.95 * 201) = 191st smallest: 191; 9 good images above it. */
  sl_anomaly_threshold_from_good (ramp200, 200, 0.05, &t);
  g_assert_cmpfloat (t.threshold, ==, 191);
  g_assert_true (t.target_reachable);
  g_assert_cmpfloat_with_epsilon (t.observed_false_reject, 9.0 / 200, 1e-12);
  sl_anomaly_threshold_clear (&t);
  /* n = 19, 10 %: ceil (0.9 * 20) = 18th: one above. */
  sl_anomaly_threshold_from_good (ramp19, 19, 0.10, &t);
  g_assert_cmpfloat (t.threshold, ==, 18);
  g_assert_true (t.target_reachable);
  g_assert_cmpfloat_with_epsilon (t.observed_false_reject, 1.0 / 19, 1e-12);
  g_assert_nonnull (strstr (t.statement, "score 18 of the 19"));
  sl_anomaly_threshold_clear (&t);
}

static void
test_too_few (void)
{
  SlAnomalyThreshold t;
  g_autofree double *ramp = scrambled_ramp (30);
  g_autofree double *ramp98 = scrambled_ramp (98);
  const double one = 0.25;

  /* The example, word for word in its numbers. */
  sl_anomaly_threshold_from_good (ramp, 30, 0.01, &t);
  g_assert_cmpfloat (t.threshold, ==, 30);
  g_assert_false (t.target_reachable);
  g_assert_cmpfloat (t.observed_false_reject, ==, 0);
  g_assert_cmpfloat_with_epsilon (t.false_reject_upper95, 0.09503385285530411, 1e-12);
  g_assert_cmpstr (t.statement, ==,
                   "With 30 good validation images the threshold is their largest score: a 1 % "
                   "false-reject rate needs at least 99; with 95 % confidence new good parts are "
                   "flagged at most 9.5 % of the time.");
  sl_anomaly_threshold_clear (&t);
  /* n = 98 is one short of 1 %: the largest score. */
  sl_anomaly_threshold_from_good (ramp98, 98, 0.01, &t);
  g_assert_false (t.target_reachable);
  g_assert_cmpfloat (t.threshold, ==, 98);
  sl_anomaly_threshold_clear (&t);
  /* One image: its score; the bound is 1 - 0.05 = 95 %. */
  sl_anomaly_threshold_from_good (&one, 1, 0.05, &t);
  g_assert_cmpfloat (t.threshold, ==, 0.25);
  g_assert_false (t.target_reachable);
  g_assert_cmpfloat_with_epsilon (t.false_reject_upper95, 0.95, 1e-12);
  g_assert_nonnull (strstr (t.statement,
                            "With 1 good validation image the threshold is its "
                            "largest score: a 5 % false-reject rate needs at least 19"));
  sl_anomaly_threshold_clear (&t);
  /* None: +infinity (nothing flagged), unknown rates, and what to do. */
  sl_anomaly_threshold_from_good (NULL, 0, 0.01, &t);
  g_assert_true (isinf (t.threshold) && t.threshold > 0);
  g_assert_false (t.target_reachable);
  g_assert_true (isnan (t.observed_false_reject));
  g_assert_true (isnan (t.false_reject_upper95));
  g_assert_nonnull (strstr (t.statement, "no good validation images"));
  sl_anomaly_threshold_clear (&t);
  g_assert_null (t.statement);
}

static void
test_ties (void)
{
  double same[50];
  SlAnomalyThreshold t;

  /* Equal scores: the threshold is that score and none is above it (flagged: score > t). */
  for (int i = 0; i < 50; i++)
    same[i] = 5;
  sl_anomaly_threshold_from_good (same, 50, 0.10, &t);
  g_assert_cmpfloat (t.threshold, ==, 5);
  g_assert_cmpfloat (t.observed_false_reject, ==, 0);
  sl_anomaly_threshold_clear (&t);
}

/* The bound against scipy.stats.beta.ppf (0.95, k + 1, n - k), reached through thresholds
 * that leave k of n good scores above them. */
static void
test_clopper_pearson (void)
{
  static const struct
  {
    gsize n;
    double target;
    double above, bound;
  } cases[] = {
    { 20, 0.15, 2, 0.28261852488586087 },      { 100, 0.02, 1, 0.046559811453538935 },
    { 1000, 0.011, 10, 0.016903175120562504 }, { 99, 0.01, 0, 0.029806673773350886 },
    { 500, 0.01, 4, 0.018212851796106527 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree double *ramp = scrambled_ramp (cases[i].n);
      SlAnomalyThreshold t;

      sl_anomaly_threshold_from_good (ramp, cases[i].n, cases[i].target, &t);
      g_test_message ("n %zu target %g: threshold %g, above %g, bound %.17g", cases[i].n,
                      cases[i].target, t.threshold, t.observed_false_reject * cases[i].n,
                      t.false_reject_upper95);
      g_assert_cmpfloat_with_epsilon (t.observed_false_reject * cases[i].n, cases[i].above, 1e-9);
      g_assert_cmpfloat_with_epsilon (t.false_reject_upper95, cases[i].bound, 1e-9);
      sl_anomaly_threshold_clear (&t);
    }
}

static void
test_auroc (void)
{
  const double good[] = { 1, 2, 3 }, defect[] = { 2, 4 };
  const double low[] = { 0, 0.5 }, high[] = { 10, 11, 12 };
  const double flat[] = { 7, 7, 7 };

  /* Pairs: (2 vs 1) win, (2 vs 2) half, (2 vs 3) loss, (4 vs all) 3 wins: 4.5 / 6. */
  g_assert_cmpfloat_with_epsilon (sl_anomaly_auroc (good, 3, defect, 2), 0.75, 1e-12);
  g_assert_cmpfloat (sl_anomaly_auroc (good, 3, high, 3), ==, 1);
  g_assert_cmpfloat (sl_anomaly_auroc (good, 3, low, 2), ==, 0);
  g_assert_cmpfloat (sl_anomaly_auroc (flat, 3, flat, 2), ==, 0.5);
  g_assert_true (isnan (sl_anomaly_auroc (good, 3, NULL, 0)));
  g_assert_true (isnan (sl_anomaly_auroc (NULL, 0, defect, 2)));
}

static void
test_roc (void)
{
  const double good[] = { 3, 1, 2 }, defect[] = { 4, 2 };
  const SlRocPoint want[] = {
    { 1, 2.0 / 3, 0 },
    { 2, 1.0 / 3, 0.5 },
    { 3, 0, 0.5 },
    { 4, 0, 1 },
  };
  g_autoptr (GArray) roc = sl_anomaly_roc (good, 3, defect, 2);
  g_autoptr (GArray) only_good = sl_anomaly_roc (good, 3, NULL, 0);

  g_assert_cmpuint (roc->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < roc->len; i++)
    {
      const SlRocPoint *p = &g_array_index (roc, SlRocPoint, i);

      g_assert_cmpfloat (p->threshold, ==, want[i].threshold);
      g_assert_cmpfloat_with_epsilon (p->false_reject, want[i].false_reject, 1e-12);
      g_assert_cmpfloat_with_epsilon (p->escape, want[i].escape, 1e-12);
    }
  g_assert_cmpuint (only_good->len, ==, 3);
  g_assert_true (isnan (g_array_index (only_good, SlRocPoint, 0).escape));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projects/anomaly/threshold/order-statistic", test_order_statistic);
  g_test_add_func ("/projects/anomaly/threshold/too-few", test_too_few);
  g_test_add_func ("/projects/anomaly/threshold/ties", test_ties);
  g_test_add_func ("/projects/anomaly/threshold/clopper-pearson", test_clopper_pearson);
  g_test_add_func ("/projects/anomaly/auroc", test_auroc);
  g_test_add_func ("/projects/anomaly/roc", test_roc);
  return g_test_run ();
}
