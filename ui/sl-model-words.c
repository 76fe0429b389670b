/* sl-model-words.c: the workbench's plain words for a run's model: pretrained backbones, fine-tuning, presets. */
#include "sl-model-words.h"

#include "sl-anomaly.h"

static const struct
{
  const char *name, *choice, *short_name, *compact;
} backbones[] = {
  { "efficientnet-lite0", "EfficientNet-Lite0, pretrained on ImageNet — best for small data sets",
    "EfficientNet-Lite0 (pretrained)", "Lite0 (pretrained)" },
  { "efficientnet-lite1",
    "EfficientNet-Lite1, pretrained on ImageNet — a little more accurate, "
    "slower",
    "EfficientNet-Lite1 (pretrained)", "Lite1 (pretrained)" },
  { "efficientnet-lite2",
    "EfficientNet-Lite2, pretrained on ImageNet — more accurate again, "
    "slower again",
    "EfficientNet-Lite2 (pretrained)", "Lite2 (pretrained)" },
};

static int
backbone_index (const char *name)
{
  const char *canonical = name != NULL ? sl_backbone_canonical_name (name) : NULL;

  for (int i = 0; canonical != NULL && i < (int) G_N_ELEMENTS (backbones); i++)
    if (g_str_equal (backbones[i].name, canonical))
      return i;
  return -1;
}

const char *
sl_model_words_backbone_choice (const char *name)
{
  int i = backbone_index (name);

  return i >= 0 ? backbones[i].choice : NULL;
}

const char *
sl_model_words_backbone_short (const char *name)
{
  int i = backbone_index (name);

  return i >= 0 ? backbones[i].short_name : name;
}

const char *
sl_model_words_backbone_compact (const char *name)
{
  int i = backbone_index (name);

  return i >= 0 ? backbones[i].compact : name;
}

char *
sl_model_words_finetune (SlFinetune mode, int blocks)
{
  switch (mode)
    {
      case SL_FINETUNE_HEAD: return g_strdup ("new classifier only");
      case SL_FINETUNE_LAST_BLOCKS:
        return g_strdup_printf (
            g_dngettext (NULL, "last %d block adapted", "last %d blocks adapted", blocks), blocks);
      case SL_FINETUNE_ALL: return g_strdup ("whole network adapted");
      default: return g_strdup ("—");
    }
}

char *
sl_model_words_describe_config (const SlRunConfig *config, gboolean details)
{
  g_autofree char *finetune = NULL;

  if (config->anomaly)
    {
      const char *backbone = config->backbone != NULL ? config->backbone : "efficientnet-lite0";

      if (!details)
        return g_strdup_printf ("%s · anomaly", sl_model_words_backbone_compact (backbone));
      return g_strdup_printf ("Anomaly model on %s · %d px · memory bank %.3g %% of the patches",
                              sl_model_words_backbone_short (backbone),
                              config->input_size > 0 ? config->input_size : 224,
                              100.0 * (config->coreset_ratio > 0 ? config->coreset_ratio : 0.01));
    }
  if (config->backbone == NULL)
    return g_strdup (config->preset != NULL ? config->preset : "custom model");
  if (!details)
    return g_strdup (sl_model_words_backbone_compact (config->backbone));
  finetune = sl_model_words_finetune (config->finetune, config->finetune_blocks);
  if (config->input_size > 0)
    return g_strdup_printf ("%s · %s · %d px", sl_model_words_backbone_short (config->backbone),
                            finetune, config->input_size);
  return g_strdup_printf ("%s · %s", sl_model_words_backbone_short (config->backbone), finetune);
}

char *
sl_model_words_describe_run (const SlRunInfo *run, gboolean details)
{
  SlRunConfig config;
  char *text;

  if (sl_run_info_is_anomaly (run))
    {
      if (!sl_run_config_from_json (run->config_json, &config, NULL, NULL))
        return g_strdup ("anomaly model");
      text = sl_model_words_describe_config (&config, details);
      sl_run_config_clear (&config);
      return text;
    }
  if (!details || run->backbone == NULL)
    return g_strdup (run->backbone != NULL ? sl_model_words_backbone_compact (run->backbone)
                     : run->preset != NULL ? run->preset
                                           : "custom model");
  if (run->config_json == NULL || !sl_run_config_from_json (run->config_json, &config, NULL, NULL))
    return sl_model_words_describe_run (run, FALSE);
  if (config.backbone == NULL && config.preset == NULL && run->preset != NULL)
    config.preset = g_strdup (run->preset);
  text = sl_model_words_describe_config (&config, details);
  sl_run_config_clear (&config);
  return text;
}
