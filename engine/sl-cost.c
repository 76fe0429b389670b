/* sl-cost.c: what a model costs to run (memory and work per image), measured from its description alone. */
#include "sl-layer-private.h"
#include "sl-error-private.h"

#include <stdio.h>
#include <stdlib.h>

double
_sl_node_flops (const sl_node *n)
{
  return _sl_layer_class (n->kind)->flops (n);
}

void
_sl_model_describe_layer (const sl_model *m, int index, char *buf, size_t size)
{
  const sl_node *n = &m->nodes[index];

  /* Names are the file's: long ones are cut so the message keeps its end. */
  if (n->name != NULL)
    snprintf (buf, size, "layers[%d] (%s '%.40s')", index, _sl_layer_class (n->kind)->name,
              n->name);
  else
    snprintf (buf, size, "layers[%d] (%s)", index, _sl_layer_class (n->kind)->name);
}

sl_status
_sl_model_measure (const sl_model *m, int batch, int threads, sl_cost *out, sl_error *err)
{
  const sl_plan_sizer sizer
      = { .backend = NULL, .threads = threads > 0 ? threads : 1, .host_memory = true };
  uint64_t *node_bytes = calloc ((size_t) m->n_nodes * 2 + 1, sizeof (uint64_t));
  uint64_t *node_ws = node_bytes + m->n_nodes;
  sl_status st;

  *out = (sl_cost){ .memory_layer = -1, .flops_layer = -1 };
  if (node_bytes == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory measuring the model");
  st = _sl_plan_measure (m, batch, &sizer, &out->working_bytes, node_bytes, node_ws, err);
  if (st != SL_OK)
    {
      free (node_bytes);
      return st;
    }
  out->weight_bytes = ((uint64_t) m->n_params + m->n_state) * sizeof (float);
  out->flops = 3.0 * m->classes; /* the softmax */
  for (int i = 0; i < m->n_nodes; i++)
    {
      double f = _sl_node_flops (&m->nodes[i]);
      uint64_t b = node_bytes[i] + node_ws[i];

      out->flops += f;
      if (out->flops_layer < 0 || f > out->flops_layer_flops)
        {
          out->flops_layer = i;
          out->flops_layer_flops = f;
        }
      if (out->memory_layer < 0 || b > out->memory_layer_bytes + out->memory_layer_workspace)
        {
          out->memory_layer = i;
          out->memory_layer_bytes = node_bytes[i];
          out->memory_layer_workspace = node_ws[i];
        }
    }
  free (node_bytes);
  return SL_OK;
}
