/* sl-torch-pickle.h: reads a PyTorch legacy-format state dict (.pth) without executing anything. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SL_TORCH_FLOAT32,
  SL_TORCH_INT64,
} SlTorchDtype;

#define SL_TORCH_MAX_DIMS 8

typedef struct
{
  char *name; /* the state-dict key: "_blocks.0._bn1.running_mean" */
  SlTorchDtype dtype;
  int ndim;
  gint64 shape[SL_TORCH_MAX_DIMS];
  gint64 numel;
  void *data; /* numel values of dtype, host order, owned */
} SlTorchTensor;

/* Parses the whole file held in data: the magic-number, protocol and system-information pickles,
 * the state dict (an OrderedDict of tensors), the storage keys and the raw storages. Only the
 * handful of globals a state dict names are understood (OrderedDict, _rebuild_tensor_v2,
 * Float/LongStorage); anything else, an out-of-range tensor or stride, a big-endian
 * file, or any truncation is an error that says what is wrong. Memory stays within a small
 * multiple of the file size. Returns SlTorchTensor * in the dict's order. */
GPtrArray *sl_torch_load_state_dict (const guint8 *data, gsize size, GError **error);

G_END_DECLS
