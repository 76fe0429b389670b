/* test-ui-evaluate.c: the Evaluate page under Xvfb: evaluating, the matrix and its cells, fixing labels with undo, the reject threshold, empty states. */
#include <math.h>
#include <string.h>

#include "sl-confusion-matrix.h"
#include "sl-evaluate-page.h"
#include "sl-prediction-card.h"
#include "sl-prediction-object.h"
#include "sl-run-chooser.h"
#include "sl-session.h"
#include "ui-test-util.h"

typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  SlEvaluatePage *page;
  GtkWindow *window;
  gint64 run_id;
} Fixture;

/* A project of n Fashion-MNIST images of 3 classes, trained for `epochs`
 * (none when 0); prepare (may be NULL) edits it before the page opens. */
static gboolean
open_page (Fixture *f, int n, int epochs, void (*prepare) (Fixture *f))
{
  f->project = ui_test_fmnist_project (n, 3, &f->tmp);
  if (f->project == NULL)
    return FALSE;
  f->run_id = epochs > 0 ? ui_test_train_run (f->project, epochs) : -1;
  if (prepare != NULL)
    prepare (f);
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_EVALUATE_PAGE (sl_evaluate_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
  return TRUE;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ui_test_close_all_windows ();
  g_clear_object (&f->session);
  g_clear_pointer (&f->project, sl_project_unref);
  if (f->tmp != NULL)
    sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

static gboolean
page_idle (gpointer data)
{
  return !sl_evaluate_page_is_busy (data);
}

static void
wait_idle (SlEvaluatePage *page)
{
  g_assert_true (ui_test_wait_until (page_idle, page, 60000));
  ui_test_spin (50);
}

/* The cards the grid shows now, and whether their thumbnails are in. */
static gboolean
cards_loaded (gpointer data)
{
  GtkWidget *grid = sl_evaluate_page_get_gallery_grid (data);
  guint cards = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (grid); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);

      if (!SL_IS_PREDICTION_CARD (card)
          || sl_prediction_card_get_item (SL_PREDICTION_CARD (card)) == NULL)
        continue;
      cards++;
      if (!sl_prediction_card_get_loaded (SL_PREDICTION_CARD (card)))
        return FALSE;
    }
  return cards > 0;
}

static SlPredictionCard *
find_card (SlEvaluatePage *page, gint64 image_id)
{
  GtkWidget *grid = sl_evaluate_page_get_gallery_grid (page);

  for (GtkWidget *child = gtk_widget_get_first_child (grid); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_widget_get_first_child (child);
      SlPredictionObject *item;

      if (!SL_IS_PREDICTION_CARD (card))
        continue;
      item = sl_prediction_card_get_item (SL_PREDICTION_CARD (card));
      if (item != NULL && sl_prediction_object_get_image_id (item) == image_id)
        return SL_PREDICTION_CARD (card);
    }
  return NULL;
}

/* Whether a card's True row shows class_id's name (the first label after the caption "True"). */
static gboolean
card_true_is (Fixture *f, SlPredictionCard *card, gint64 class_id)
{
  GtkWidget *caption = ui_test_find_label (GTK_WIDGET (card), "True");
  g_autoptr (GPtrArray) classes = sl_project_list_classes (f->project, NULL);
  const char *name = NULL;
  GtkWidget *shown;

  for (guint i = 0; classes != NULL && i < classes->len; i++)
    if (((SlClass *) classes->pdata[i])->id == class_id)
      name = ((SlClass *) classes->pdata[i])->name;
  g_assert_nonnull (name);
  g_assert_nonnull (caption);
  for (shown = gtk_widget_get_next_sibling (caption); shown != NULL && !GTK_IS_LABEL (shown);
       shown = gtk_widget_get_next_sibling (shown))
    ;
  g_assert_nonnull (shown);
  return g_strcmp0 (gtk_label_get_text (GTK_LABEL (shown)), name) == 0;
}

typedef struct
{
  Fixture *f;
  gint64 image_id;
  const char *state;    /* the start of the card's state text, or NULL */
  gint64 true_class_id; /* the class its True row names, or -1 */
} CardWait;

/* Whether the grid holds the image's card, showing that (the grid rebuilds cards on a frame). */
static gboolean
card_shows (gpointer data)
{
  CardWait *w = data;
  SlPredictionCard *card = find_card (w->f->page, w->image_id);
  const char *state = card != NULL ? sl_prediction_card_get_state_text (card) : NULL;

  return card != NULL && (w->state == NULL || (state != NULL && g_str_has_prefix (state, w->state)))
         && (w->true_class_id < 0
             || (ui_test_find_label (GTK_WIDGET (card), "True") != NULL
                 && card_true_is (w->f, card, w->true_class_id)));
}

static void
save_screenshot (Fixture *f, const char *name)
{
  g_autofree char *path = NULL;

  if (g_str_equal (sl_evaluate_page_get_view_state (f->page), "results"))
    ui_test_wait_until (cards_loaded, f->page, 3000);
  ui_test_spin (150);
  path = ui_test_save_screenshot (GTK_WIDGET (f->window), name);
  g_test_message ("screenshot: %s", path);
}

static gint64
label_of (Fixture *f, gint64 image_id, gboolean *ignored)
{
  g_autoptr (GError) error = NULL;
  SlImageInfo *info = sl_project_get_image (f->project, image_id, &error);
  gint64 class_id;

  g_assert_no_error (error);
  class_id = info->class_id;
  if (ignored != NULL)
    *ignored = info->ignored;
  sl_image_info_free (info);
  return class_id;
}

/* The shown numbers are the stored ones. */
static void
check_shown_evaluation (Fixture *f, const SlEvaluation *e)
{
  SlConfusionMatrix *matrix = sl_evaluate_page_get_confusion_matrix (f->page);
  g_autofree char *accuracy = g_strdup_printf ("%.1f %%", 100 * e->accuracy);
  g_autofree char *images
      = g_strdup_printf ("Evaluated on %" G_GINT64_FORMAT " test images", e->images);

  g_assert_cmpstr (sl_evaluate_page_get_view_state (f->page), ==, "results");
  g_assert_cmpfloat_with_epsilon (sl_evaluate_page_get_shown_accuracy (f->page), e->accuracy,
                                  0.0005 + 1e-9);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), accuracy));
  g_assert_cmpuint (sl_confusion_matrix_get_n_classes (matrix), ==, e->classes);
  for (int t = 0; t < e->classes; t++)
    for (int p = 0; p < e->classes; p++)
      g_assert_cmpint (sl_confusion_matrix_get_count (matrix, t, p), ==,
                       e->confusion[t * e->classes + p]);
  g_assert_true (g_str_has_prefix (sl_evaluate_page_get_status_text (f->page), images));
  g_assert_false (sl_evaluate_page_get_out_of_date (f->page));
}

/* The gallery shows exactly the stored predictions that match, most confident first. */
static void
check_gallery (Fixture *f, GPtrArray *all, int t, int p)
{
  GListModel *model = sl_evaluate_page_get_gallery_model (f->page);
  g_autoptr (GHashTable) expected = g_hash_table_new (g_int64_hash, g_int64_equal);
  guint n = g_list_model_get_n_items (model);
  double previous = INFINITY;

  for (guint i = 0; i < all->len; i++)
    {
      SlImagePrediction *x = g_ptr_array_index (all, i);
      gboolean wanted = t < 0 ? x->true_class != x->predicted_class
                              : x->true_class == t && x->predicted_class == p;
      if (wanted)
        g_hash_table_add (expected, &x->image_id);
    }
  g_assert_cmpuint (n, ==, g_hash_table_size (expected));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SlPredictionObject) item = g_list_model_get_item (model, i);
      gint64 id = sl_prediction_object_get_image_id (item);

      g_assert_true (g_hash_table_contains (expected, &id));
      g_assert_cmpfloat (sl_prediction_object_get_confidence (item), <=, previous);
      previous = sl_prediction_object_get_confidence (item);
    }
}

/* Some point of the widget lies in the cell. */
static gboolean
cell_is_drawn (SlConfusionMatrix *matrix, int t, int p)
{
  int w = gtk_widget_get_width (GTK_WIDGET (matrix)),
      h = gtk_widget_get_height (GTK_WIDGET (matrix));

  for (int y = 0; y < h; y += 3)
    for (int x = 0; x < w; x += 3)
      {
        int ct, cp;
        if (sl_confusion_matrix_cell_at (matrix, x, y, &ct, &cp) && ct == t && cp == p)
          return TRUE;
      }
  return FALSE;
}

static void
check_threshold (Fixture *f, GPtrArray *all, double threshold)
{
  SlThresholdStats s;
  gint64 accepted = 0, right = 0, mistakes = 0, caught = 0;
  double stored;
  g_autofree char *hint = g_strdup_printf ("At %.0f %%", 100 * threshold);

  sl_evaluate_page_set_threshold (f->page, TRUE, threshold);
  g_assert_true (sl_evaluate_page_get_threshold_stats (f->page, &s));
  for (guint i = 0; i < all->len; i++)
    {
      SlImagePrediction *x = g_ptr_array_index (all, i);
      gboolean ok = x->true_class == x->predicted_class;

      mistakes += !ok;
      if ((float) x->confidence >= (float) threshold)
        {
          accepted++;
          right += ok;
        }
      else
        caught += !ok;
    }
  g_assert_cmpint (s.images, ==, all->len);
  g_assert_cmpint (s.accepted, ==, accepted);
  g_assert_cmpint (s.mistakes, ==, mistakes);
  g_assert_cmpint (s.mistakes_rejected, ==, caught);
  g_assert_cmpfloat_with_epsilon (s.reject_rate, 1.0 - (double) accepted / all->len, 1e-12);
  if (accepted > 0)
    g_assert_cmpfloat_with_epsilon (s.accuracy_accepted, (double) right / accepted, 1e-12);
  if (mistakes > 0)
    g_assert_cmpfloat_with_epsilon (s.mistakes_caught, (double) caught / mistakes, 1e-12);
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), hint));
  g_assert_true (sl_project_get_reject_threshold (f->project, &stored));
  g_assert_cmpfloat_with_epsilon (stored, threshold, 1e-9);
}

static void
test_evaluate (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlEvaluation) e = NULL;
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (SlPredictionObject) first = NULL;
  SlConfusionMatrix *matrix;
  SlPredictionCard *card;
  gint64 eval_id, id, before, predicted_id, best = -1;
  gboolean ignored;
  int t = 0, p = 0;

  if (!open_page (f, 400, 2, NULL))
    return;
  wait_idle (f->page);
  g_assert_cmpstr (sl_evaluate_page_get_view_state (f->page), ==, "not-evaluated");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "Not Evaluated Yet"));
  g_assert_true (g_str_has_suffix (sl_evaluate_page_get_status_text (f->page), "yet"));
  save_screenshot (f, "evaluate-not-evaluated");

  /* Cancelled at once: nothing is stored and the page says so. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "evaluate.run", NULL));
  g_assert_true (sl_evaluate_page_is_evaluating (f->page));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "evaluate.cancel", NULL));
  wait_idle (f->page);
  g_assert_cmpint (sl_project_find_evaluation (f->project, f->run_id, SL_SPLIT_TEST, &error), ==,
                   -1);
  g_assert_cmpstr (sl_evaluate_page_get_view_state (f->page), ==, "not-evaluated");

  /* Evaluate: what is shown is what was stored. */
  gtk_widget_activate_action (GTK_WIDGET (f->page), "evaluate.run", NULL);
  g_assert_true (sl_evaluate_page_is_busy (f->page));
  wait_idle (f->page);
  eval_id = sl_project_find_evaluation (f->project, f->run_id, SL_SPLIT_TEST, &error);
  g_assert_no_error (error);
  g_assert_cmpint (eval_id, >=, 0);
  g_assert_cmpint (sl_evaluate_page_get_evaluation_id (f->page), ==, eval_id);
  e = sl_project_get_evaluation (f->project, eval_id, -1, &error);
  g_assert_no_error (error);
  all = sl_project_list_predictions (f->project, eval_id, &error);
  g_assert_no_error (error);
  check_shown_evaluation (f, e);
  check_gallery (f, all, -1, -1);
  g_assert_cmpuint (g_list_model_get_n_items (sl_evaluate_page_get_gallery_model (f->page)), ==,
                    e->confident_mistakes->len);
  save_screenshot (f, "evaluate");

  /* A click on the biggest mistake cell shows exactly its images. */
  matrix = sl_evaluate_page_get_confusion_matrix (f->page);
  for (int i = 0; i < e->classes; i++)
    for (int j = 0; j < e->classes; j++)
      if (i != j && e->confusion[i * e->classes + j] > best)
        best = e->confusion[i * e->classes + j], t = i, p = j;
  if (best <= 0)
    t = p = 0; /* a perfect model: the first class's right answers */
  g_assert_true (cell_is_drawn (matrix, t, p));
  sl_confusion_matrix_activate_cell (matrix, t, p);
  check_gallery (f, all, t, p);
  {
    int st, sp;
    g_assert_true (sl_confusion_matrix_get_selected (matrix, &st, &sp));
    g_assert_cmpint (st, ==, t);
    g_assert_cmpint (sp, ==, p);
  }
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "True: "));
  save_screenshot (f, "evaluate-cell");

  /* "Label as <predicted>" relabels in the project; undo puts it back. */
  first = g_list_model_get_item (sl_evaluate_page_get_gallery_model (f->page), 0);
  g_assert_nonnull (first);
  id = sl_prediction_object_get_image_id (first);
  before = label_of (f, id, NULL);
  predicted_id = sl_prediction_object_get_predicted_class_id (first);
  g_assert_cmpint (before, ==, sl_prediction_object_get_evaluated_class_id (first));
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (f->page), "evaluate.label-predicted", "x", id));
  g_assert_cmpint (label_of (f, id, NULL), ==, predicted_id);
  if (predicted_id != before)
    {
      g_assert_true (sl_evaluate_page_get_out_of_date (f->page));
      g_assert_nonnull (strstr (sl_evaluate_page_get_status_text (f->page), "Labels changed"));
      ui_test_wait_until (card_shows, &(CardWait){ f, id, "Now labelled", predicted_id }, 20000);
      card = find_card (f->page, id);
      g_assert_nonnull (card);
      g_assert_true (g_str_has_prefix (sl_prediction_card_get_state_text (card), "Now labelled"));
      /* The card's True row says the new label, and the one it was evaluated with. */
      g_assert_true (card_true_is (f, card, predicted_id));
      save_screenshot (f, "evaluate-fixed");
    }
  g_assert_true (sl_session_undo (f->session, &error));
  g_assert_no_error (error);
  g_assert_cmpint (label_of (f, id, NULL), ==, before);
  if (predicted_id != before)
    {
      ui_test_wait_until (card_shows, &(CardWait){ f, id, NULL, before }, 20000);
      card = find_card (f->page, id);
      g_assert_nonnull (card);
      g_assert_true (card_true_is (f, card, before));
    }
  g_assert_false (sl_evaluate_page_get_out_of_date (f->page));
  g_assert_false (sl_prediction_object_get_changed (first));

  /* Ignore, and undo. */
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (f->page), "evaluate.set-ignored", "(xb)", id, TRUE));
  label_of (f, id, &ignored);
  g_assert_true (ignored);
  g_assert_true (sl_prediction_object_get_ignored (first));
  g_assert_true (sl_evaluate_page_get_out_of_date (f->page));
  ui_test_wait_until (card_shows, &(CardWait){ f, id, "Ignored", -1 }, 20000);
  card = find_card (f->page, id);
  g_assert_nonnull (card);
  g_assert_cmpstr (sl_prediction_card_get_state_text (card), ==, "Ignored");
  g_assert_true (sl_session_undo (f->session, &error));
  label_of (f, id, &ignored);
  g_assert_false (ignored);
  g_assert_false (sl_evaluate_page_get_out_of_date (f->page));

  /* Back to every mistake. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "evaluate.clear-filter", NULL));
  check_gallery (f, all, -1, -1);
  g_assert_false (sl_confusion_matrix_get_selected (matrix, NULL, NULL));

  /* The threshold's numbers against a count by hand, and stored for export. */
  check_threshold (f, all, 1.0);
  check_threshold (f, all, 0.6);
  check_threshold (f, all, 0.9);
  save_screenshot (f, "evaluate-threshold");
  /* The cards below the threshold say the line would reject them. */
  for (GtkWidget *child = gtk_widget_get_first_child (sl_evaluate_page_get_gallery_grid (f->page));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *widget = gtk_widget_get_first_child (child);
      SlPredictionObject *item;

      if (!SL_IS_PREDICTION_CARD (widget)
          || (item = sl_prediction_card_get_item (SL_PREDICTION_CARD (widget))) == NULL)
        continue;
      g_assert_cmpint (sl_prediction_card_get_rejected (SL_PREDICTION_CARD (widget)), ==,
                       (float) sl_prediction_object_get_confidence (item) < 0.9f);
    }

  /* A new page shows the stored evaluation without evaluating, and the threshold. */
  gtk_window_destroy (f->window);
  f->page = SL_EVALUATE_PAGE (sl_evaluate_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
  wait_idle (f->page);
  check_shown_evaluation (f, e);
  {
    SlThresholdStats s, expected;
    g_assert_true (sl_evaluate_page_get_threshold_stats (f->page, &s));
    sl_threshold_stats ((SlImagePrediction *const *) all->pdata, all->len, 0.9, &expected);
    g_assert_cmpint (s.accepted, ==, expected.accepted);
  }
  /* The validation split has no evaluation yet. */
  sl_evaluate_page_set_split (f->page, SL_SPLIT_VAL);
  wait_idle (f->page);
  g_assert_cmpstr (sl_evaluate_page_get_view_state (f->page), ==, "not-evaluated");
}

static void
test_no_runs (Fixture *f, gconstpointer data)
{
  if (!open_page (f, 60, 0, NULL))
    return;
  wait_idle (f->page);
  g_assert_cmpstr (sl_evaluate_page_get_view_state (f->page), ==, "no-runs");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "Train a Model First"));
  g_assert_nonnull (ui_test_find_widget (GTK_WIDGET (f->page), GTK_TYPE_BUTTON, "Train"));
  g_assert_cmpint (sl_evaluate_page_get_evaluation_id (f->page), ==, -1);
  g_assert_true (isnan (sl_evaluate_page_get_shown_accuracy (f->page)));
  save_screenshot (f, "evaluate-empty");
}

/* Every test image moved to training. */
static void
empty_test_split (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  SlImageFilter filter;

  sl_image_filter_init (&filter);
  filter.split = SL_SPLIT_TEST;
  filter.include_ignored = TRUE;
  images = sl_project_list_images (f->project, &filter, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    g_array_append_val (ids, ((SlImageInfo *) g_ptr_array_index (images, i))->id);
  g_assert_cmpuint (ids->len, >, 0);
  g_assert_true (
      sl_project_set_split (f->project, (gint64 *) ids->data, ids->len, SL_SPLIT_TRAIN, &error));
}

static void
test_no_images (Fixture *f, gconstpointer data)
{
  if (!open_page (f, 120, 1, empty_test_split))
    return;
  wait_idle (f->page);
  g_assert_cmpuint (sl_run_chooser_get_n_runs (sl_evaluate_page_get_run_chooser (f->page)), ==, 1);
  g_assert_cmpstr (sl_evaluate_page_get_view_state (f->page), ==, "no-images");
  g_assert_nonnull (ui_test_find_label (GTK_WIDGET (f->page), "No Test Images"));
  save_screenshot (f, "evaluate-no-images");
  /* The validation images are there. */
  sl_evaluate_page_set_split (f->page, SL_SPLIT_VAL);
  wait_idle (f->page);
  g_assert_cmpstr (sl_evaluate_page_get_view_state (f->page), ==, "not-evaluated");
}

/* Ten classes: the matrix still shows every count, with its column names turned. */
static void
test_many_classes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlEvaluation) e = NULL;
  SlConfusionMatrix *matrix;
  gint64 eval_id;

  f->project = ui_test_fmnist_project (500, 10, &f->tmp);
  if (f->project == NULL)
    return;
  f->run_id = ui_test_train_run (f->project, 1);
  f->session = sl_session_new_for_project (f->project);
  f->page = SL_EVALUATE_PAGE (sl_evaluate_page_new (f->session));
  f->window = ui_test_window_new (GTK_WIDGET (f->page), 1280, 800);
  wait_idle (f->page);
  gtk_widget_activate_action (GTK_WIDGET (f->page), "evaluate.run", NULL);
  ui_test_spin (20);
  g_free (ui_test_save_screenshot (GTK_WIDGET (f->window), "evaluate-running"));
  wait_idle (f->page);
  eval_id = sl_project_find_evaluation (f->project, f->run_id, SL_SPLIT_TEST, &error);
  e = sl_project_get_evaluation (f->project, eval_id, -1, &error);
  g_assert_no_error (error);
  check_shown_evaluation (f, e);
  sl_evaluate_page_set_threshold (f->page, TRUE, 0.8);
  save_screenshot (f, "evaluate-10-classes");
  matrix = sl_evaluate_page_get_confusion_matrix (f->page);
  g_assert_true (cell_is_drawn (matrix, 9, 9));
  g_assert_true (cell_is_drawn (matrix, 0, 9));
}

int
main (int argc, char **argv)
{
  ui_test_init (&argc, &argv);
  g_test_add ("/ui/evaluate/no-runs", Fixture, NULL, NULL, test_no_runs, fixture_teardown);
  g_test_add ("/ui/evaluate/no-images", Fixture, NULL, NULL, test_no_images, fixture_teardown);
  g_test_add ("/ui/evaluate/evaluate", Fixture, NULL, NULL, test_evaluate, fixture_teardown);
  g_test_add ("/ui/evaluate/many-classes", Fixture, NULL, NULL, test_many_classes,
              fixture_teardown);
  return g_test_run ();
}
