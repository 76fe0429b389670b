/* sl-run-diff.c: what two training runs did differently, and how they ended, for the Train page's comparison. */
#include "sl-run-diff.h"

#include "sl-model-words.h"

#include <cjson/cJSON.h>
#include <math.h>

typedef enum
{
  SHOW_TEXT,
  SHOW_NUMBER,   /* %g */
  SHOW_PATIENCE, /* 0 is "off" */
  SHOW_AUGMENT,  /* null is "off" */
  SHOW_PIPELINE, /* "N steps, W × H" */
  SHOW_MODEL,    /* the whole recipe: its backbone, preset or "custom model" */
  SHOW_FINETUNE, /* "head" is "new classifier only" */
  SHOW_SIZE,     /* 0 is "automatic" */
} ShowKind;

static const struct
{
  const char *label;
  const char *key;
  ShowKind kind;
} settings[] = {
  { "Model", NULL, SHOW_MODEL },
  { "Fine-tuning", "finetune", SHOW_FINETUNE },
  { "Image size", "input_size", SHOW_SIZE },
  { "Backbone rate ratio", "backbone_lr_ratio", SHOW_NUMBER },
  { "Input", "pipeline", SHOW_PIPELINE },
  { "Epochs planned", "epochs", SHOW_NUMBER },
  { "Batch size", "batch_size", SHOW_NUMBER },
  { "Learning rate", "learning_rate", SHOW_NUMBER },
  { "Schedule", "schedule", SHOW_TEXT },
  { "Warm-up epochs", "warmup_epochs", SHOW_NUMBER },
  { "Optimizer", "optimizer", SHOW_TEXT },
  { "Momentum", "momentum", SHOW_NUMBER },
  { "Weight decay", "weight_decay", SHOW_NUMBER },
  { "Label smoothing", "label_smoothing", SHOW_NUMBER },
  { "Class weights", "class_weights", SHOW_TEXT },
  { "Early stopping", "patience", SHOW_PATIENCE },
  { "Augmentation", "augment", SHOW_AUGMENT },
  { "Seed", "seed", SHOW_TEXT },
};

static void
row_free (gpointer data)
{
  SlRunDiffRow *row = data;

  g_free (row->label);
  g_free (row->a);
  g_free (row->b);
  g_free (row);
}

static void
add_row (GPtrArray *rows, const char *label, char *a, char *b, gboolean is_result)
{
  SlRunDiffRow *row = g_new0 (SlRunDiffRow, 1);

  row->label = g_strdup (label);
  row->a = a;
  row->b = b;
  row->is_result = is_result;
  g_ptr_array_add (rows, row);
}

static char *
show_pipeline (const cJSON *pipeline)
{
  const cJSON *input = cJSON_GetObjectItemCaseSensitive (pipeline, "input");
  const cJSON *steps = cJSON_GetObjectItemCaseSensitive (pipeline, "steps");
  int w = cJSON_GetNumberValue (cJSON_GetObjectItemCaseSensitive (input, "width"));
  int h = cJSON_GetNumberValue (cJSON_GetObjectItemCaseSensitive (input, "height"));
  int c = cJSON_GetNumberValue (cJSON_GetObjectItemCaseSensitive (input, "channels"));
  int n = cJSON_GetArraySize (steps);

  if (!cJSON_IsObject (input))
    return g_strdup ("—");
  return g_strdup_printf ("%d × %d %s, %d step%s", w, h, c == 1 ? "gray" : "colour", n,
                          n == 1 ? "" : "s");
}

static char *
show_model (const cJSON *recipe)
{
  const cJSON *backbone = cJSON_GetObjectItemCaseSensitive (recipe, "backbone");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive (backbone, "name");
  const cJSON *preset = cJSON_GetObjectItemCaseSensitive (recipe, "preset");

  if (cJSON_IsString (name))
    return g_strdup (sl_model_words_backbone_compact (name->valuestring));
  return g_strdup (cJSON_IsString (preset) ? preset->valuestring : "custom model");
}

static char *
show_finetune (const cJSON *item)
{
  SlFinetune mode;
  int blocks;

  if (!cJSON_IsString (item))
    return g_strdup ("—");
  if (!sl_finetune_from_string (item->valuestring, &mode, &blocks, NULL))
    return g_strdup (item->valuestring);
  return sl_model_words_finetune (mode, blocks);
}

static char *
show (const cJSON *item, ShowKind kind)
{
  if (kind == SHOW_MODEL)
    return show_model (item);
  if (kind == SHOW_FINETUNE)
    return show_finetune (item);
  if (kind == SHOW_SIZE && cJSON_IsNumber (item))
    return item->valuedouble > 0 ? g_strdup_printf ("%g px", item->valuedouble)
                                 : g_strdup ("automatic");
  if (kind == SHOW_AUGMENT)
    return g_strdup (item == NULL || cJSON_IsNull (item) ? "off" : "on");
  if (kind == SHOW_PIPELINE)
    return show_pipeline (item);
  if (item == NULL || cJSON_IsNull (item))
    return g_strdup ("—");
  if (cJSON_IsString (item))
    return g_strdup (item->valuestring);
  if (kind == SHOW_PATIENCE && item->valuedouble == 0)
    return g_strdup ("off");
  if (kind == SHOW_PATIENCE)
    return g_strdup_printf ("after %g epochs", item->valuedouble);
  if (cJSON_IsNumber (item))
    return g_strdup_printf ("%g", item->valuedouble);
  return cJSON_PrintUnformatted (item);
}

/* A missing key (a run stored by an older version) equals null. */
static gboolean
same_item (const cJSON *a, const cJSON *b)
{
  gboolean a_none = a == NULL || cJSON_IsNull (a), b_none = b == NULL || cJSON_IsNull (b);

  return (a_none && b_none) || cJSON_Compare (a, b, TRUE);
}

static char *
percent (double value)
{
  return isnan (value) ? g_strdup ("—") : g_strdup_printf ("%.1f %%", 100.0 * value);
}

static char *
number (double value)
{
  return isnan (value) ? g_strdup ("—") : g_strdup_printf ("%.4f", value);
}

GPtrArray *
sl_run_diff (const SlRunInfo *a, const SlRunInfo *b, guint *n_same)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func (row_free);
  cJSON *ja = cJSON_Parse (a->config_json != NULL ? a->config_json : "{}");
  cJSON *jb = cJSON_Parse (b->config_json != NULL ? b->config_json : "{}");
  guint same = 0;

  g_return_val_if_fail (a != NULL && b != NULL, rows);

  add_row (rows, "Best validation accuracy",
           percent (a->best_epoch >= 0 ? a->best_val_accuracy : NAN),
           percent (b->best_epoch >= 0 ? b->best_val_accuracy : NAN), TRUE);
  add_row (rows, "Best validation loss", number (a->best_epoch >= 0 ? a->best_val_loss : NAN),
           number (b->best_epoch >= 0 ? b->best_val_loss : NAN), TRUE);
  add_row (rows, "Epochs trained", g_strdup_printf ("%d", a->epochs_done),
           g_strdup_printf ("%d", b->epochs_done), TRUE);
  add_row (rows, "Training images", g_strdup_printf ("%" G_GINT64_FORMAT, a->train_images),
           g_strdup_printf ("%" G_GINT64_FORMAT, b->train_images), TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      const cJSON *va
          = settings[i].key != NULL ? cJSON_GetObjectItemCaseSensitive (ja, settings[i].key) : ja;
      const cJSON *vb
          = settings[i].key != NULL ? cJSON_GetObjectItemCaseSensitive (jb, settings[i].key) : jb;
      g_autofree char *sa = settings[i].key == NULL ? show (va, settings[i].kind) : NULL;
      g_autofree char *sb = settings[i].key == NULL ? show (vb, settings[i].kind) : NULL;

      /* The model is compared as shown: a backbone's identity, else the preset. */
      if (settings[i].key == NULL ? g_str_equal (sa, sb) : same_item (va, vb))
        same++;
      else
        add_row (rows, settings[i].label, show (va, settings[i].kind), show (vb, settings[i].kind),
                 FALSE);
    }
  cJSON_Delete (ja);
  cJSON_Delete (jb);
  if (n_same != NULL)
    *n_same = same;
  return rows;
}
