/* test-projects-settings.c: the project's typed settings: validation, persistence and change notification. */
#include <math.h>
#include <string.h>

#include "projects-test-util.h"
#include "sl-project-settings.h"

typedef struct
{
  char *tmp;
  SlProject *project;
  GArray *seen; /* SlSetting, in notification order */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  f->tmp = pt_make_tmp ();
  path = g_build_filename (f->tmp, "p", NULL);
  f->project = sl_project_create (path, "Settings", &error);
  g_assert_no_error (error);
  f->seen = g_array_new (FALSE, FALSE, sizeof (SlSetting));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_array_unref (f->seen);
  sl_project_unref (f->project);
  sl_remove_tree (f->tmp);
  g_free (f->tmp);
}

static void
on_setting (SlProject *project, SlSetting setting, gpointer data)
{
  Fixture *f = data;

  g_array_append_val (f->seen, setting);
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

/* Nothing stored: each getter says so, and the pipeline falls back to the default. */
static void
test_unset (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  sl_augment_config augment;
  double threshold = 5;

  g_assert_null (sl_project_dup_stored_pipeline_json (f->project));
  g_assert_null (sl_project_get_pipeline (f->project, &error));
  g_assert_no_error (error);
  g_assert_null (sl_project_dup_augment_json (f->project));
  g_assert_true (sl_project_get_augment (f->project, &augment, &error));
  g_assert_false (sl_augment_config_is_active (&augment));
  g_assert_false (sl_project_get_reject_threshold (f->project, &threshold));
  g_assert_cmpfloat (threshold, ==, 0);
  g_assert_null (sl_project_dup_export_folder (f->project));
  g_assert_cmpstr (sl_setting_to_string (SL_SETTING_REJECT_THRESHOLD), ==, "reject-threshold");
}

/* A value that does not read is refused with a reason, and the stored one stays. */
static void
test_validation (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = pipeline_json (40);
  g_autofree char *stored = NULL;
  sl_augment_config augment;
  double threshold;

  g_assert_true (sl_project_set_pipeline_json (f->project, json, &error));
  g_assert_false (
      sl_project_set_pipeline_json (f->project, "{\"steps\": [{\"op\": \"no-such-op\"}]}", &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "pipeline"));
  g_clear_error (&error);
  stored = sl_project_dup_stored_pipeline_json (f->project);
  g_assert_cmpstr (stored, ==, json);

  g_assert_false (sl_project_set_augment_json (f->project, "[1, 2]", &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  sl_augment_config_init (&augment);
  augment.rotate_degrees = -3;
  g_assert_false (sl_project_set_augment (f->project, &augment, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (sl_project_dup_augment_json (f->project));

  g_assert_false (sl_project_set_reject_threshold (f->project, 1.5, &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sl_project_set_reject_threshold (f->project, NAN, &error));
  g_clear_error (&error);
  g_assert_false (sl_project_get_reject_threshold (f->project, &threshold));

  g_assert_false (sl_project_set_export_folder (f->project, "models", &error));
  g_assert_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID);
  g_assert_null (sl_project_dup_export_folder (f->project));
}

/* What is stored reads back typed, also through another connection. */
static void
test_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) other = NULL;
  g_autofree char *folder = NULL;
  sl_augment_config augment;
  sl_pipeline *pipeline;
  sl_input_spec spec;
  double threshold = 0;
  g_autofree char *json = pipeline_json (48);

  g_assert_true (sl_project_set_pipeline_json (f->project, json, &error));
  sl_augment_config_init (&augment);
  augment.flip_horizontal = true;
  g_assert_true (sl_project_set_augment (f->project, &augment, &error));
  g_assert_true (sl_project_set_reject_threshold (f->project, 0.8, &error));
  g_assert_true (sl_project_set_export_folder (f->project, "/srv/models", &error));
  g_assert_no_error (error);

  other = sl_project_open_worker (sl_project_get_path (f->project), &error);
  g_assert_no_error (error);
  pipeline = sl_project_get_pipeline (other, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pipeline);
  sl_pipeline_get_input (pipeline, &spec);
  g_assert_cmpint (spec.width, ==, 48);
  sl_pipeline_free (pipeline);
  sl_augment_config_init (&augment);
  g_assert_true (sl_project_get_augment (other, &augment, &error));
  g_assert_true (augment.flip_horizontal);
  g_assert_true (sl_project_get_reject_threshold (other, &threshold));
  g_assert_cmpfloat (threshold, ==, 0.8);
  folder = sl_project_dup_export_folder (other);
  g_assert_cmpstr (folder, ==, "/srv/models");
  /* The typed pipeline is the same one as stored. */
  {
    g_autofree char *again = sl_project_dup_pipeline_json (other, &error);
    g_assert_cmpstr (again, ==, json);
  }
}

/* Watchers hear every write through their handle, in order, and nothing once unwatched;
 * a refused write says nothing. */
static void
test_notification (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SlProject) other = NULL;
  g_autofree char *json = pipeline_json (32);
  sl_augment_config augment;
  guint id = sl_project_watch_settings (f->project, on_setting, f);

  g_assert_cmpuint (id, >, 0);
  sl_augment_config_init (&augment);
  g_assert_true (sl_project_set_pipeline_json (f->project, json, &error));
  g_assert_true (sl_project_set_augment (f->project, &augment, &error));
  g_assert_false (sl_project_set_reject_threshold (f->project, 2, NULL));
  g_assert_true (sl_project_set_reject_threshold (f->project, 0.25, &error));
  g_assert_true (sl_project_set_export_folder (f->project, "/tmp/x", &error));
  g_assert_cmpuint (f->seen->len, ==, 4);
  g_assert_cmpint (g_array_index (f->seen, SlSetting, 0), ==, SL_SETTING_PIPELINE);
  g_assert_cmpint (g_array_index (f->seen, SlSetting, 1), ==, SL_SETTING_AUGMENT);
  g_assert_cmpint (g_array_index (f->seen, SlSetting, 2), ==, SL_SETTING_REJECT_THRESHOLD);
  g_assert_cmpint (g_array_index (f->seen, SlSetting, 3), ==, SL_SETTING_EXPORT_FOLDER);

  /* Another connection's write is its own watchers' business. */
  other = sl_project_open_worker (sl_project_get_path (f->project), &error);
  g_assert_true (sl_project_set_reject_threshold (other, 0.5, &error));
  g_assert_cmpuint (f->seen->len, ==, 4);

  sl_project_unwatch_settings (f->project, id);
  g_assert_true (sl_project_set_reject_threshold (f->project, 0.3, &error));
  g_assert_cmpuint (f->seen->len, ==, 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/projects/settings/unset", Fixture, NULL, fixture_set_up, test_unset,
              fixture_tear_down);
  g_test_add ("/projects/settings/validation", Fixture, NULL, fixture_set_up, test_validation,
              fixture_tear_down);
  g_test_add ("/projects/settings/round-trip", Fixture, NULL, fixture_set_up, test_round_trip,
              fixture_tear_down);
  g_test_add ("/projects/settings/notification", Fixture, NULL, fixture_set_up, test_notification,
              fixture_tear_down);
  return g_test_run ();
}
