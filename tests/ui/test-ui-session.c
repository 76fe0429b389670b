/* test-ui-session.c: the session as the UI's one writer of project settings, and the signals pages follow. */
#include <string.h>

#include "projects-test-util.h"
#include "sl-session.h"

typedef struct
{
  char *tmp;
  SlProject *project;
  SlSession *session;
  GArray *settings; /* SlSetting, per "setting-changed" */
  guint thresholds; /* "setting-changed::reject-threshold" */
  guint pipelines;  /* "pipeline-changed" */
} Fixture;

static void
on_setting_changed (SlSession *session, guint setting, Fixture *f)
{
  g_array_append_val (f->settings, setting);
}

static void
on_threshold_changed (SlSession *session, guint setting, Fixture *f)
{
  g_assert_cmpuint (setting, ==, SL_SETTING_REJECT_THRESHOLD);
  f->thresholds++;
}

static void
on_pipeline_changed (SlSession *session, Fixture *f)
{
  f->pipelines++;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  f->tmp = pt_make_tmp ();
  path = g_build_filename (f->tmp, "p", NULL);
  f->project = sl_project_create (path, "Session", &error);
  g_assert_no_error (error);
  f->session = sl_session_new_for_project (f->project);
  f->settings = g_array_new (FALSE, FALSE, sizeof (SlSetting));
  g_signal_connect (f->session, "setting-changed", G_CALLBACK (on_setting_changed), f);
  g_signal_connect (f->session, "setting-changed::reject-threshold",
                    G_CALLBACK (on_threshold_changed), f);
  g_signal_connect (f->session, "pipeline-changed", G_CALLBACK (on_pipeline_changed), f);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->session);
  /* The session no longer listens: a write after it is gone reaches nobody. */
  g_assert_true (sl_project_set_reject_threshold (f->project, 0.1, NULL));
  sl_project_unref (f->project);
  g_array_unref (f->settings);
  sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

static char *
pipeline_json (int side)
{
  sl_pipeline *p = NULL;
  sl_input_spec spec;
  char *s, *json;

  g_assert_cmpint (sl_pipeline_new (&p, NULL), ==, SL_OK);
  sl_pipeline_get_input (p, &spec);
  spec.width = spec.height = side;
  g_assert_cmpint (sl_pipeline_set_input (p, &spec, NULL), ==, SL_OK);
  s = sl_pipeline_to_json (p);
  json = g_strdup (s);
  sl_free (s);
  sl_pipeline_free (p);
  return json;
}

/* Each setter emits "setting-changed" with its detail; pipeline and augmentation also
 * "pipeline-changed"; a refused value emits nothing and stores nothing. */
static void
test_setters (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = pipeline_json (36);
  g_autofree char *stored = NULL, *folder = NULL;
  sl_augment_config augment;
  double threshold = 0;

  g_assert_true (sl_session_set_reject_threshold (f->session, 0.7, &error));
  g_assert_cmpuint (f->thresholds, ==, 1);
  g_assert_cmpuint (f->pipelines, ==, 0);
  g_assert_true (sl_session_get_reject_threshold (f->session, &threshold));
  g_assert_cmpfloat (threshold, ==, 0.7);

  sl_augment_config_init (&augment);
  augment.flip_vertical = true;
  g_assert_true (sl_session_set_augment (f->session, &augment, &error));
  g_assert_true (sl_session_set_pipeline_json (f->session, json, &error));
  g_assert_true (sl_session_set_export_folder (f->session, "/srv/models", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f->pipelines, ==, 2);
  g_assert_cmpuint (f->thresholds, ==, 1);
  g_assert_cmpuint (f->settings->len, ==, 4);
  g_assert_cmpint (g_array_index (f->settings, SlSetting, 1), ==, SL_SETTING_AUGMENT);
  g_assert_cmpint (g_array_index (f->settings, SlSetting, 2), ==, SL_SETTING_PIPELINE);
  g_assert_cmpint (g_array_index (f->settings, SlSetting, 3), ==, SL_SETTING_EXPORT_FOLDER);

  g_assert_false (sl_session_set_pipeline_json (f->session, "[]", &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sl_session_set_reject_threshold (f->session, -0.5, &error));
  g_clear_error (&error);
  g_assert_cmpuint (f->settings->len, ==, 4);
  stored = sl_session_dup_stored_pipeline_json (f->session);
  g_assert_cmpstr (stored, ==, json);
  sl_augment_config_init (&augment);
  g_assert_true (sl_session_get_augment (f->session, &augment));
  g_assert_true (augment.flip_vertical);
  folder = sl_session_dup_export_folder (f->session);
  g_assert_cmpstr (folder, ==, "/srv/models");

  /* Nothing changed elsewhere: a refresh is silent. */
  sl_session_refresh_settings (f->session);
  g_assert_cmpuint (f->settings->len, ==, 4);
}

/* A write through another connection (a training job storing the first pipeline, a
 * sightline-cli command) is heard at the session's next "runs-changed", once. */
static void
test_refresh_on_runs_changed (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) other = sl_project_open_worker (sl_project_get_path (f->project), &error);
  g_autofree char *json = pipeline_json (44);

  g_assert_no_error (error);
  g_assert_true (sl_project_set_pipeline_json (other, json, &error));
  g_assert_true (sl_project_set_reject_threshold (other, 0.55, &error));
  g_assert_cmpuint (f->settings->len, ==, 0);

  sl_session_notify_runs_changed (f->session);
  g_assert_cmpuint (f->settings->len, ==, 2);
  g_assert_cmpint (g_array_index (f->settings, SlSetting, 0), ==, SL_SETTING_PIPELINE);
  g_assert_cmpint (g_array_index (f->settings, SlSetting, 1), ==, SL_SETTING_REJECT_THRESHOLD);
  g_assert_cmpuint (f->pipelines, ==, 1);
  g_assert_cmpuint (f->thresholds, ==, 1);

  sl_session_notify_runs_changed (f->session);
  g_assert_cmpuint (f->settings->len, ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/ui/session/setters", Fixture, NULL, fixture_set_up, test_setters,
              fixture_tear_down);
  g_test_add ("/ui/session/refresh-on-runs-changed", Fixture, NULL, fixture_set_up,
              test_refresh_on_runs_changed, fixture_tear_down);
  return g_test_run ();
}
