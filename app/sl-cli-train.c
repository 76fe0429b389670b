/* sl-cli-train.c: `train` (start or resume a run with a progress bar) and `runs` (list, show). */
#include "sl-cli-private.h"

#include "sl-anomaly.h"

#include <stdio.h>
#include <string.h>

typedef struct
{
  SlCliProgress bar;
  SlTrainJob *job;
  gboolean json;
  gint64 features_started; /* the feature pass's first report */
  gboolean anomaly;        /* an anomaly run's fit */
  SlCliAnomalyUi fit;
  GMutex lock; /* the training thread prints, the main thread waits */
} TrainUi;

/* The feature pass of a frozen backbone: once per image, before the first epoch. */
static void
features_progress (TrainUi *ui, const SlTrainProgress *p)
{
  g_autofree char *text = NULL;

  if (ui->features_started == 0)
    ui->features_started = g_get_monotonic_time ();
  if (p->features_done < p->features_total)
    {
      text = g_strdup_printf ("Computing features %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                              p->features_done, p->features_total);
      _sl_cli_progress_draw (&ui->bar, (double) p->features_done / p->features_total, text);
      return;
    }
  _sl_cli_progress_clear (&ui->bar);
  if (!ui->json)
    printf ("  features of %" G_GINT64_FORMAT " images computed in %.1f s; the epochs train "
            "from them\n",
            p->features_total, (g_get_monotonic_time () - ui->features_started) / 1e6);
  fflush (stdout);
}

static void
train_progress (const SlTrainProgress *p, gpointer user_data)
{
  TrainUi *ui = user_data;

  if (_sl_cli_interrupted ())
    sl_train_job_cancel (ui->job);
  g_mutex_lock (&ui->lock);
  if (ui->anomaly)
    _sl_cli_anomaly_progress (&ui->fit, p);
  else if (p->features_total > 0)
    features_progress (ui, p);
  else if (!p->epoch_done)
    {
      g_autofree char *left = _sl_cli_format_duration (p->eta_seconds);
      g_autofree char *text
          = g_strdup_printf ("epoch %d/%d  loss %.4f  %5.0f images/s  %s left", p->epoch + 1,
                             p->epochs, p->train_loss, p->images_per_s, left);
      _sl_cli_progress_draw (&ui->bar, (double) p->step_in_epoch / MAX (p->steps_in_epoch, 1),
                             text);
    }
  else if (!ui->json)
    {
      _sl_cli_progress_clear (&ui->bar);
      printf ("  epoch %d/%d  train loss %.4f accuracy %.4f", p->epoch + 1, p->epochs,
              p->train_loss, p->train_accuracy);
      if (!isnan (p->val_loss))
        printf ("  val loss %.4f accuracy %.4f", p->val_loss, p->val_accuracy);
      printf ("  %.0f images/s%s\n", p->images_per_s, p->is_best ? "  (best)" : "");
      fflush (stdout);
    }
  g_mutex_unlock (&ui->lock);
}

static gboolean
parse_weights (const char *text, SlRunConfig *config, GError **error)
{
  g_auto (GStrv) parts = NULL;

  if (g_strcmp0 (text, "none") == 0)
    config->class_weights = SL_CLASS_WEIGHTS_NONE;
  else if (g_strcmp0 (text, "auto") == 0)
    config->class_weights = SL_CLASS_WEIGHTS_AUTO;
  else
    {
      config->class_weights = SL_CLASS_WEIGHTS_MANUAL;
      config->manual_weights = g_array_new (FALSE, FALSE, sizeof (float));
      parts = g_strsplit (text, ",", -1);
      for (int i = 0; parts[i] != NULL; i++)
        {
          char *end = NULL;
          float w = (float) g_ascii_strtod (parts[i], &end);
          if (end == parts[i] || *end != '\0')
            {
              g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                           "--class-weights takes none, auto or numbers separated by commas");
              return FALSE;
            }
          g_array_append_val (config->manual_weights, w);
        }
    }
  return TRUE;
}

static gboolean
read_optional (const char *path, char **out, GError **error)
{
  *out = NULL;
  return path == NULL || g_file_get_contents (path, out, NULL, error);
}

cJSON *
_sl_cli_run_json (SlProject *project, const SlRunInfo *run, gboolean with_metrics)
{
  cJSON *doc = cJSON_CreateObject (), *classes = cJSON_CreateArray ();

  cJSON_AddNumberToObject (doc, "id", (double) run->id);
  cJSON_AddStringToObject (doc, "name", run->name);
  cJSON_AddStringToObject (doc, "status", sl_run_status_to_string (run->status));
  cJSON_AddItemToObject (doc, "message",
                         run->message ? cJSON_CreateString (run->message) : cJSON_CreateNull ());
  cJSON_AddStringToObject (doc, "created", run->created);
  cJSON_AddItemToObject (doc, "preset",
                         run->preset ? cJSON_CreateString (run->preset) : cJSON_CreateNull ());
  cJSON_AddItemToObject (doc, "backbone",
                         run->backbone ? cJSON_CreateString (run->backbone) : cJSON_CreateNull ());
  cJSON_AddNumberToObject (doc, "epochs", run->epochs);
  cJSON_AddNumberToObject (doc, "epochs_done", run->epochs_done);
  cJSON_AddNumberToObject (doc, "best_epoch", run->best_epoch);
  cJSON_AddItemToObject (doc, "best_val_loss", _sl_cli_json_number (run->best_val_loss));
  cJSON_AddItemToObject (doc, "best_val_accuracy", _sl_cli_json_number (run->best_val_accuracy));
  cJSON_AddNumberToObject (doc, "train_images", (double) run->train_images);
  cJSON_AddNumberToObject (doc, "val_images", (double) run->val_images);
  cJSON_AddStringToObject (doc, "dataset_hash", run->dataset_hash);
  for (guint i = 0; i < run->class_names->len; i++)
    cJSON_AddItemToArray (classes, cJSON_CreateString (g_ptr_array_index (run->class_names, i)));
  cJSON_AddItemToObject (doc, "classes", classes);
  if (with_metrics)
    {
      g_autoptr (GArray) metrics = sl_project_get_run_metrics (project, run->id, NULL);
      cJSON *list = cJSON_AddArrayToObject (doc, "metrics");

      cJSON_AddItemToObject (doc, "recipe", cJSON_Parse (run->config_json));
      cJSON_AddItemToObject (doc, "versions", cJSON_Parse (run->versions_json));
      for (guint i = 0; metrics != NULL && i < metrics->len; i++)
        {
          const SlEpochMetrics *m = &g_array_index (metrics, SlEpochMetrics, i);
          cJSON *item = cJSON_CreateObject ();

          cJSON_AddNumberToObject (item, "epoch", m->epoch);
          cJSON_AddNumberToObject (item, "train_loss", m->train_loss);
          cJSON_AddNumberToObject (item, "train_accuracy", m->train_accuracy);
          cJSON_AddItemToObject (item, "val_loss", _sl_cli_json_number (m->val_loss));
          cJSON_AddItemToObject (item, "val_accuracy", _sl_cli_json_number (m->val_accuracy));
          cJSON_AddNumberToObject (item, "learning_rate", m->learning_rate);
          cJSON_AddNumberToObject (item, "images_per_s", m->images_per_s);
          cJSON_AddNumberToObject (item, "seconds", m->seconds);
          cJSON_AddItemToArray (list, item);
        }
    }
  return doc;
}

/* Splits labelled images that have none, as the workbench does before a run (and says so),
 * then sets the recipe values that follow from the data by the workbench's rule. */
static gboolean
apply_data_defaults (SlProject *project, SlRunConfig *config, FILE *out, GError **error)
{
  SlProjectStats stats = { 0 };
  SlSplitConfig split;
  gint64 assigned = 0, train = 0, val = 0;

  sl_split_config_init (&split);
  if (!sl_project_split (project, &split, &assigned, error))
    return FALSE;
  if (assigned > 0)
    fprintf (out,
             "%" G_GINT64_FORMAT " labelled images had no split: they were put into training, "
             "validation and test (70/15/15 per class), as the workbench does.\n",
             assigned);
  if (!sl_project_get_stats (project, &stats, error))
    return FALSE;
  for (guint i = 0; i < stats.classes->len; i++)
    {
      const SlClassCount *c = g_ptr_array_index (stats.classes, i);

      train += c->train;
      val += c->val;
    }
  sl_run_config_apply_data_defaults (config, train, val, sl_project_stats_train_imbalance (&stats));
  sl_project_stats_clear (&stats);
  return TRUE;
}

/* What `train` was asked to do. */
typedef struct
{
  char *preset, *model_file, *pipeline_file, *augment_file;
  char *optimizer, *weights, *resume, *schedule, *device, *finetune;
  int epochs, batch, patience, threads, workers, input_size;
  double lr, weight_decay, smoothing, warmup, backbone_ratio;
  double coreset_ratio, target_false_reject; /* anomaly projects */
  gint64 seed;
  gboolean json, no_feature_cache;
} TrainOptions;

static void
train_options_clear (TrainOptions *o)
{
  g_free (o->preset);
  g_free (o->model_file);
  g_free (o->pipeline_file);
  g_free (o->augment_file);
  g_free (o->optimizer);
  g_free (o->weights);
  g_free (o->resume);
  g_free (o->schedule);
  g_free (o->device);
  g_free (o->finetune);
}

/* Parses the options and checks the arguments; FALSE with *status set to the exit status. */
static gboolean
parse_train_options (int *argc, char ***argv, TrainOptions *o, int *status)
{
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &o->preset,
      "A preset (seed-cnn, small-bn, resnet-s, mobilenet-s) or a pretrained backbone (lite0, "
      "lite1, lite2; see 'sightline-cli models'). Default: the latest run's; for a project's "
      "first run lite0 when it is installed, else small-bn",
      "NAME" },
    { "finetune", 0, 0, G_OPTION_ARG_STRING, &o->finetune,
      "With a backbone: what trains: head (only the new classifier; default), last:N (also "
      "the last N blocks) or all",
      "MODE" },
    { "input-size", 0, 0, G_OPTION_ARG_INT, &o->input_size,
      "With a backbone: input side in pixels, 128 to 320 in steps of 32 (default: 128 for "
      "images of at most 128 pixels, else 224)",
      "S" },
    { "backbone-lr-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &o->backbone_ratio,
      "With a backbone and last:N or all: the backbone's learning rate over the head's, above "
      "0 and at most 1 (default 0.1)",
      "R" },
    { "model-json", 0, 0, G_OPTION_ARG_FILENAME, &o->model_file,
      "A model description file instead of a preset", "FILE" },
    { "pipeline", 'p', 0, G_OPTION_ARG_FILENAME, &o->pipeline_file,
      "Preprocessing pipeline JSON (default: the project's, chosen from the data)", "FILE" },
    { "augment", 'a', 0, G_OPTION_ARG_FILENAME, &o->augment_file,
      "Augmentation settings JSON (default: the project's, else none)", "FILE" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &o->epochs,
      "Passes over the training images (default: from the data, as in the workbench: 30 "
      "below 500 training images, 15 below 5,000, else 10; with a backbone 30, 20 and 15; with "
      "--resume: the new total)",
      "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &o->batch,
      "Images per step (default: from the data, 8 to 64, at least 8 steps per epoch)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &o->lr,
      "Learning rate (default 0.001; with a backbone 0.003, of the new head)", "LR" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &o->schedule,
      "Learning rate over the run: constant, step (x0.1 every 10 epochs) or cosine (down to 0 "
      "by the end; default)",
      "NAME" },
    { "warmup-epochs", 0, 0, G_OPTION_ARG_DOUBLE, &o->warmup,
      "Epochs to ramp the learning rate up at the start, at most half the run (default 1)", "E" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &o->optimizer, "adam (default), adamw or sgd",
      "NAME" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &o->weight_decay, "Weight decay (default 0)",
      "WD" },
    { "label-smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &o->smoothing, "Label smoothing (default 0)",
      "S" },
    { "patience", 0, 0, G_OPTION_ARG_INT, &o->patience,
      "Stop after this many epochs without a better validation loss; 0 never (default: "
      "max (5, epochs / 4), 0 without validation images)",
      "N" },
    { "class-weights", 'w', 0, G_OPTION_ARG_STRING, &o->weights,
      "none, auto (from the imbalance) or one number per class: 1,3.5,... (default: auto when "
      "the largest training class is over 3 times the smallest, else none)",
      "W" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &o->threads, "Compute threads (default: all cores)",
      "N" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &o->device,
      "Where to train: " SL_CLI_DEVICE_HELP "; see 'sightline-cli devices'", "DEVICE" },
    { "workers", 0, 0, G_OPTION_ARG_INT, &o->workers, "Image loading threads (default 2)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &o->seed, "Seed for weights and shuffling (default 1)",
      "N" },
    { "resume", 'r', 0, G_OPTION_ARG_STRING, &o->resume,
      "Continue RUN (run-N, N or latest) from its last checkpoint", "RUN" },
    { "no-feature-cache", 0, 0, G_OPTION_ARG_NONE, &o->no_feature_cache,
      "With a frozen backbone: run the frozen layers on every batch instead of once per image "
      "(slower; the same weights)",
      NULL },
    { "coreset-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &o->coreset_ratio,
      "Anomaly projects: the share of the good images' patches the memory bank keeps, above 0 "
      "and at most 1 (default 0.01)",
      "R" },
    { "target-false-reject", 0, 0, G_OPTION_ARG_DOUBLE, &o->target_false_reject,
      "Anomaly projects: the share of good parts the threshold may reject, above 0 and below "
      "0.5 (default: the project's, 0.01 unless set with 'sightline-cli threshold')",
      "R" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print the finished run as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT");

  g_option_context_set_summary (
      context, "Trains a model on the project's train split, validating on its val split after\n"
               "every epoch. Each epoch writes a checkpoint, so a run stopped by Ctrl+C or a\n"
               "crash continues with --resume RUN. The best epoch's weights are kept.\n"
               "On an anomaly project it fits an anomaly model on the good training images\n"
               "with a pretrained backbone (--model lite0|lite1|lite2, --input-size,\n"
               "--coreset-ratio) and sets its threshold from the good validation images at\n"
               "--target-false-reject; --resume fits a stopped run again.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, argc, argv, status))
    return FALSE;
  if (*argc != 2)
    *status = _sl_cli_usage ("train", "give the project");
  else if (!_sl_cli_device_valid (o->device))
    *status = _sl_cli_usage ("train", "--device takes " SL_CLI_DEVICE_HELP);
  else if (o->resume != NULL
           && (o->finetune != NULL || o->input_size != 0 || o->backbone_ratio != 0))
    *status = _sl_cli_usage ("train", "a resumed run keeps its recipe: --finetune, "
                                      "--input-size and --backbone-lr-ratio start new runs");
  else if (o->model_file != NULL && o->preset != NULL)
    *status = _sl_cli_usage ("train", "give either --model or --model-json, not both");
  else
    return TRUE;
  return FALSE;
}

/* The model option: a backbone ("lite0": config->backbone) or a preset, or the project's
 * default; the backbone options only with a backbone. */
static gboolean
resolve_model (SlProject *project, const TrainOptions *o, SlRunConfig *config, GError **error)
{
  g_autofree char *name = NULL;
  const char *backbone;

  if (o->model_file != NULL)
    name = NULL;
  else if (o->preset != NULL)
    name = g_strdup (o->preset);
  else
    {
      g_autofree char *why = NULL;

      name = sl_project_dup_default_model_why (project, &why);
      if (why != NULL) /* not silently another kind of model than last time */
        fprintf (o->json ? stderr : stdout, "%s\n", why);
    }
  backbone = name != NULL ? sl_backbone_canonical_name (name) : NULL;
  if (backbone == NULL && (o->finetune != NULL || o->input_size != 0 || o->backbone_ratio != 0))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "--finetune, --input-size and --backbone-lr-ratio apply to a pretrained "
                   "backbone (--model lite0), not to %s",
                   name != NULL ? name : "a model description");
      return FALSE;
    }
  g_free (config->preset);
  config->preset = backbone == NULL ? g_steal_pointer (&name) : NULL;
  if (backbone != NULL)
    {
      /* Said now, with the command that installs it, before any work. */
      g_autoptr (SlBackboneInfo) bb = sl_backbone_find (backbone, error);

      if (bb == NULL)
        return FALSE;
      config->backbone = g_strdup (bb->name);
    }
  return TRUE;
}

/* The backbone options over the defaults. */
static gboolean
apply_backbone_options (const TrainOptions *o, SlRunConfig *config, GError **error)
{
  if (o->finetune != NULL
      && !sl_finetune_from_string (o->finetune, &config->finetune, &config->finetune_blocks, error))
    return FALSE;
  if (o->input_size != 0)
    config->input_size = o->input_size;
  if (o->backbone_ratio != 0)
    {
      if (!(o->backbone_ratio > 0 && o->backbone_ratio <= 1))
        {
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                       "--backbone-lr-ratio is above 0 and at most 1, not %g", o->backbone_ratio);
          return FALSE;
        }
      config->backbone_lr_ratio = o->backbone_ratio;
    }
  return TRUE;
}

/* The recipe of a new run: the data's defaults, then what the options say. */
static gboolean
fill_config (SlProject *project, const TrainOptions *o, SlRunConfig *config, GError **error)
{
  if (!resolve_model (project, o, config, error))
    return FALSE;
  if (o->optimizer != NULL)
    {
      g_free (config->optimizer);
      config->optimizer = g_strdup (o->optimizer);
    }
  if (!apply_data_defaults (project, config, o->json ? stderr : stdout, error))
    return FALSE;
  if (o->epochs > 0)
    config->epochs = o->epochs;
  if (o->batch > 0)
    config->batch_size = o->batch;
  if (!apply_backbone_options (o, config, error))
    return FALSE;
  if (!isnan (o->lr))
    config->learning_rate = o->lr;
  config->weight_decay = o->weight_decay;
  config->label_smoothing = o->smoothing;
  if (o->patience >= 0)
    config->patience = o->patience;
  config->threads = o->threads;
  config->workers = o->workers;
  if (o->device != NULL)
    g_strlcpy (config->device, o->device, sizeof config->device);
  config->seed = (guint64) o->seed;
  if (o->warmup >= 0)
    config->warmup_epochs = o->warmup;
  if (o->schedule != NULL && !sl_lr_schedule_from_string (o->schedule, &config->schedule))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "--schedule is constant, step or cosine, not “%s”", o->schedule);
      return FALSE;
    }
  return (o->weights == NULL || parse_weights (o->weights, config, error))
         && read_optional (o->model_file, &config->model_json, error)
         && read_optional (o->pipeline_file, &config->pipeline_json, error)
         && read_optional (o->augment_file, &config->augment_json, error);
}

/* The recipe of an anomaly fit: what the options say; the classifier options do not apply. */
static gboolean
fill_anomaly_config (SlProject *project, const TrainOptions *o, SlRunConfig *config, GError **error)
{
  SlSplitConfig split;
  gint64 assigned = 0;

  if (o->model_file != NULL || o->finetune != NULL || o->backbone_ratio != 0
      || o->augment_file != NULL || o->weights != NULL)
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "This is an anomaly project: it fits on the good images with a pretrained "
                   "backbone, so --model-json, --finetune, --backbone-lr-ratio, --augment and "
                   "--class-weights do not apply");
      return FALSE;
    }
  /* Labelled images without a split are split as the workbench does (good 70/15/15, defects
   * never into training). */
  sl_split_config_init (&split);
  if (!sl_project_split (project, &split, &assigned, error))
    return FALSE;
  if (assigned > 0)
    fprintf (o->json ? stderr : stdout,
             "%" G_GINT64_FORMAT " labelled images had no split: they were split as the "
             "workbench does.\n",
             assigned);
  if (!_sl_cli_anomaly_config (o->preset, o->input_size, o->coreset_ratio, o->target_false_reject,
                               config, error))
    return FALSE;
  config->threads = o->threads;
  config->workers = o->workers;
  config->seed = (guint64) o->seed;
  if (o->device != NULL)
    g_strlcpy (config->device, o->device, sizeof config->device);
  if (o->pipeline_file != NULL)
    return g_file_get_contents (o->pipeline_file, &config->pipeline_json, NULL, error);
  return TRUE;
}

/* A job that resumes a run, or one for a new run. */
static SlTrainJob *
make_job (SlProject *project, const TrainOptions *o, GError **error)
{
  SlRunConfig config;
  SlTrainJob *job = NULL;

  if (o->resume != NULL)
    return sl_train_job_new_resume_on (project, o->resume, o->epochs, o->device, error);
  sl_run_config_init (&config);
  if (sl_project_get_kind (project) == SL_PROJECT_KIND_ANOMALY)
    {
      /* The project's kind decides: its good images fit an anomaly model. */
      if (fill_anomaly_config (project, o, &config, error))
        job = sl_train_job_new (project, &config, error);
      sl_run_config_clear (&config);
      return job;
    }
  if (o->coreset_ratio != 0 || o->target_false_reject != 0)
    {
      sl_run_config_clear (&config);
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "--coreset-ratio and --target-false-reject are for anomaly projects "
                   "(sightline-cli new PROJECT --kind anomaly)");
      return NULL;
    }
  if (fill_config (project, o, &config, error))
    job = sl_train_job_new (project, &config, error);
  sl_run_config_clear (&config);
  return job;
}

/* For a backbone run: "  starts from efficientnet-lite0 pretrained on ImageNet; 128 px input,
 * trains the new head only"; NULL for others. */
static char *
describe_backbone (const SlRunInfo *run)
{
  SlRunConfig c;
  char *out;

  if (run->backbone == NULL || !sl_run_config_from_json (run->config_json, &c, NULL, NULL))
    return NULL;
  if (c.anomaly)
    {
      g_autofree char *share = c.coreset_ratio > 0 ? g_strdup_printf ("%g", c.coreset_ratio)
                                                   : g_strdup ("the default share");

      out = g_strdup_printf ("  anomaly model on %s pretrained on ImageNet; %d px input, fitted "
                             "on the good training images (memory bank: %s of their patches; "
                             "target false-reject rate %g)",
                             run->backbone, c.input_size, share, c.target_false_reject);
    }
  else if (c.finetune == SL_FINETUNE_LAST_BLOCKS && c.finetune_blocks == 1)
    out = g_strdup_printf ("  starts from %s pretrained on ImageNet; %d px input, trains the new "
                           "head and the backbone's last block",
                           run->backbone, c.input_size);
  else if (c.finetune == SL_FINETUNE_LAST_BLOCKS)
    out = g_strdup_printf ("  starts from %s pretrained on ImageNet; %d px input, trains the new "
                           "head and the backbone's last %d blocks",
                           run->backbone, c.input_size, c.finetune_blocks);
  else
    out = g_strdup_printf ("  starts from %s pretrained on ImageNet; %d px input, trains %s",
                           run->backbone, c.input_size,
                           c.finetune == SL_FINETUNE_ALL ? "every layer" : "the new head only");
  sl_run_config_clear (&c);
  return out;
}

static void
print_start (SlTrainJob *job, const TrainOptions *o, const SlRunInfo *run)
{
  g_autofree char *skipped = sl_train_job_dup_skipped_note (job);
  g_autofree char *backbone = run != NULL ? describe_backbone (run) : NULL;
  const char *model = run == NULL ? "" : run->preset != NULL ? run->preset : "custom model";
  gsize params = sl_train_job_get_param_count (job);
  gsize trainable = sl_train_job_get_trainable_param_count (job);

  if (!o->json && trainable < params)
    printf ("%s %s %s: %zu weights, %zu of them trained, %lld training and %lld validation "
            "images\n",
            o->resume ? "Resuming" : "Training", model, run != NULL ? run->name : "", params,
            trainable, (long long) sl_train_job_get_train_images (job),
            (long long) sl_train_job_get_val_images (job));
  else if (!o->json)
    printf ("%s %s %s: %zu weights, %lld training and %lld validation images\n",
            o->resume ? "Resuming" : "Training", model, run != NULL ? run->name : "", params,
            (long long) sl_train_job_get_train_images (job),
            (long long) sl_train_job_get_val_images (job));
  if (!o->json && backbone != NULL)
    printf ("%s\n", backbone);
  if (!o->json && backbone != NULL && o->resume == NULL && o->preset == NULL)
    printf ("  (the project's default model; --model small-bn trains from scratch)\n");
  if (!o->json && sl_train_job_get_first_epoch (job) > 0)
    printf ("  continuing after epoch %d\n", sl_train_job_get_first_epoch (job));
  /* On stderr, so it is seen with --json too; the run's message keeps it. */
  if (skipped != NULL)
    fprintf (stderr, "sightline-cli train: %s (see 'sightline-cli stats')\n", skipped);
}

/* What the feature cache did, for train --json: "feature_cache": null when the run trained
 * from images. */
static cJSON *
add_feature_stats (cJSON *doc, SlTrainJob *job)
{
  SlFeatureCacheStats s;
  cJSON *cache;

  sl_train_job_get_feature_stats (job, &s);
  if (!s.used)
    {
      cJSON_AddNullToObject (doc, "feature_cache");
      return doc;
    }
  cache = cJSON_AddObjectToObject (doc, "feature_cache");
  cJSON_AddNumberToObject (cache, "images", (double) s.images);
  cJSON_AddNumberToObject (cache, "seconds", s.seconds);
  cJSON_AddNumberToObject (cache, "memory_bytes", (double) s.memory_bytes);
  cJSON_AddNumberToObject (cache, "disk_bytes", (double) s.disk_bytes);
  return doc;
}

/* Runs the job with a progress line (Ctrl+C stops it after the current step). */
static gboolean
run_job (SlTrainJob *job, gboolean json, gboolean anomaly, GError **error)
{
  TrainUi ui = { 0 };
  gboolean ok;

  _sl_cli_catch_interrupt ();
  _sl_cli_progress_init (&ui.bar, json);
  ui.job = job;
  ui.json = json;
  ui.anomaly = anomaly;
  ui.fit.bar = &ui.bar;
  ui.fit.json = json;
  g_mutex_init (&ui.lock);
  sl_train_job_set_progress_func (job, train_progress, &ui);
  ok = sl_train_job_run (job, error);
  _sl_cli_progress_clear (&ui.bar);
  g_mutex_clear (&ui.lock);
  return ok;
}

static void
print_finished (const SlRunInfo *run, const char *project_arg)
{
  printf ("%s %s: best epoch %d", run->name,
          run->status == SL_RUN_STOPPED_EARLY ? "stopped early" : "finished", run->best_epoch + 1);
  if (!isnan (run->best_val_accuracy))
    printf (", validation loss %.4f, accuracy %.4f", run->best_val_loss, run->best_val_accuracy);
  printf ("\nEvaluate it with 'sightline-cli eval %s --run %s'\n", project_arg, run->name);
}

int
_sl_cli_train (int argc, char **argv)
{
  TrainOptions o = { .patience = -1, .workers = 2, .lr = NAN, .warmup = -1, .seed = 1 };
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SlTrainJob) job = NULL;
  g_autoptr (SlRunInfo) run = NULL;
  gboolean ok, anomaly = FALSE;
  char id[32];
  int status = 1;

  if (!parse_train_options (&argc, &argv, &o, &status))
    goto out;
  status = 1;
  if ((project = _sl_cli_open_project ("train", argv[1])) == NULL)
    goto out;
  if ((job = make_job (project, &o, &error)) == NULL)
    {
      status = _sl_cli_fail ("train", error);
      goto out;
    }
  if (o.no_feature_cache)
    sl_train_job_set_feature_cache (job, FALSE, -1);
  g_snprintf (id, sizeof id, "%lld", (long long) sl_train_job_get_run_id (job));
  {
    g_autoptr (SlRunInfo) started = sl_project_get_run (project, id, NULL);

    anomaly = sl_run_info_is_anomaly (started);
    if (anomaly && !o.json)
      _sl_cli_anomaly_print_start (job, started, o.resume != NULL);
    else if (!anomaly)
      print_start (job, &o, started);
  }
  ok = run_job (job, o.json, anomaly, &error);
  run = sl_project_get_run (project, id, NULL);
  if (o.json && run != NULL && anomaly)
    _sl_cli_print_json (
        _sl_cli_anomaly_add_json (project, run, _sl_cli_run_json (project, run, TRUE)));
  else if (o.json && run != NULL)
    _sl_cli_print_json (add_feature_stats (_sl_cli_run_json (project, run, TRUE), job));
  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    fprintf (stderr,
             "sightline-cli train: stopped; continue with 'sightline-cli train %s "
             "--resume run-%s'\n",
             argv[1], id);
  else if (!ok)
    _sl_cli_fail ("train", error);
  else
    {
      if (!o.json && run != NULL && anomaly)
        _sl_cli_anomaly_print_finished (project, run, argv[1]);
      else if (!o.json && run != NULL)
        print_finished (run, argv[1]);
      status = 0;
    }
out:
  train_options_clear (&o);
  return status;
}

static void
print_run (SlProject *project, const SlRunInfo *run)
{
  g_autoptr (GArray) metrics = sl_project_get_run_metrics (project, run->id, NULL);
  g_autofree char *backbone = describe_backbone (run);

  printf ("%s  %s  %s  created %s\n", run->name, sl_run_status_to_string (run->status),
          run->preset ? run->preset : "custom model", run->created);
  if (backbone != NULL)
    printf ("%s\n", backbone);
  if (run->message != NULL)
    printf ("  %s\n", run->message);
  if (sl_run_info_is_anomaly (run))
    printf ("  %s, %lld good training and %lld validation images, classes:",
            run->epochs_done > 0 ? "fitted" : "not fitted", (long long) run->train_images,
            (long long) run->val_images);
  else
    printf (
        "  %d of %d epochs, %lld training and %lld validation images, classes:", run->epochs_done,
        run->epochs, (long long) run->train_images, (long long) run->val_images);
  for (guint i = 0; i < run->class_names->len; i++)
    printf ("%s %s", i ? "," : "", (const char *) g_ptr_array_index (run->class_names, i));
  printf ("\n  data set %.16s…\n", run->dataset_hash);
  if (sl_run_info_is_anomaly (run))
    {
      /* One fit, no loss: its time and how its threshold decides the validation images. */
      for (guint i = 0; metrics != NULL && i < metrics->len; i++)
        {
          const SlEpochMetrics *m = &g_array_index (metrics, SlEpochMetrics, i);

          printf ("  fitted in %.1f s", m->seconds);
          if (!isnan (m->val_accuracy))
            printf (", %.1f %% of the validation images decided right at its threshold",
                    m->val_accuracy * 100);
          printf ("\n");
        }
      return;
    }
  printf ("  %5s %10s %9s %10s %9s %9s %8s\n", "epoch", "train loss", "accuracy", "val loss",
          "accuracy", "images/s", "seconds");
  for (guint i = 0; metrics != NULL && i < metrics->len; i++)
    {
      const SlEpochMetrics *m = &g_array_index (metrics, SlEpochMetrics, i);
      printf ("  %5d %10.4f %9.4f %10.4f %9.4f %9.0f %8.1f%s\n", m->epoch + 1, m->train_loss,
              m->train_accuracy, m->val_loss, m->val_accuracy, m->images_per_s, m->seconds,
              m->epoch == run->best_epoch ? "  best" : "");
    }
}

int
_sl_cli_runs (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the runs as JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PROJECT [RUN]");
  g_autoptr (SlProject) project = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) runs = NULL;
  int status;

  g_option_context_set_summary (context, "Lists the project's training runs, or shows one run's "
                                         "recipe and metrics per epoch.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!_sl_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2 && argc != 3)
    return _sl_cli_usage ("runs", "give the project and optionally a run");
  if ((project = _sl_cli_open_project ("runs", argv[1])) == NULL)
    return 1;
  if (argc == 3)
    {
      g_autoptr (SlRunInfo) run = sl_project_get_run (project, argv[2], &error);
      if (run == NULL)
        return _sl_cli_fail ("runs", error);
      if (json)
        _sl_cli_print_json (_sl_cli_run_json (project, run, TRUE));
      else
        print_run (project, run);
      return 0;
    }
  if ((runs = sl_project_list_runs (project, &error)) == NULL)
    return _sl_cli_fail ("runs", error);
  if (json)
    {
      cJSON *doc = cJSON_CreateArray ();
      for (guint i = 0; i < runs->len; i++)
        cJSON_AddItemToArray (doc, _sl_cli_run_json (project, g_ptr_array_index (runs, i), FALSE));
      _sl_cli_print_json (doc);
      return 0;
    }
  if (runs->len == 0)
    printf ("No runs yet: start one with 'sightline-cli train %s'.\n", argv[1]);
  else
    printf ("%-8s %-14s %-18s %7s %10s %10s  %s\n", "run", "status", "model", "epochs", "val loss",
            "val acc", "created");
  for (guint i = 0; i < runs->len; i++)
    {
      const SlRunInfo *r = g_ptr_array_index (runs, i);
      g_autofree char *done = g_strdup_printf ("%d/%d", r->epochs_done, r->epochs);
      g_autofree char *loss
          = isnan (r->best_val_loss) ? g_strdup ("-") : g_strdup_printf ("%.4f", r->best_val_loss);
      g_autofree char *acc = isnan (r->best_val_accuracy)
                                 ? g_strdup ("-")
                                 : g_strdup_printf ("%.4f", r->best_val_accuracy);

      printf ("%-8s %-14s %-18s %7s %10s %10s  %s\n", r->name, sl_run_status_to_string (r->status),
              r->preset ? r->preset : "custom", done, loss, acc, r->created);
    }
  return 0;
}
