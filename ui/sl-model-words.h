/* sl-model-words.h: the workbench's plain words for a run's model: pretrained backbones, fine-tuning, presets. */
#pragma once

#include "sl-backbone.h"
#include "sl-run.h"

G_BEGIN_DECLS

/* The line a backbone is chosen by: "EfficientNet-Lite0, pretrained on ImageNet — best for
 * small data sets"; NULL for a name this build does not know. */
const char *sl_model_words_backbone_choice (const char *name);
/* "EfficientNet-Lite0 (pretrained)"; the name itself when unknown. */
const char *sl_model_words_backbone_short (const char *name);
/* "Lite0 (pretrained)", for narrow lists; the name itself when unknown. */
const char *sl_model_words_backbone_compact (const char *name);
/* What a fine-tuning mode trains, as a run's details say it: "new classifier only",
 * "last 3 blocks adapted", "whole network adapted" (g_free). */
char *sl_model_words_finetune (SlFinetune mode, int blocks);
/* A recipe's model: "EfficientNet-Lite0 (pretrained) · new classifier only · 224 px" with
 * details, "Lite0 (pretrained)" without (for lists); else the preset, or "custom model". */
char *sl_model_words_describe_config (const SlRunConfig *config, gboolean details);
/* The same for a stored run (the details from its recipe, when it reads). An anomaly run:
 * "Anomaly model on EfficientNet-Lite0 (pretrained) · 224 px · memory bank 1 % of the
 * patches", "Lite0 (pretrained) · anomaly" without details. */
char *sl_model_words_describe_run (const SlRunInfo *run, gboolean details);

G_END_DECLS
