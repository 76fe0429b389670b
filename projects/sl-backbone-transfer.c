/* sl-backbone-transfer.c: a classifier on a pretrained backbone, frozen per fine-tuning mode. */
#include "sl-backbone-private.h"
#include "sl-classifier.h"

#include <string.h>

static gboolean
check_options (const SlBackboneInfo *bb, const SlTransferOptions *o, int *h, int *w, double *ratio,
               GError **error)
{
  *h = o->height > 0 ? o->height : bb->native_size;
  *w = o->width > 0 ? o->width : bb->native_size;
  *ratio = o->backbone_lr_ratio > 0 ? o->backbone_lr_ratio : 0.1;
  if (o->classes < 2)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID,
                   "A classifier needs at least 2 classes, not %d", o->classes);
      return FALSE;
    }
  if (o->channels != 1 && o->channels != 3)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID,
                   "A backbone takes 1 (gray) or 3 (colour) channels, not %d", o->channels);
      return FALSE;
    }
  if (!(*ratio <= 1.0))
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID,
                   "The backbone's learning-rate ratio must be above 0 and at most 1, not %g",
                   *ratio);
      return FALSE;
    }
  if (o->finetune == SL_FINETUNE_LAST_BLOCKS && o->finetune_blocks < 1)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID,
                   "Fine-tuning the last blocks needs a count of at least 1 (last:N)");
      return FALSE;
    }
  return TRUE;
}

static int
block_of (const char *name)
{
  return name != NULL && g_str_has_prefix (name, "_blocks.") ? atoi (name + 8) : -1;
}

/* Marks the frozen prefix, the learning-rate scale of the trainable backbone layers and their
 * batch-norms' running statistics. The new head is "_dropout" and "_fc"; everything before it
 * is the backbone. */
static gboolean
apply_finetune (cJSON *layers, const SlBackboneInfo *bb, const SlTransferOptions *o, double ratio,
                GError **error)
{
  int n_blocks = 0, first_trainable_block;
  gboolean frozen = o->finetune != SL_FINETUNE_ALL, head = FALSE;
  cJSON *l;

  cJSON_ArrayForEach (l, layers)
  {
    int b = block_of (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (l, "name")));
    n_blocks = MAX (n_blocks, b + 1);
  }
  if (o->finetune == SL_FINETUNE_LAST_BLOCKS && o->finetune_blocks > n_blocks)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID,
                   "%s has %d blocks: fine-tune the last 1 to %d (last:N), or all", bb->title,
                   n_blocks, n_blocks);
      return FALSE;
    }
  first_trainable_block
      = o->finetune == SL_FINETUNE_LAST_BLOCKS ? n_blocks - o->finetune_blocks : G_MAXINT;
  cJSON_ArrayForEach (l, layers)
  {
    const char *name = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (l, "name"));
    const char *type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (l, "type"));

    if (name != NULL && (strcmp (name, "_dropout") == 0 || strcmp (name, "_fc") == 0))
      head = TRUE;
    if (frozen && !head
        && (block_of (name) >= first_trainable_block
            || (name != NULL && strcmp (name, "_conv_head") == 0
                && o->finetune == SL_FINETUNE_LAST_BLOCKS)))
      frozen = FALSE;
    if (head)
      continue;
    if (frozen)
      {
        cJSON_AddBoolToObject (l, "frozen", true);
        continue;
      }
    if (ratio != 1.0 && (strcmp (type, "conv2d") == 0 || strcmp (type, "batchnorm") == 0))
      cJSON_AddNumberToObject (l, "lr_scale", ratio);
    /* The pretrained batch-norms keep normalising with their ImageNet statistics while gamma
     * and beta learn: small batches' own statistics are too noisy, and updating the running
     * ones from them makes the fine-tuned network evaluate far worse than it trained. */
    if (strcmp (type, "batchnorm") == 0)
      cJSON_AddStringToObject (l, "statistics", "running");
  }
  return TRUE;
}

char *
sl_backbone_transfer_json (const SlBackboneInfo *bb, const SlTransferOptions *opts, GError **error)
{
  sl_preset_options po;
  sl_error err = { 0 };
  char *json = NULL, *out;
  double ratio;
  int h, w;
  cJSON *root;

  g_return_val_if_fail (bb != NULL && opts != NULL, NULL);
  if (!check_options (bb, opts, &h, &w, &ratio, error))
    return NULL;
  sl_preset_options_init (&po);
  po.channels = opts->channels;
  po.height = h;
  po.width = w;
  po.classes = opts->classes;
  if (sl_preset_json (bb->name, &po, &json, &err) != SL_OK)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID, "%s", err.message);
      return NULL;
    }
  root = cJSON_Parse (json);
  sl_free (json);
  if (!apply_finetune (cJSON_GetObjectItemCaseSensitive (root, "layers"), bb, opts, ratio, error))
    {
      cJSON_Delete (root);
      return NULL;
    }
  json = cJSON_PrintUnformatted (root);
  cJSON_Delete (root);
  out = g_strdup (json);
  cJSON_free (json);
  return out;
}

/* Copies the backbone's weights into the transfer model: everything before the head as is,
 * the stem's filters summed over the colour channels for gray input. */
static gboolean
copy_weights (sl_model *model, const sl_model *src, int channels, GError **error)
{
  const float *sp = sl_model_params (src), *ss = sl_model_state (src);
  size_t n_src = sl_model_param_count (src), n_dst = sl_model_param_count (model);
  size_t fc_src = 1280 * (size_t) sl_model_class_count (src) + sl_model_class_count (src);
  size_t fc_dst = 1280 * (size_t) sl_model_class_count (model) + sl_model_class_count (model);
  const size_t stem = 32 * 3 * 3 * 3, stem_gray = 32 * 3 * 3;
  size_t body_src, body_dst;
  g_autofree float *p = NULL;
  sl_error err = { 0 };

  if (sp == NULL || ss == NULL || n_src < fc_src + stem || n_dst < fc_dst + stem_gray)
    goto mismatch;
  body_src = n_src - fc_src;
  body_dst = n_dst - fc_dst;
  if (channels == 3 ? body_src != body_dst : body_src - stem != body_dst - stem_gray)
    goto mismatch;
  if (sl_model_state_count (src) != sl_model_state_count (model))
    goto mismatch;
  p = g_memdup2 (sl_model_params (model), n_dst * sizeof (float));
  if (channels == 3)
    memcpy (p, sp, body_src * sizeof (float));
  else
    {
      for (size_t o = 0; o < 32; o++)
        for (size_t k = 0; k < 9; k++)
          p[o * 9 + k]
              = sp[(o * 3 + 0) * 9 + k] + sp[(o * 3 + 1) * 9 + k] + sp[(o * 3 + 2) * 9 + k];
      memcpy (p + stem_gray, sp + stem, (body_src - stem) * sizeof (float));
    }
  if (sl_model_set_params (model, p, n_dst, &err) != SL_OK
      || sl_model_set_state (model, ss, sl_model_state_count (src), &err) != SL_OK)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_RUNTIME,
                   "Could not load the backbone's weights: %s", err.message);
      return FALSE;
    }
  return TRUE;

mismatch:
  g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
               "The backbone file's network does not match the %s architecture; reinstall it "
               "with sightline-cli backbones install",
               "EfficientNet-Lite");
  return FALSE;
}

sl_model *
sl_backbone_transfer_model_new (const SlBackboneInfo *bb, const SlTransferOptions *opts,
                                guint64 seed, GError **error)
{
  g_autofree char *json = sl_backbone_transfer_json (bb, opts, error);
  sl_classifier_options co;
  sl_classifier *c = NULL;
  sl_model *model = NULL;
  sl_error err = { 0 };

  if (json == NULL)
    return NULL;
  if (sl_model_new (json, seed, &model, &err) != SL_OK)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_RUNTIME,
                   "The engine cannot build the transfer model: %s", err.message);
      return NULL;
    }
  sl_classifier_options_init (&co);
  co.threads = 1;
  if (sl_classifier_open (bb->path, &co, &c, &err) != SL_OK)
    {
      g_autofree char *hint = sl_backbone_reinstall_hint (bb);

      /* sl_backbone_find read only the header: the rest is damaged (the message names it). */
      sl_model_free (model);
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "Could not use the %s backbone: %s. %s", bb->title, err.message, hint);
      return NULL;
    }
  if (!copy_weights (model, sl_classifier_model (c), opts->channels, error))
    g_clear_pointer (&model, sl_model_free);
  sl_classifier_free (c);
  return model;
}
