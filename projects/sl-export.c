/* sl-export.c: a run's model written for the line: .slmodel and/or ONNX, with provenance and a timing. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-export.h"
#include "sl-anomaly-run-private.h"
#include "sl-project-private.h"
#include "sl-classifier.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "sl-files.h"

#define LATENCY_RUNS 30
/* How long an export waits for another export into the same folder. */
#define FOLDER_LOCK_WAIT_S 120

void
sl_export_options_init (SlExportOptions *o)
{
  memset (o, 0, sizeof *o);
  o->formats = SL_EXPORT_SLMODEL;
  o->checkpoint = SL_CHECKPOINT_BEST;
}

void
sl_export_result_clear (SlExportResult *r)
{
  g_free (r->slmodel_path);
  g_free (r->onnx_path);
  g_free (r->sidecar_path);
  g_free (r->anomaly_statement);
  memset (r, 0, sizeof *r);
}

static void
add_parsed (cJSON *obj, const char *key, const char *json)
{
  cJSON *v = json != NULL ? cJSON_Parse (json) : NULL;

  if (v != NULL)
    cJSON_AddItemToObject (obj, key, v);
}

static void
add_metric (cJSON *obj, const char *key, double v)
{
  if (isfinite (v))
    cJSON_AddNumberToObject (obj, key, v);
}

/* Where the model came from: enough to trace any line result back to data and recipe. */
static char *
provenance_json (SlProject *self, const SlRunInfo *run, SlCheckpointKind checkpoint,
                 const SlExportAnomaly *anomaly)
{
  g_autofree char *name = sl_project_dup_name (self);
  cJSON *doc = cJSON_CreateObject (), *metrics;
  gint64 eval_id = sl_project_find_evaluation (self, run->id, SL_SPLIT_TEST, NULL);
  char *text;

  cJSON_AddStringToObject (doc, "project", name != NULL ? name : "");
  cJSON_AddStringToObject (doc, "run", run->name);
  cJSON_AddStringToObject (doc, "trained", run->finished != NULL ? run->finished : run->created);
  cJSON_AddStringToObject (doc, "checkpoint", checkpoint == SL_CHECKPOINT_LAST ? "last" : "best");
  if (run->dataset_hash != NULL)
    cJSON_AddStringToObject (doc, "dataset_sha256", run->dataset_hash);
  cJSON_AddNumberToObject (doc, "train_images", (double) run->train_images);
  cJSON_AddNumberToObject (doc, "val_images", (double) run->val_images);
  cJSON_AddNumberToObject (doc, "epochs", run->epochs_done);
  metrics = cJSON_AddObjectToObject (doc, "metrics");
  if (run->best_epoch >= 0)
    {
      cJSON_AddNumberToObject (metrics, "best_epoch", run->best_epoch + 1);
      cJSON_AddStringToObject (metrics, "best_epoch_criterion", sl_run_best_criterion (run));
      add_metric (metrics, "val_loss", run->best_val_loss);
      add_metric (metrics, "val_accuracy", run->best_val_accuracy);
    }
  if (eval_id >= 0 && !sl_project_evaluation_is_anomaly (self, eval_id))
    {
      g_autoptr (SlEvaluation) e = sl_project_get_evaluation (self, eval_id, 0, NULL);
      if (e != NULL && e->checkpoint == checkpoint)
        {
          add_metric (metrics, "test_accuracy", e->accuracy);
          add_metric (metrics, "test_macro_f1", e->macro_f1);
          cJSON_AddNumberToObject (metrics, "test_images", (double) e->images);
        }
    }
  if (run->backbone != NULL)
    {
      /* The pretrained weights the model started from: name, hash, source and licence. */
      g_autofree char *backbone = _sl_run_config_member_json (run->config_json, "backbone");
      add_parsed (doc, "backbone", backbone);
    }
  _sl_export_anomaly_provenance (doc, anomaly);
  add_parsed (doc, "recipe", run->config_json);
  add_parsed (doc, "trained_with", run->versions_json);
  text = cJSON_PrintUnformatted (doc);
  cJSON_Delete (doc);
  return text;
}

static gint64
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (gint64) st.st_size : -1;
}

/* The median time to classify one mid-gray image of the model's input size,
 * preprocessing included, after a warm-up. */
static double
measure_latency (sl_classifier *c)
{
  int32_t w, h, ch;
  double times[LATENCY_RUNS];
  sl_prediction p;
  g_autofree guint8 *pixels = NULL;

  sl_classifier_input_size (c, &w, &h, &ch);
  pixels = g_malloc ((gsize) w * h);
  memset (pixels, 128, (gsize) w * h);
  sl_prediction_init (&p);
  for (int i = -3; i < LATENCY_RUNS; i++)
    {
      gint64 start = g_get_monotonic_time ();
      if (sl_classifier_predict_pixels (c, pixels, w, h, 0, SL_PIXEL_GRAY8, &p, NULL, NULL)
          != SL_OK)
        return NAN;
      if (i >= 0)
        times[i] = (g_get_monotonic_time () - start) / 1000.0;
    }
  for (int i = 1; i < LATENCY_RUNS; i++)
    for (int j = i; j > 0 && times[j] < times[j - 1]; j--)
      {
        double t = times[j];
        times[j] = times[j - 1];
        times[j - 1] = t;
      }
  return times[LATENCY_RUNS / 2];
}

static char *
default_stem (SlProject *self, const SlRunInfo *run)
{
  g_autofree char *name = sl_project_dup_name (self);
  GString *s = g_string_new (NULL);

  /* Keep file names portable: letters, digits, '-', '_' and '.'. */
  for (const char *p = name != NULL ? name : "model"; *p != '\0'; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '-');
  g_string_append_printf (s, "-%s", run->name);
  return g_string_free (s, FALSE);
}

/* Writes the .slmodel to `path` from the run's checkpoint, as the project's classifier holds it
 * (an anomaly run: its fitted model, with the threshold in use; a gate: fitted now). */
static gboolean
write_slmodel (SlProject *self, const SlRunInfo *run, const SlExportOptions *o, const char *path,
               SlExportAnomaly *anomaly, GError **error)
{
  g_autofree char *provenance = NULL;
  g_autofree const char **labels = NULL;
  g_autoptr (sl_classifier) classifier = NULL;
  g_autoptr (sl_anomaly) scorer = NULL;
  sl_slmodel_info info;
  sl_error err = { 0 };
  int classes;

  if ((classifier
       = _sl_export_open_classifier (self, run, o->checkpoint, o->anomaly_gate, anomaly, error))
      == NULL)
    return FALSE;
  provenance = provenance_json (self, run, o->checkpoint, anomaly);
  classes = sl_classifier_class_count (classifier);
  labels = g_new0 (const char *, classes + 1);
  for (int i = 0; i < classes; i++)
    labels[i] = sl_classifier_class_label (classifier, i);
  sl_slmodel_info_init (&info);
  info.kind = sl_classifier_kind (classifier);
  /* The scorer with the threshold the classifier uses (one set by hand for the run, say). */
  if (sl_classifier_anomaly (classifier) != NULL
      && ((scorer = sl_anomaly_copy (sl_classifier_anomaly (classifier))) == NULL
          || sl_anomaly_set_threshold (scorer, sl_classifier_get_anomaly_threshold (classifier),
                                       &err)
                 != SL_OK))
    {
      if (scorer == NULL)
        g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_RUNTIME,
                     "Out of memory writing the model file");
      else
        _sl_project_set_runtime_error (error, &err, "Could not write the model file");
      return FALSE;
    }
  info.anomaly = scorer;
  /* An anomaly model's labels are the runtime's own ("good", "anomalous"). */
  info.labels = info.kind == SL_SLMODEL_ANOMALY ? NULL : labels;
  info.reject_threshold = (float) o->reject_threshold;
  info.provenance_json = provenance;
  if (sl_slmodel_save (sl_classifier_model (classifier), sl_classifier_pipeline (classifier), &info,
                       path, &err)
      != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "Could not write the model file");
      return FALSE;
    }
  return TRUE;
}

/* ---- The export folder: one writer at a time, staged sets, stale staging cleaned ---- */

/* Takes an exclusive flock on the folder itself (no lock file is left among
 * the user's files). Every export holds it from its first staged byte to its
 * last rename, so staging files found while holding it belong to a writer
 * that died (flock locks die with their process). Returns the fd, or -1. */
static int
lock_folder (const char *dir, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + FOLDER_LOCK_WAIT_S * G_USEC_PER_SEC;
  gboolean said = FALSE;

  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "Cannot open %s: %s", dir,
                   g_strerror (e));
      return -1;
    }
  while (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      if (errno != EWOULDBLOCK && errno != EINTR)
        break; /* a file system without flock: go on unlocked, as before */
      if (g_get_monotonic_time () > deadline)
        {
          close (fd);
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_BUSY,
                       "Another export is still writing into %s; try again when it is done", dir);
          return -1;
        }
      if (!said && g_get_monotonic_time () - start > 2 * G_USEC_PER_SEC)
        {
          /* Said once, and only when the wait is long enough to notice. */
          g_message ("Waiting for another export into %s to finish", dir);
          said = TRUE;
        }
      g_usleep (50 * 1000);
    }
  return fd;
}

/* Whether `name` is a staging file an export of ours makes: the staging
 * folder ".STEM.export-staged", and what earlier versions and the runtime's
 * atomic writes leave: ".STEM.slmodel.staged", "STEM.json.staged",
 * "STEM.{slmodel,onnx,json}.tmp-XXXXXX". Nothing else is touched. */
static gboolean
is_staging_name (const char *name)
{
  static const char *const exts[] = { ".slmodel", ".onnx", ".json", ".json.staged" };
  const char *tmp = strstr (name, ".tmp-");

  if (name[0] == '.'
      && (g_str_has_suffix (name, ".export-staged") || g_str_has_suffix (name, ".slmodel.staged")))
    return TRUE;
  if (g_str_has_suffix (name, ".json.staged"))
    return TRUE;
  if (tmp == NULL || strlen (tmp) != strlen (".tmp-XXXXXX"))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (exts); i++)
    {
      gsize n = strlen (exts[i]);
      if ((gsize) (tmp - name) > n && strncmp (tmp - n, exts[i], n) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean fsync_path (const char *path, GError **error);

/* An export killed after moving its graph into place and before moving the
 * sidecar left the new graph beside the previous sidecar, the new one staged
 * in `staging` (".STEM.export-staged"). The staged sidecar that names the
 * graph now in place finishes that move; otherwise nothing was moved and the
 * staging folder is simply removed. */
static void
finish_killed_move (const char *dir, const char *staging_name)
{
  g_autofree char *stem
      = g_strndup (staging_name + 1, strlen (staging_name) - 1 - strlen (".export-staged"));
  g_autofree char *json_name = g_strconcat (stem, ".json", NULL);
  g_autofree char *onnx_name = g_strconcat (stem, ".onnx", NULL);
  g_autofree char *staged_json = g_build_filename (dir, staging_name, json_name, NULL);
  g_autofree char *staged_onnx = g_build_filename (dir, staging_name, onnx_name, NULL);
  g_autofree char *onnx = g_build_filename (dir, onnx_name, NULL);
  g_autofree char *sidecar = g_build_filename (dir, json_name, NULL);
  g_autofree char *text = NULL, *sum = NULL;
  cJSON *doc;
  gboolean names_graph;

  if (!g_file_test (staged_json, G_FILE_TEST_IS_REGULAR)
      || g_file_test (staged_onnx, G_FILE_TEST_EXISTS)
      || !g_file_get_contents (staged_json, &text, NULL, NULL)
      || (sum = sl_file_sha256 (onnx, NULL, NULL)) == NULL || (doc = cJSON_Parse (text)) == NULL)
    return;
  names_graph
      = g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "onnx_sha256")), sum) == 0;
  cJSON_Delete (doc);
  if (names_graph && g_rename (staged_json, sidecar) == 0)
    {
      g_debug ("moved %s into place, left staged by an export killed while moving", sidecar);
      fsync_path (dir, NULL);
    }
}

/* Removes what exports killed midway left in `dir` (the caller holds the
 * folder's lock, so their writers are dead), after finishing a move of a
 * graph's sidecar that a kill interrupted. */
static void
remove_stale_staging (const char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (!is_staging_name (name))
        continue;
      if (name[0] == '.' && g_str_has_suffix (name, ".export-staged")
          && strlen (name) > strlen (".export-staged") + 1)
        finish_killed_move (dir, name);
      g_debug ("removing %s, left by an export that did not finish", path);
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        sl_remove_tree (path);
      else
        g_unlink (path);
    }
}

static gboolean
fsync_path (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  gboolean ok = fd >= 0 && fsync (fd) == 0;
  int e = errno;

  if (fd >= 0)
    close (fd);
  if (!ok)
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "Cannot write %s: %s", path,
                 g_strerror (e));
  return ok;
}

/* Records in the staged sidecar the SHA-256 of the graph it describes, so a
 * reader can tell a graph and a sidecar of two different exports apart (see
 * docs/export.md). */
static gboolean
seal_sidecar (const char *sidecar, const char *onnx, GError **error)
{
  g_autofree char *text = NULL, *graph = NULL, *sum = NULL;
  gsize graph_len = 0;
  cJSON *doc;
  char *out;
  gboolean ok;

  if (!g_file_get_contents (sidecar, &text, NULL, error)
      || !g_file_get_contents (onnx, &graph, &graph_len, error))
    return FALSE;
  if ((doc = cJSON_Parse (text)) == NULL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_RUNTIME,
                   "The ONNX sidecar written in %s is not JSON", sidecar);
      return FALSE;
    }
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) graph, graph_len);
  cJSON_DeleteItemFromObjectCaseSensitive (doc, "onnx_sha256");
  cJSON_AddStringToObject (doc, "onnx_sha256", sum);
  out = cJSON_Print (doc);
  cJSON_Delete (doc);
  ok = sl_file_replace_contents (sidecar, out, -1, error) && fsync_path (sidecar, error);
  cJSON_free (out);
  return ok;
}

/* Moves a staged file to its final name. */
static gboolean
publish (const char *staged, const char *final, GError **error)
{
  if (g_rename (staged, final) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "Cannot write %s: %s", final,
                   g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

/* Where one export writes: each format under its final name in a hidden
 * staging folder, then moved to `dir`. */
typedef struct
{
  char *staging, *staged_slmodel, *staged_onnx, *staged_sidecar;
  char *slmodel, *onnx, *sidecar;
} ExportPaths;

static void
export_paths_init (ExportPaths *p, const char *dir, const char *stem)
{
  g_autofree char *staging_name = g_strdup_printf (".%s.export-staged", stem);

  p->slmodel = g_strdup_printf ("%s/%s.slmodel", dir, stem);
  p->onnx = g_strdup_printf ("%s/%s.onnx", dir, stem);
  p->sidecar = g_strdup_printf ("%s/%s.json", dir, stem);
  p->staging = g_build_filename (dir, staging_name, NULL);
  p->staged_slmodel = g_strdup_printf ("%s/%s.slmodel", p->staging, stem);
  p->staged_onnx = g_strdup_printf ("%s/%s.onnx", p->staging, stem);
  p->staged_sidecar = g_strdup_printf ("%s/%s.json", p->staging, stem);
}

static void
export_paths_clear (ExportPaths *p)
{
  g_free (p->staging);
  g_free (p->staged_slmodel);
  g_free (p->staged_onnx);
  g_free (p->staged_sidecar);
  g_free (p->slmodel);
  g_free (p->onnx);
  g_free (p->sidecar);
}

static gboolean
make_folder (const char *path, gboolean with_parents, GError **error)
{
  if ((with_parents ? g_mkdir_with_parents (path, 0777) : g_mkdir (path, 0755)) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "Cannot create %s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

/* Writes the .slmodel and, when asked, the ONNX graph and its sealed sidecar
 * into the staging folder, flushed; *classifier is the written model, opened. */
static gboolean
write_staged (SlProject *self, const SlRunInfo *run, const SlExportOptions *o, const ExportPaths *p,
              sl_classifier **classifier, SlExportAnomaly *anomaly, GError **error)
{
  sl_classifier_options open_options;
  sl_error err = { 0 };

  if (!write_slmodel (self, run, o, p->staged_slmodel, anomaly, error))
    return FALSE;
  /* The project's own model, just written, opened to check it and to export
   * ONNX from: opening never runs it, so the runtime's cost limits (meant
   * for files from elsewhere) are lifted; a model over them still exports,
   * and `sightline-infer --info` says which limit a line PC must raise. */
  sl_classifier_options_init (&open_options);
  open_options.max_memory = SL_CLASSIFIER_NO_LIMIT;
  open_options.max_mflops = SL_CLASSIFIER_NO_LIMIT;
  if (sl_classifier_open (p->staged_slmodel, &open_options, classifier, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "The written model does not open");
      return FALSE;
    }
  if (o->formats & SL_EXPORT_ONNX)
    {
      if (sl_classifier_export_onnx (*classifier, p->staged_onnx, &err) != SL_OK)
        {
          _sl_project_set_runtime_error (error, &err, "Could not export to ONNX");
          return FALSE;
        }
      if (!seal_sidecar (p->staged_sidecar, p->staged_onnx, error)
          || !fsync_path (p->staged_onnx, error))
        return FALSE;
    }
  return fsync_path (p->staged_slmodel, error) && fsync_path (p->staging, error);
}

/* Moves the staged files into place: .slmodel, then the graph, then its sidecar. */
static gboolean
publish_all (const SlExportOptions *o, const ExportPaths *p, const char *dir, GError **error)
{
  return (!(o->formats & SL_EXPORT_SLMODEL) || publish (p->staged_slmodel, p->slmodel, error))
         && (!(o->formats & SL_EXPORT_ONNX)
             || (publish (p->staged_onnx, p->onnx, error)
                 && publish (p->staged_sidecar, p->sidecar, error)))
         && fsync_path (dir, error);
}

static void
fill_result (const SlExportOptions *o, const ExportPaths *p, sl_classifier *classifier,
             const SlExportAnomaly *anomaly, SlExportResult *result)
{
  result->anomaly = anomaly->anomaly;
  result->gated = anomaly->gated;
  result->anomaly_threshold = anomaly->threshold;
  result->anomaly_statement = g_strdup (anomaly->statement);
  if (o->formats & SL_EXPORT_SLMODEL)
    {
      result->slmodel_path = g_strdup (p->slmodel);
      result->slmodel_bytes = file_size (p->slmodel);
    }
  if (o->formats & SL_EXPORT_ONNX)
    {
      result->onnx_path = g_strdup (p->onnx);
      result->onnx_bytes = file_size (p->onnx);
      result->sidecar_path = g_strdup (p->sidecar);
      result->sidecar_bytes = file_size (p->sidecar);
    }
  result->classes = sl_classifier_class_count (classifier);
  result->parameters = (gint64) sl_model_param_count (sl_classifier_model (classifier));
  sl_classifier_input_size (classifier, &result->input_width, &result->input_height,
                            &result->input_channels);
  result->threads = sl_model_get_threads (sl_classifier_model (classifier));
  result->latency_ms = measure_latency (classifier);
}

gboolean
sl_project_export_run (SlProject *self, gint64 run_id, const char *dir, const SlExportOptions *o,
                       SlExportResult *result, GError **error)
{
  g_autoptr (SlRunInfo) run = NULL;
  g_autofree char *stem = NULL;
  sl_classifier *classifier = NULL;
  SlExportAnomaly anomaly = { 0 };
  ExportPaths paths = { 0 };
  char id[32];
  gboolean ok = FALSE;
  int lock_fd = -1;

  memset (result, 0, sizeof *result);
  if (o->formats == 0 || !(o->reject_threshold >= 0 && o->reject_threshold <= 1))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "Choose at least one format, and a reject threshold between 0 and 1");
      return FALSE;
    }
  g_snprintf (id, sizeof id, "%lld", (long long) run_id);
  if ((run = sl_project_get_run (self, id, error)) == NULL)
    return FALSE;
  if (o->anomaly_gate && sl_run_info_is_anomaly (run))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "%s is an anomaly model: an anomaly gate is for classifiers", run->name);
      return FALSE;
    }
  if (!make_folder (dir, TRUE, error) || (lock_fd = lock_folder (dir, error)) < 0)
    return FALSE;
  remove_stale_staging (dir);
  stem = o->name != NULL ? g_strdup (o->name) : default_stem (self, run);
  /* Every format is written into a hidden staging folder under its final
   * name, flushed, and only then moved into place: .slmodel, then the graph,
   * then its sidecar, which names the graph's SHA-256. A failure or a kill
   * before the moves leaves the earlier export as it was; the next export
   * into this folder removes the staging folder. */
  export_paths_init (&paths, dir, stem);
  ok = make_folder (paths.staging, FALSE, error)
       && write_staged (self, run, o, &paths, &classifier, &anomaly, error)
       && publish_all (o, &paths, dir, error);
  sl_remove_tree (paths.staging); /* what was not moved into place */
  if (ok)
    fill_result (o, &paths, classifier, &anomaly, result);
  sl_classifier_free (classifier);
  _sl_export_anomaly_clear (&anomaly);
  close (lock_fd);
  export_paths_clear (&paths);
  return ok;
}
