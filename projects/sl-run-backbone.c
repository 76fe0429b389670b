/* sl-run-backbone.c: runs from a pretrained backbone: defaults, input, pipeline, identity. */
#define G_LOG_DOMAIN "Sightline-Projects"

#include "sl-run-private.h"

#include <math.h>

/* The recipe of a backbone run when nobody tunes it. Starting points from common transfer-
 * learning practice: a linear classifier on frozen ImageNet features trains in a few tens of
 * epochs with Adam (the Keras and PyTorch transfer-learning guides use 1e-3), and fine-tuned
 * backbone layers learn at about a tenth of the head's rate so that the pretrained features
 * are adjusted, not overwritten. The head's rate is measured here (Lite0, head only, 128 px,
 * Fashion-MNIST, 1,000 test images; test accuracy at 1e-3 / 3e-3 / 1e-2): 10 images per class
 * 0.673 / 0.737 / 0.751, 30 per class 0.807 / 0.819 / 0.818, 85 per class 0.845 / 0.841 /
 * 0.844; last:3 at 10 per class 0.731 / 0.729. 3e-3 gains most where data is scarcest and
 * costs nothing elsewhere. bench/ measures on more data sets (issue 16) and is where changes
 * to these numbers come from.
 * The mode, measured once fine-tuned batch-norms keep their running statistics
 * (bench/compare-transfer.sh, 128 px, 30 epochs, seed 1, test accuracy; from scratch, best
 * preset, bench's runs: Fashion-MNIST 0.729 / 0.769 at 10 / 30 per class):
 *   Fashion-MNIST 10/class: head 0.729 (3 s) | last:3 0.755 | last:6 0.769 (65 s) |
 *     all 0.787 (183 s; backbone ratio 0.03 0.769, 0.3 0.770, 0.3 with head 1e-3 0.775,
 *     1 diverges to 0.100) | all at 224 px 0.792 (396 s);
 *   Fashion-MNIST 30/class: head 0.770 (6 s) | all 0.830 (520 s);
 *   photos 10/class: head 0.829 (4 s) | all 0.769 (125 s), ratio 0.03 0.806;
 *   photos 30/class: head 0.797 (5 s) | all 0.786 (201 s), ratio 0.03 0.831 (155 s).
 * Fine-tuning everything gains 4 to 6 points on gray Fashion-MNIST, far from ImageNet, but on
 * photographs it loses 1 to 6 at ratio 0.1 and gains or loses (+3.4 / -2.3) at 0.03, at 30 to
 * 90 times the time: head only stays the default, no mode of "all" wins everywhere; the ratio
 * 0.1 is the best of 0.03 / 0.1 / 0.3 / 1 on Fashion-MNIST (1 diverges). */
#define BACKBONE_FINETUNE SL_FINETUNE_HEAD
#define BACKBONE_HEAD_LR  3e-3
#define BACKBONE_LR_RATIO 0.1
/* Epochs by the number of training images: with cached features an epoch of a frozen
 * backbone costs little, and small data sets need more passes to settle. */
#define BACKBONE_EPOCHS_FEW  30 /* below BACKBONE_FEW_IMAGES */
#define BACKBONE_EPOCHS_SOME 20 /* below BACKBONE_SOME_IMAGES */
#define BACKBONE_EPOCHS_MANY 15
#define BACKBONE_FEW_IMAGES  500
#define BACKBONE_SOME_IMAGES 5000

/* Input sizes a backbone model takes (issue 16: 128 to 320 pixels, multiples of 32). */
#define BACKBONE_MIN_INPUT  128
#define BACKBONE_MAX_INPUT  320
#define BACKBONE_INPUT_STEP 32

void
sl_run_config_apply_backbone_defaults (SlRunConfig *c, gint64 train_images)
{
  c->finetune = BACKBONE_FINETUNE;
  c->finetune_blocks = 0;
  c->learning_rate = BACKBONE_HEAD_LR;
  c->backbone_lr_ratio = BACKBONE_LR_RATIO;
  c->epochs = train_images < 0                      ? BACKBONE_EPOCHS_SOME
              : train_images < BACKBONE_FEW_IMAGES  ? BACKBONE_EPOCHS_FEW
              : train_images < BACKBONE_SOME_IMAGES ? BACKBONE_EPOCHS_SOME
                                                    : BACKBONE_EPOCHS_MANY;
}

char *
sl_project_dup_default_model (SlProject *self)
{
  return sl_project_dup_default_model_why (self, NULL);
}

char *
sl_project_dup_default_model_why (SlProject *self, char **why)
{
  g_autoptr (SlRunInfo) latest = sl_project_get_run (self, "latest", NULL);
  g_autoptr (SlBackboneInfo) bb = NULL;
  g_autoptr (GError) error = NULL;
  const char *name = "efficientnet-lite0";

  if (why != NULL)
    *why = NULL;
  if (latest != NULL && latest->backbone == NULL)
    return g_strdup (latest->preset != NULL ? latest->preset : "small-bn");
  if (latest != NULL)
    name = latest->backbone;
  /* A backbone that is not (or no longer) installed: the preset that needs none. Only a
   * backbone the latest run used is worth a word; a new project simply starts small. */
  if ((bb = sl_backbone_find (name, &error)) == NULL)
    {
      if (why != NULL && latest != NULL)
        *why = g_strdup_printf ("The latest run (%s) trained %s, which is no longer installed, "
                                "so this one trains small-bn from scratch. %s",
                                latest->name, name, error->message);
      return g_strdup ("small-bn");
    }
  return g_strdup (bb->name);
}

char *
_sl_run_config_backbone_name (const char *config_json)
{
  cJSON *doc = config_json != NULL ? cJSON_Parse (config_json) : NULL;
  const cJSON *bb = cJSON_GetObjectItemCaseSensitive (doc, "backbone");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive (bb, "name");
  char *out = cJSON_IsString (name) ? g_strdup (name->valuestring) : NULL;

  cJSON_Delete (doc);
  return out;
}

char *
_sl_run_backbone_identity_json (const SlBackboneInfo *bb)
{
  cJSON *doc = cJSON_CreateObject ();
  cJSON *source = bb->source_json != NULL ? cJSON_Parse (bb->source_json) : NULL;
  char *printed, *out;

  cJSON_AddStringToObject (doc, "name", bb->name);
  if (bb->title != NULL)
    cJSON_AddStringToObject (doc, "title", bb->title);
  if (bb->license != NULL)
    cJSON_AddStringToObject (doc, "license", bb->license);
  cJSON_AddNumberToObject (doc, "native_size", bb->native_size);
  if (bb->parameters_sha256 != NULL)
    cJSON_AddStringToObject (doc, "parameters_sha256", bb->parameters_sha256);
  cJSON_AddItemToObject (doc, "source", source != NULL ? source : cJSON_CreateNull ());
  printed = cJSON_PrintUnformatted (doc);
  out = g_strdup (printed);
  cJSON_free (printed);
  cJSON_Delete (doc);
  return out;
}

/* The median of the longer side of the labelled images in the train and validation splits;
 * 0 when there are none. */
static int
median_image_side (SlProject *db)
{
  g_autoptr (sqlite3_stmt) stmt = _sl_project_prepare (
      db,
      "SELECT MAX (width, height) AS side FROM images WHERE class_id IS NOT NULL AND ignored = 0 "
      "AND split > 0 ORDER BY side LIMIT 1 OFFSET (SELECT COUNT (*) / 2 FROM images WHERE "
      "class_id IS NOT NULL AND ignored = 0 AND split > 0)",
      NULL);

  return stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : 0;
}

int
_sl_run_backbone_input_size (SlProject *db, const SlRunConfig *c, const SlBackboneInfo *bb,
                             GError **error)
{
  int side;

  if (c->input_size != 0)
    {
      /* The network halves the size five times: multiples of 32 keep every stage whole (the
       * backbone's own size, 240 for Lite1, is allowed too). */
      if (c->input_size < BACKBONE_MIN_INPUT || c->input_size > BACKBONE_MAX_INPUT
          || (c->input_size % BACKBONE_INPUT_STEP != 0 && c->input_size != bb->native_size))
        {
          g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                       "The input size of a pretrained backbone is %d to %d pixels in steps of "
                       "%d (or %s's own %d), not %d",
                       BACKBONE_MIN_INPUT, BACKBONE_MAX_INPUT, BACKBONE_INPUT_STEP, bb->name,
                       bb->native_size, c->input_size);
          return -1;
        }
      return c->input_size;
    }
  /* Small images stay small: on 128-pixel photo crops (10 per class, head only) 128 px was
   * 3 points more accurate than 224 (bench/compare-transfer.sh; on 28-pixel Fashion-MNIST
   * 224 was 3 points ahead, so neither size wins everywhere), and it costs a third. */
  side = median_image_side (db);
  if (side > 0 && side <= SL_BACKBONE_SMALL_INPUT)
    return SL_BACKBONE_SMALL_INPUT;
  return bb->native_size > 0 ? bb->native_size : 224;
}

char *
_sl_run_backbone_pipeline_json (const char *pipeline_json, int size, GError **error)
{
  sl_pipeline *pipeline = NULL;
  sl_input_spec spec;
  sl_error err = { 0 };
  char *json, *out;

  if (sl_pipeline_from_json (pipeline_json, &pipeline, &err) != SL_OK)
    {
      _sl_project_set_runtime_error (error, &err, "The pipeline is not valid");
      return NULL;
    }
  /* The project's steps stay; the input is what the backbone's weights expect:
   * (pixel - 127) / 128 on every channel. Gray data stays gray: with the same mean and
   * std on every channel, the stem's filters summed over colour give exactly what the
   * RGB stem gives on the gray image repeated three times, at a third of the cost. */
  sl_pipeline_get_input (pipeline, &spec);
  spec.width = spec.height = size;
  for (int c = 0; c < 3; c++)
    {
      spec.mean[c] = 127.0f / 255.0f;
      spec.std[c] = 128.0f / 255.0f;
    }
  if (sl_pipeline_set_input (pipeline, &spec, &err) != SL_OK)
    {
      sl_pipeline_free (pipeline);
      _sl_project_set_runtime_error (error, &err, "Could not set the backbone's input");
      return NULL;
    }
  json = sl_pipeline_to_json (pipeline);
  out = g_strdup (json);
  sl_free (json);
  sl_pipeline_free (pipeline);
  return out;
}

sl_model *
_sl_run_backbone_model_new (const SlBackboneInfo *bb, const SlRunConfig *c,
                            const sl_input_spec *input, int classes, GError **error)
{
  SlTransferOptions o = {
    .classes = classes,
    .channels = input->channels,
    .height = input->height,
    .width = input->width,
    .finetune = c->finetune,
    .finetune_blocks = c->finetune_blocks,
    .backbone_lr_ratio = c->backbone_lr_ratio,
  };

  if (!(c->backbone_lr_ratio > 0 && c->backbone_lr_ratio <= 1))
    {
      g_set_error (error, SL_PROJECT_ERROR, SL_PROJECT_ERROR_INVALID,
                   "The backbone's learning rate ratio must be above 0 and at most 1, not %g",
                   c->backbone_lr_ratio);
      return NULL;
    }
  return sl_backbone_transfer_model_new (bb, &o, c->seed, error);
}
