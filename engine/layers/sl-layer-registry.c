/* sl-layer-registry.c: the table of layer kinds, one entry per sl_layer_kind. */
#include "sl-layer-private.h"

#include <stdio.h>
#include <string.h>

static const sl_layer_class *const classes[] = {
  [SL_LAYER_CONV2D] = &_sl_layer_conv2d,
  [SL_LAYER_DENSE] = &_sl_layer_dense,
  [SL_LAYER_BATCHNORM] = &_sl_layer_batchnorm,
  [SL_LAYER_RELU] = &_sl_layer_relu,
  [SL_LAYER_RELU6] = &_sl_layer_relu6,
  [SL_LAYER_LEAKY_RELU] = &_sl_layer_leaky_relu,
  [SL_LAYER_SIGMOID] = &_sl_layer_sigmoid,
  [SL_LAYER_MAXPOOL] = &_sl_layer_maxpool,
  [SL_LAYER_AVGPOOL] = &_sl_layer_avgpool,
  [SL_LAYER_GLOBAL_AVGPOOL] = &_sl_layer_global_avgpool,
  [SL_LAYER_FLATTEN] = &_sl_layer_flatten,
  [SL_LAYER_DROPOUT] = &_sl_layer_dropout,
  [SL_LAYER_ADD] = &_sl_layer_add,
};

/* A kind added to the enum without an entry here stops the build (an entry
 * missing in the middle is NULL: test-engine-layer-table finds it). */
_Static_assert(sizeof classes / sizeof classes[0] == SL_LAYER_KIND_COUNT,
               "every sl_layer_kind needs an entry in the layer table");

const sl_layer_class *
_sl_layer_class (sl_layer_kind kind)
{
  return (unsigned) kind < SL_LAYER_KIND_COUNT ? classes[kind] : NULL;
}

bool
_sl_layer_kind_by_name (const char *name, sl_layer_kind *out)
{
  for (int k = 0; k < SL_LAYER_KIND_COUNT; k++)
    if (classes[k] != NULL && strcmp (classes[k]->name, name) == 0)
      {
        *out = (sl_layer_kind) k;
        return true;
      }
  return false;
}

void
_sl_layer_type_list (char *buf, size_t size)
{
  size_t used = 0;

  buf[0] = '\0';
  for (int k = 0; k < SL_LAYER_KIND_COUNT && used < size; k++)
    used
        += (size_t) snprintf (buf + used, size - used, "%s%s", k > 0 ? ", " : "", classes[k]->name);
}
