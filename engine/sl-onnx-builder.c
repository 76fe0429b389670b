/* sl-onnx-builder.c: assembles ONNX protobuf messages in an arena and writes them out. */
#include "sl-onnx-private.h"
#include "sl-error-private.h"
#include "sl-file-private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONNX_IR_VERSION 7
#define ONNX_OPSET      13
#define BLOCK_SIZE      (64 * 1024)
/* Protobuf parsers refuse messages of 2 GiB and more. */
#define MAX_MESSAGE ((size_t) INT32_MAX)

struct sl_onnx_block
{
  sl_onnx_block *next;
  size_t size, used;
  max_align_t data[];
};

void *
_sl_onnx_alloc (sl_onnx_builder *b, size_t size)
{
  sl_onnx_block *blk = b->blocks;
  size_t need = (size + 15) & ~(size_t) 15;
  void *p;

  if (b->oom || need < size)
    return NULL;
  if (blk == NULL || blk->size - blk->used < need)
    {
      size_t cap = need > BLOCK_SIZE / 4 ? need : BLOCK_SIZE;

      blk = malloc (sizeof *blk + cap);
      if (blk == NULL)
        {
          b->oom = true;
          return NULL;
        }
      blk->size = cap;
      blk->used = 0;
      /* A large allocation gets a block of its own behind the current one,
       * so the current block's free space stays usable. */
      if (cap > BLOCK_SIZE && b->blocks != NULL)
        {
          blk->next = b->blocks->next;
          b->blocks->next = blk;
        }
      else
        {
          blk->next = b->blocks;
          b->blocks = blk;
        }
    }
  p = (char *) blk->data + blk->used;
  blk->used += need;
  memset (p, 0, size);
  return p;
}

char *
_sl_onnx_strdup (sl_onnx_builder *b, const char *s)
{
  size_t len = strlen (s) + 1;
  char *copy = _sl_onnx_alloc (b, len);

  if (copy != NULL)
    memcpy (copy, s, len);
  return copy;
}

/* Appends item to a protobuf-c repeated field, growing it by doubling. */
static void
push (sl_onnx_builder *b, void *array_field, size_t *count, void *item)
{
  void ***array = array_field;
  size_t n = *count;

  if (item == NULL)
    return;
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0))
    {
      void **grown = _sl_onnx_alloc (b, sizeof (void *) * (n < 4 ? 4 : 2 * n));

      if (grown == NULL)
        return;
      if (n > 0)
        memcpy (grown, *array, sizeof (void *) * n);
      *array = grown;
    }
  (*array)[n] = item;
  *count = n + 1;
}

static uint64_t
hash_name (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull;

  while (*s)
    h = (h ^ (uint8_t) *s++) * 0x100000001b3ull;
  return h;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t
name_slot (const sl_onnx_builder *b, const char *name)
{
  size_t i = hash_name (name) & (b->names_cap - 1);

  while (b->names[i] != NULL && strcmp (b->names[i], name) != 0)
    i = (i + 1) & (b->names_cap - 1);
  return i;
}

static bool
names_grow (sl_onnx_builder *b)
{
  size_t old_cap = b->names_cap;
  const char **old = b->names;

  b->names_cap = old_cap == 0 ? 256 : 2 * old_cap;
  b->names = calloc (b->names_cap, sizeof *b->names);
  if (b->names == NULL)
    {
      b->names = old;
      b->names_cap = old_cap;
      b->oom = true;
      return false;
    }
  for (size_t i = 0; i < old_cap; i++)
    if (old[i] != NULL)
      b->names[name_slot (b, old[i])] = old[i];
  free (old);
  return true;
}

static bool
name_taken (const sl_onnx_builder *b, const char *name)
{
  return b->names_cap > 0 && b->names[name_slot (b, name)] != NULL;
}

const char *
_sl_onnx_unique_name (sl_onnx_builder *b, const char *base)
{
  size_t len = strlen (base);
  char *name = _sl_onnx_alloc (b, len + 24);

  if (name == NULL || ((b->names_used + 1) * 2 > b->names_cap && !names_grow (b)))
    return NULL;
  memcpy (name, base, len + 1);
  for (unsigned long k = 2; name_taken (b, name); k++)
    snprintf (name + len, 24, "_%lu", k);
  b->names[name_slot (b, name)] = name;
  b->names_used++;
  return name;
}

void
_sl_onnx_builder_init (sl_onnx_builder *b, const char *graph_name)
{
  static const Onnx__ModelProto model_init = ONNX__MODEL_PROTO__INIT;
  static const Onnx__GraphProto graph_init = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto *opset;

  memset (b, 0, sizeof *b);
  b->model = model_init;
  b->graph = graph_init;
  b->model.has_ir_version = true;
  b->model.ir_version = ONNX_IR_VERSION;
  b->model.producer_name = "Sightline";
  b->model.producer_version = (char *) sl_version_string ();
  b->model.graph = &b->graph;
  b->graph.name = _sl_onnx_strdup (b, graph_name);
  opset = _sl_onnx_alloc (b, sizeof *opset);
  if (opset == NULL)
    return;
  onnx__operator_set_id_proto__init (opset);
  opset->domain = "";
  opset->has_version = true;
  opset->version = ONNX_OPSET;
  push (b, &b->model.opset_import, &b->model.n_opset_import, opset);
}

void
_sl_onnx_builder_clear (sl_onnx_builder *b)
{
  while (b->blocks != NULL)
    {
      sl_onnx_block *next = b->blocks->next;
      free (b->blocks);
      b->blocks = next;
    }
  free (b->names);
  memset (b, 0, sizeof *b);
}

Onnx__NodeProto *
_sl_onnx_add_node (sl_onnx_builder *b, const char *op_type, const char *const *inputs, int n_inputs,
                   const char *output)
{
  Onnx__NodeProto *node = _sl_onnx_alloc (b, sizeof *node);
  char **ins = _sl_onnx_alloc (b, sizeof (char *) * (size_t) (n_inputs > 0 ? n_inputs : 1));
  char **outs = _sl_onnx_alloc (b, sizeof (char *));

  if (node == NULL || ins == NULL || outs == NULL || output == NULL)
    return NULL;
  onnx__node_proto__init (node);
  for (int i = 0; i < n_inputs; i++)
    if (inputs[i] == NULL || (ins[i] = _sl_onnx_strdup (b, inputs[i])) == NULL)
      return NULL;
  outs[0] = _sl_onnx_strdup (b, output);
  node->name = outs[0];
  node->op_type = _sl_onnx_strdup (b, op_type);
  node->input = ins;
  node->n_input = (size_t) n_inputs;
  node->output = outs;
  node->n_output = 1;
  push (b, &b->graph.node, &b->graph.n_node, node);
  return b->oom ? NULL : node;
}

static Onnx__AttributeProto *
new_attr (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name,
          Onnx__AttributeProto__AttributeType type)
{
  Onnx__AttributeProto *a;

  if (node == NULL || (a = _sl_onnx_alloc (b, sizeof *a)) == NULL)
    return NULL;
  onnx__attribute_proto__init (a);
  a->name = _sl_onnx_strdup (b, name);
  a->has_type = true;
  a->type = type;
  push (b, &node->attribute, &node->n_attribute, a);
  return b->oom ? NULL : a;
}

void
_sl_onnx_attr_int (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name, int64_t v)
{
  Onnx__AttributeProto *a = new_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);

  if (a != NULL)
    {
      a->has_i = true;
      a->i = v;
    }
}

void
_sl_onnx_attr_float (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name, float v)
{
  Onnx__AttributeProto *a = new_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);

  if (a != NULL)
    {
      a->has_f = true;
      a->f = v;
    }
}

void
_sl_onnx_attr_string (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name, const char *v)
{
  Onnx__AttributeProto *a = new_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  char *copy = _sl_onnx_strdup (b, v);

  if (a != NULL && copy != NULL)
    {
      a->has_s = true;
      a->s.data = (uint8_t *) copy;
      a->s.len = strlen (copy);
    }
}

void
_sl_onnx_attr_ints (sl_onnx_builder *b, Onnx__NodeProto *node, const char *name, const int64_t *v,
                    size_t n)
{
  Onnx__AttributeProto *a = new_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  int64_t *copy = _sl_onnx_alloc (b, sizeof (int64_t) * n);

  if (a != NULL && copy != NULL)
    {
      memcpy (copy, v, sizeof (int64_t) * n);
      a->ints = copy;
      a->n_ints = n;
    }
}

static Onnx__TensorProto *
new_initializer (sl_onnx_builder *b, const char *name, const int64_t *dims, int n_dims,
                 Onnx__TensorProto__DataType type)
{
  Onnx__TensorProto *t = _sl_onnx_alloc (b, sizeof *t);
  int64_t *d = _sl_onnx_alloc (b, sizeof (int64_t) * (size_t) (n_dims > 0 ? n_dims : 1));

  if (t == NULL || d == NULL || name == NULL)
    return NULL;
  onnx__tensor_proto__init (t);
  if (n_dims > 0)
    memcpy (d, dims, sizeof (int64_t) * (size_t) n_dims);
  t->dims = d;
  t->n_dims = (size_t) n_dims;
  t->has_data_type = true;
  t->data_type = type;
  t->name = _sl_onnx_strdup (b, name);
  push (b, &b->graph.initializer, &b->graph.n_initializer, t);
  return b->oom ? NULL : t;
}

static size_t
element_count (const int64_t *dims, int n_dims)
{
  size_t n = 1;

  for (int i = 0; i < n_dims; i++)
    n *= (size_t) dims[i];
  return n;
}

/* The bytes of n 4- or 8-byte values in little-endian order: the values
 * themselves on a little-endian host, a swapped copy otherwise. */
static uint8_t *
little_endian (sl_onnx_builder *b, const void *data, size_t n, size_t width)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  (void) b, (void) n, (void) width;
  return (uint8_t *) data;
#else
  uint8_t *out = _sl_onnx_alloc (b, n * width);
  const uint8_t *in = data;

  for (size_t i = 0; out != NULL && i < n; i++)
    for (size_t k = 0; k < width; k++)
      out[i * width + k] = in[i * width + width - 1 - k];
  return out;
#endif
}

static void
set_raw (sl_onnx_builder *b, Onnx__TensorProto *t, const void *data, size_t n, size_t width)
{
  uint8_t *bytes;

  if (t == NULL || (bytes = little_endian (b, data, n, width)) == NULL)
    return;
  t->has_raw_data = true;
  t->raw_data.data = bytes;
  t->raw_data.len = n * width;
}

void
_sl_onnx_add_floats (sl_onnx_builder *b, const char *name, const int64_t *dims, int n_dims,
                     const float *data)
{
  Onnx__TensorProto *t
      = new_initializer (b, name, dims, n_dims, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);

  set_raw (b, t, data, element_count (dims, n_dims), sizeof (float));
}

void
_sl_onnx_add_int64s (sl_onnx_builder *b, const char *name, const int64_t *dims, int n_dims,
                     const int64_t *data)
{
  Onnx__TensorProto *t
      = new_initializer (b, name, dims, n_dims, ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
  size_t n = element_count (dims, n_dims);
  int64_t *copy = _sl_onnx_alloc (b, sizeof (int64_t) * n);

  if (copy == NULL)
    return;
  memcpy (copy, data, sizeof (int64_t) * n); /* the caller's array may be on its stack */
  set_raw (b, t, copy, n, sizeof (int64_t));
}

static Onnx__TensorShapeProto *
new_shape (sl_onnx_builder *b, const int64_t *dims, int n_dims)
{
  Onnx__TensorShapeProto *shape = _sl_onnx_alloc (b, sizeof *shape);

  if (shape == NULL)
    return NULL;
  onnx__tensor_shape_proto__init (shape);
  for (int i = 0; i < n_dims; i++)
    {
      Onnx__TensorShapeProto__Dimension *d = _sl_onnx_alloc (b, sizeof *d);

      if (d == NULL)
        return NULL;
      onnx__tensor_shape_proto__dimension__init (d);
      if (dims[i] < 0)
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          d->dim_param = "batch";
        }
      else
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          d->dim_value = dims[i];
        }
      push (b, &shape->dim, &shape->n_dim, d);
    }
  return shape;
}

void
_sl_onnx_add_value (sl_onnx_builder *b, bool output, const char *name, const int64_t *dims,
                    int n_dims)
{
  Onnx__ValueInfoProto *v = _sl_onnx_alloc (b, sizeof *v);
  Onnx__TypeProto *type = _sl_onnx_alloc (b, sizeof *type);
  Onnx__TypeProto__Tensor *tensor = _sl_onnx_alloc (b, sizeof *tensor);
  Onnx__TensorShapeProto *shape = new_shape (b, dims, n_dims);

  if (v == NULL || type == NULL || tensor == NULL || shape == NULL)
    return;
  onnx__value_info_proto__init (v);
  onnx__type_proto__init (type);
  onnx__type_proto__tensor__init (tensor);
  tensor->has_elem_type = true;
  tensor->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tensor->shape = shape;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tensor;
  v->name = _sl_onnx_strdup (b, name);
  v->type = type;
  if (output)
    push (b, &b->graph.output, &b->graph.n_output, v);
  else
    push (b, &b->graph.input, &b->graph.n_input, v);
}

void
_sl_onnx_add_metadata (sl_onnx_builder *b, const char *key, const char *value)
{
  Onnx__StringStringEntryProto *e = _sl_onnx_alloc (b, sizeof *e);

  if (e == NULL)
    return;
  onnx__string_string_entry_proto__init (e);
  e->key = _sl_onnx_strdup (b, key);
  e->value = _sl_onnx_strdup (b, value);
  push (b, &b->model.metadata_props, &b->model.n_metadata_props, e);
}

sl_status
_sl_onnx_builder_write (sl_onnx_builder *b, const char *path, sl_error *err)
{
  size_t size;
  uint8_t *buf;
  sl_status st;

  if (b->oom)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory building the ONNX graph");
  size = onnx__model_proto__get_packed_size (&b->model);
  if (size >= MAX_MESSAGE)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the model needs %.1f GB, more than the 2 GB one ONNX file can hold",
                         (double) size / 1e9);
  buf = malloc (size);
  if (buf == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory: the ONNX file needs %.0f MB",
                         (double) size / 1e6);
  onnx__model_proto__pack (&b->model, buf);
  st = sl_file_write_atomic (path, buf, size, err);
  free (buf);
  return st;
}
