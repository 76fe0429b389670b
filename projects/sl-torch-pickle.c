/* sl-torch-pickle.c: a small pickle machine for PyTorch legacy state dicts: data only, bounded. */
#include "sl-torch-pickle.h"

#include "sl-backbone.h"

#include <string.h>

#define MAX_STACK       100000
#define MAX_MARKS       10000
#define MAX_MEMO        1000000
#define MAX_GLOBAL_NAME 256
/* A state dict of a few hundred tensors needs some 10000 values; this caps the memory a
 * hostile pickle can make us spend (about 250 bytes per value, memo entries alike): at most
 * MAX_VALUES, and for a small file VALUES_BASE plus one per VALUES_PER_BYTES bytes, so memory
 * stays a small multiple of the file size. */
#define MAX_VALUES       500000
#define VALUES_BASE      16384
#define VALUES_PER_BYTES 128

typedef enum
{
  V_NONE,
  V_BOOL,
  V_INT,
  V_BIGINT, /* a LONG1 wider than 64 bits: its bytes (the legacy magic number) */
  V_STR,
  V_TUPLE,
  V_LIST,
  V_DICT, /* items alternate key, value */
  V_GLOBAL,
  V_STORAGE,
  V_TENSOR,
} VKind;

typedef enum
{
  G_ORDERED_DICT,
  G_REBUILD_TENSOR_V2,
  G_FLOAT_STORAGE,
  G_LONG_STORAGE,
} GlobalId;

typedef struct
{
  char *key;
  SlTorchDtype dtype;
  gint64 numel;
  const guint8 *data; /* set once the raw storages are read */
  gboolean listed;
} Storage;

typedef struct
{
  VKind kind;
  gint64 i; /* int, bool, global id */
  char *s;  /* str (NUL-terminated), bigint bytes */
  gsize len;
  GPtrArray *items;
  Storage *storage;
  gint64 offset;
  int ndim;
  gint64 shape[SL_TORCH_MAX_DIMS], stride[SL_TORCH_MAX_DIMS];
} Value;

typedef struct
{
  const guint8 *data;
  gsize size, pos;
  GPtrArray *values; /* every Value, freed together: memo references need no counting */
  GPtrArray *stack;
  GArray *marks;
  GHashTable *memo;     /* index -> Value * */
  GHashTable *storages; /* key -> Storage * (owned) */
  guint max_values;     /* MAX_VALUES or less for a small file */
  GError **error;
} Vm;

static gboolean bad (Vm *vm, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad (Vm *vm, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (vm->error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
               "Not a readable PyTorch weights file: %s (at byte %" G_GSIZE_FORMAT ")", msg,
               vm->pos);
  g_free (msg);
  return FALSE;
}

static void
value_free (gpointer p)
{
  Value *v = p;

  if (v->items != NULL)
    g_ptr_array_unref (v->items);
  g_free (v->s);
  g_free (v);
}

static void
storage_free (gpointer p)
{
  Storage *s = p;

  g_free (s->key);
  g_free (s);
}

static Value *
new_value (Vm *vm, VKind kind)
{
  Value *v = g_new0 (Value, 1);

  v->kind = kind;
  g_ptr_array_add (vm->values, v);
  if (kind == V_TUPLE || kind == V_LIST || kind == V_DICT)
    v->items = g_ptr_array_new ();
  return v;
}

static gboolean
push (Vm *vm, Value *v)
{
  if (vm->stack->len >= MAX_STACK)
    return bad (vm, "the pickle stack grows beyond %d entries", MAX_STACK);
  g_ptr_array_add (vm->stack, v);
  return TRUE;
}

static Value *
pop (Vm *vm)
{
  guint floor = vm->marks->len > 0 ? g_array_index (vm->marks, guint, vm->marks->len - 1) : 0;

  if (vm->stack->len <= floor)
    {
      bad (vm, "the pickle pops from an empty stack");
      return NULL;
    }
  return g_ptr_array_steal_index (vm->stack, vm->stack->len - 1);
}

static Value *
top (Vm *vm)
{
  guint floor = vm->marks->len > 0 ? g_array_index (vm->marks, guint, vm->marks->len - 1) : 0;

  if (vm->stack->len <= floor)
    {
      bad (vm, "the pickle reads an empty stack");
      return NULL;
    }
  return g_ptr_array_index (vm->stack, vm->stack->len - 1);
}

/* Moves the items above the last mark into a new container of `kind`. */
static Value *
pop_mark (Vm *vm, VKind kind)
{
  guint mark;
  Value *v;

  if (vm->marks->len == 0)
    {
      bad (vm, "the pickle closes a mark it never opened");
      return NULL;
    }
  mark = g_array_index (vm->marks, guint, vm->marks->len - 1);
  g_array_set_size (vm->marks, vm->marks->len - 1);
  v = new_value (vm, kind);
  for (guint i = mark; i < vm->stack->len; i++)
    g_ptr_array_add (v->items, g_ptr_array_index (vm->stack, i));
  g_ptr_array_set_size (vm->stack, mark);
  return v;
}

static gboolean
need (Vm *vm, gsize n)
{
  if (vm->size - vm->pos < n)
    return bad (vm, "the file ends in the middle of the pickle (truncated?)");
  return TRUE;
}

static guint64
read_le (Vm *vm, int n)
{
  guint64 x = 0;

  for (int k = 0; k < n; k++)
    x |= (guint64) vm->data[vm->pos + k] << (8 * k);
  vm->pos += n;
  return x;
}

static gboolean
op_global (Vm *vm)
{
  static const struct
  {
    const char *module, *name;
    GlobalId id;
  } allowed[] = {
    { "collections", "OrderedDict", G_ORDERED_DICT },
    { "torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2 },
    { "torch", "FloatStorage", G_FLOAT_STORAGE },
    { "torch", "LongStorage", G_LONG_STORAGE },
  };
  char line[2][MAX_GLOBAL_NAME + 1];
  Value *v;

  for (int k = 0; k < 2; k++)
    {
      gsize avail = MIN (vm->size - vm->pos, (gsize) MAX_GLOBAL_NAME + 1);
      const guint8 *nl = memchr (vm->data + vm->pos, '\n', avail);
      gsize len;

      if (nl == NULL)
        return bad (vm, "a global's name is unterminated or too long");
      len = (gsize) (nl - (vm->data + vm->pos));
      memcpy (line[k], vm->data + vm->pos, len);
      line[k][len] = '\0';
      vm->pos += len + 1;
    }
  for (gsize k = 0; k < G_N_ELEMENTS (allowed); k++)
    if (strcmp (line[0], allowed[k].module) == 0 && strcmp (line[1], allowed[k].name) == 0)
      {
        v = new_value (vm, V_GLOBAL);
        v->i = allowed[k].id;
        return push (vm, v);
      }
  for (int k = 0; k < 2; k++)
    for (char *c = line[k]; *c != '\0'; c++)
      if (*c < 0x20 || *c > 0x7e)
        *c = '?';
  return bad (vm,
              "the pickle refers to %.60s.%.60s, which a weights file does not need (it is "
              "never run)",
              line[0], line[1]);
}

static gboolean
int_of (Value *v, gint64 *out)
{
  if (v->kind == V_INT || v->kind == V_BOOL)
    {
      *out = v->i;
      return TRUE;
    }
  return FALSE;
}

static gboolean
shape_of (Vm *vm, Value *v, gint64 *dims, int *ndim, const char *what)
{
  if (v->kind != V_TUPLE)
    return bad (vm, "a tensor's %s is not a tuple", what);
  if (v->items->len > SL_TORCH_MAX_DIMS)
    return bad (vm, "a tensor has more than %d dimensions", SL_TORCH_MAX_DIMS);
  for (guint k = 0; k < v->items->len; k++)
    if (!int_of (g_ptr_array_index (v->items, k), &dims[k]) || dims[k] < 0 || dims[k] > G_MAXINT32)
      return bad (vm, "a tensor's %s holds a bad number", what);
  *ndim = (int) v->items->len;
  return TRUE;
}

static Value *
rebuild_tensor (Vm *vm, Value *args)
{
  Value *t, *storage;
  int n_stride = 0;

  if (args->items->len < 4)
    return bad (vm, "_rebuild_tensor_v2 gets too few arguments"), NULL;
  storage = g_ptr_array_index (args->items, 0);
  if (storage->kind != V_STORAGE)
    return bad (vm, "a tensor without a storage"), NULL;
  t = new_value (vm, V_TENSOR);
  t->storage = storage->storage;
  if (!int_of (g_ptr_array_index (args->items, 1), &t->offset) || t->offset < 0)
    return bad (vm, "a tensor's storage offset is not a number"), NULL;
  if (t->offset > t->storage->numel)
    return bad (vm, "a tensor's storage offset %" G_GINT64_FORMAT " is past the end of storage %s",
                t->offset, t->storage->key),
           NULL;
  if (!shape_of (vm, g_ptr_array_index (args->items, 2), t->shape, &t->ndim, "size")
      || !shape_of (vm, g_ptr_array_index (args->items, 3), t->stride, &n_stride, "stride"))
    return NULL;
  if (n_stride != t->ndim)
    return bad (vm, "a tensor's size and stride differ in length"), NULL;
  return t;
}

static gboolean
op_reduce (Vm *vm)
{
  Value *args = pop (vm), *fn, *v;

  if (args == NULL || (fn = pop (vm)) == NULL)
    return FALSE;
  if (fn->kind != V_GLOBAL || args->kind != V_TUPLE)
    return bad (vm, "the pickle calls something that is not a known function");
  if (fn->i == G_ORDERED_DICT && args->items->len == 0)
    v = new_value (vm, V_DICT);
  else if (fn->i == G_REBUILD_TENSOR_V2)
    v = rebuild_tensor (vm, args);
  else
    return bad (vm, "the pickle calls a function in a way a state dict never does");
  return v != NULL && push (vm, v);
}

static gboolean
op_persid (Vm *vm)
{
  Value *pid = pop (vm), *v;
  Value *tag, *type, *key, *numel;
  Storage *s;

  if (pid == NULL)
    return FALSE;
  if (pid->kind != V_TUPLE || pid->items->len < 5)
    return bad (vm, "a persistent id is not a storage reference");
  tag = g_ptr_array_index (pid->items, 0);
  type = g_ptr_array_index (pid->items, 1);
  key = g_ptr_array_index (pid->items, 2);
  numel = g_ptr_array_index (pid->items, 4);
  if (tag->kind != V_STR || strcmp (tag->s, "storage") != 0 || type->kind != V_GLOBAL
      || (type->i != G_FLOAT_STORAGE && type->i != G_LONG_STORAGE) || key->kind != V_STR
      || numel->kind != V_INT || numel->i < 0 || numel->i > (gint64) (vm->size / 4))
    return bad (vm, "a storage reference with a bad type, key or size");
  s = g_hash_table_lookup (vm->storages, key->s);
  if (s == NULL)
    {
      s = g_new0 (Storage, 1);
      s->key = g_strdup (key->s);
      s->dtype = type->i == G_FLOAT_STORAGE ? SL_TORCH_FLOAT32 : SL_TORCH_INT64;
      s->numel = numel->i;
      g_hash_table_insert (vm->storages, s->key, s);
    }
  else if (s->numel != numel->i
           || s->dtype != (type->i == G_FLOAT_STORAGE ? SL_TORCH_FLOAT32 : SL_TORCH_INT64))
    return bad (vm, "storage %s is described twice, differently", s->key);
  v = new_value (vm, V_STORAGE);
  v->storage = s;
  return push (vm, v);
}

static gboolean
op_setitems (Vm *vm, gboolean many)
{
  Value *items, *dict;

  if (many)
    {
      if ((items = pop_mark (vm, V_TUPLE)) == NULL)
        return FALSE;
      if (items->items->len % 2 != 0)
        return bad (vm, "SETITEMS with an odd number of items");
    }
  else
    {
      Value *val = pop (vm), *key = val != NULL ? pop (vm) : NULL;

      if (key == NULL)
        return FALSE;
      items = new_value (vm, V_TUPLE);
      g_ptr_array_add (items->items, key);
      g_ptr_array_add (items->items, val);
    }
  if ((dict = top (vm)) == NULL)
    return FALSE;
  if (dict->kind != V_DICT)
    return bad (vm, "SETITEM on something that is not a dict");
  for (guint k = 0; k < items->items->len; k++)
    g_ptr_array_add (dict->items, g_ptr_array_index (items->items, k));
  return TRUE;
}

static gboolean
op_appends (Vm *vm, gboolean many)
{
  Value *list, *one = NULL, *items = NULL;

  if (many ? (items = pop_mark (vm, V_TUPLE)) == NULL : (one = pop (vm)) == NULL)
    return FALSE;
  if ((list = top (vm)) == NULL)
    return FALSE;
  if (list->kind != V_LIST)
    return bad (vm, "APPEND on something that is not a list");
  if (one != NULL)
    g_ptr_array_add (list->items, one);
  else
    for (guint k = 0; k < items->items->len; k++)
      g_ptr_array_add (list->items, g_ptr_array_index (items->items, k));
  return TRUE;
}

static gboolean
op_tuple_n (Vm *vm, int n)
{
  Value *t = new_value (vm, V_TUPLE), *items[3];

  for (int k = n - 1; k >= 0; k--)
    if ((items[k] = pop (vm)) == NULL)
      return FALSE;
  for (int k = 0; k < n; k++)
    g_ptr_array_add (t->items, items[k]);
  return push (vm, t);
}

static gboolean
op_memo (Vm *vm, gboolean put, int width)
{
  guint64 idx;
  Value *v;

  if (!need (vm, width))
    return FALSE;
  idx = read_le (vm, width);
  if (idx >= MAX_MEMO)
    return bad (vm, "a memo index beyond %d", MAX_MEMO);
  if (put)
    {
      if ((v = top (vm)) == NULL)
        return FALSE;
      if (g_hash_table_size (vm->memo) >= vm->max_values)
        return bad (vm, "the pickle remembers more than %u objects", vm->max_values);
      g_hash_table_replace (vm->memo, GUINT_TO_POINTER ((guint) idx), v);
      return TRUE;
    }
  v = g_hash_table_lookup (vm->memo, GUINT_TO_POINTER ((guint) idx));
  if (v == NULL)
    return bad (vm, "the pickle reads memo entry %u, never written", (guint) idx);
  return push (vm, v);
}

static gboolean
op_string (Vm *vm, int width)
{
  guint64 len;
  Value *v;

  if (!need (vm, width))
    return FALSE;
  len = read_le (vm, width);
  if (!need (vm, len))
    return FALSE;
  if (!g_utf8_validate ((const char *) vm->data + vm->pos, (gssize) len, NULL))
    return bad (vm, "a string is not valid UTF-8");
  v = new_value (vm, V_STR);
  v->s = g_strndup ((const char *) vm->data + vm->pos, len);
  v->len = len;
  vm->pos += len;
  return push (vm, v);
}

static gboolean
op_long1 (Vm *vm)
{
  guint n;
  Value *v;

  if (!need (vm, 1))
    return FALSE;
  n = vm->data[vm->pos++];
  if (!need (vm, n))
    return FALSE;
  if (n <= 8)
    {
      guint64 x = n > 0 ? read_le (vm, (int) n) : 0;

      if (n > 0 && n < 8 && (x >> (8 * n - 1)) & 1)
        x |= ~(guint64) 0 << (8 * n); /* sign-extend */
      v = new_value (vm, V_INT);
      v->i = (gint64) x;
    }
  else
    {
      v = new_value (vm, V_BIGINT);
      v->s = g_memdup2 (vm->data + vm->pos, n);
      v->len = n;
      vm->pos += n;
    }
  return push (vm, v);
}

static gboolean
op_simple (Vm *vm, VKind kind, gint64 i)
{
  Value *v = new_value (vm, kind);

  v->i = i;
  return push (vm, v);
}

/* Runs one pickle from vm->pos to its STOP; *out is its value. */
static gboolean
run_pickle (Vm *vm, Value **out)
{
  g_ptr_array_set_size (vm->stack, 0);
  g_array_set_size (vm->marks, 0);
  g_hash_table_remove_all (vm->memo);
  for (;;)
    {
      guint8 op;
      gboolean ok;

      if (!need (vm, 1))
        return FALSE;
      /* Every opcode makes at most two values: checking here bounds them all. */
      if (vm->values->len >= vm->max_values)
        return bad (vm, "the pickle builds more than %u objects", vm->max_values);
      op = vm->data[vm->pos++];
      switch (op)
        {
          case 0x80: /* PROTO */
            if (!need (vm, 1))
              return FALSE;
            if (vm->data[vm->pos] < 2 || vm->data[vm->pos] > 5)
              return bad (vm, "pickle protocol %d is not supported", vm->data[vm->pos]);
            vm->pos++;
            ok = TRUE;
            break;
          case '.': /* STOP */
            if ((*out = pop (vm)) == NULL)
              return FALSE;
            return TRUE;
          case '(': /* MARK */
            if (vm->marks->len >= MAX_MARKS)
              return bad (vm, "marks nest deeper than %d", MAX_MARKS);
            g_array_append_val (vm->marks, vm->stack->len);
            ok = TRUE;
            break;
          case 'N': ok = op_simple (vm, V_NONE, 0); break;
          case 0x88: ok = op_simple (vm, V_BOOL, 1); break;
          case 0x89: ok = op_simple (vm, V_BOOL, 0); break;
          case 'K': ok = need (vm, 1) && op_simple (vm, V_INT, (gint64) read_le (vm, 1)); break;
          case 'M': ok = need (vm, 2) && op_simple (vm, V_INT, (gint64) read_le (vm, 2)); break;
          case 'J':
            ok = need (vm, 4) && op_simple (vm, V_INT, (gint32) (guint32) read_le (vm, 4));
            break;
          case 0x8a: /* LONG1 */ ok = op_long1 (vm); break;
          case 'X': /* BINUNICODE */ ok = op_string (vm, 4); break;
          case 0x8c: /* SHORT_BINUNICODE */ ok = op_string (vm, 1); break;
          case '}': ok = push (vm, new_value (vm, V_DICT)); break;
          case ']': ok = push (vm, new_value (vm, V_LIST)); break;
          case ')': ok = push (vm, new_value (vm, V_TUPLE)); break;
          case 't':
            {
              Value *t = pop_mark (vm, V_TUPLE);
              ok = t != NULL && push (vm, t);
            }
            break;
          case 0x85:
          case 0x86:
          case 0x87: ok = op_tuple_n (vm, op - 0x84); break;
          case 's': ok = op_setitems (vm, FALSE); break;
          case 'u': ok = op_setitems (vm, TRUE); break;
          case 'a': ok = op_appends (vm, FALSE); break;
          case 'e': ok = op_appends (vm, TRUE); break;
          case 'q': ok = op_memo (vm, TRUE, 1); break;
          case 'r': ok = op_memo (vm, TRUE, 4); break;
          case 'h': ok = op_memo (vm, FALSE, 1); break;
          case 'j': ok = op_memo (vm, FALSE, 4); break;
          case 'c': ok = op_global (vm); break;
          case 'R': ok = op_reduce (vm); break;
          case 'Q': ok = op_persid (vm); break;
          case 'b': /* BUILD: the state dict's _metadata attribute, not needed */
            {
              Value *state = pop (vm), *obj = state != NULL ? top (vm) : NULL;
              ok = obj != NULL;
              if (ok && (obj->kind != V_DICT || (state->kind != V_DICT && state->kind != V_NONE)))
                ok = bad (vm, "BUILD on something that is not a state dict");
            }
            break;
          default: return bad (vm, "pickle opcode 0x%02x is not used by weights files", op);
        }
      if (!ok)
        return FALSE;
    }
}

static gboolean
check_header (Vm *vm)
{
  static const guint8 magic[] = { 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 };
  Value *v;

  if (!run_pickle (vm, &v))
    return FALSE;
  if (v->kind != V_BIGINT || v->len != sizeof magic || memcmp (v->s, magic, sizeof magic) != 0)
    return bad (vm, "no PyTorch magic number (a zip-format .pth or not PyTorch at all)");
  if (!run_pickle (vm, &v))
    return FALSE;
  if (v->kind != V_INT || v->i != 1001)
    return bad (vm, "an unknown PyTorch serialisation version");
  if (!run_pickle (vm, &v))
    return FALSE;
  if (v->kind != V_DICT)
    return bad (vm, "no system information");
  for (guint k = 0; k + 1 < v->items->len; k += 2)
    {
      Value *key = g_ptr_array_index (v->items, k), *val = g_ptr_array_index (v->items, k + 1);

      if (key->kind == V_STR && strcmp (key->s, "little_endian") == 0
          && !(val->kind == V_BOOL && val->i == 1))
        return bad (vm, "the weights were written big-endian");
    }
  return TRUE;
}

static gboolean
read_storages (Vm *vm, Value *keys)
{
  if (keys->kind != V_LIST)
    return bad (vm, "no list of storages after the state dict");
  for (guint k = 0; k < keys->items->len; k++)
    {
      Value *key = g_ptr_array_index (keys->items, k);
      Storage *s = key->kind == V_STR ? g_hash_table_lookup (vm->storages, key->s) : NULL;
      gsize elsize;
      gint64 count;

      if (s == NULL || s->listed)
        return bad (vm, "the storage list names a storage no tensor uses, or one twice");
      s->listed = TRUE;
      if (!need (vm, 8))
        return FALSE;
      count = (gint64) read_le (vm, 8);
      if (count != s->numel)
        return bad (vm, "storage %s holds %" G_GINT64_FORMAT " values, not %" G_GINT64_FORMAT,
                    s->key, count, s->numel);
      elsize = s->dtype == SL_TORCH_FLOAT32 ? 4 : 8;
      if ((guint64) count > (vm->size - vm->pos) / elsize)
        return bad (vm, "the file ends inside storage %s (truncated?)", s->key);
      s->data = vm->data + vm->pos;
      vm->pos += (gsize) count * elsize;
    }
  if (keys->items->len != g_hash_table_size (vm->storages))
    return bad (vm, "a tensor's storage is missing from the file");
  if (vm->pos != vm->size)
    return bad (vm, "%" G_GSIZE_FORMAT " unexpected bytes after the last storage",
                vm->size - vm->pos);
  return TRUE;
}

static void
tensor_free (gpointer p)
{
  SlTorchTensor *t = p;

  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

/* Copies a tensor out of its storage into C order, whatever its strides (weights converted from
 * TensorFlow keep TensorFlow's layout in storage), every bound checked. A tensor holds at most as
 * many values as its storage and all tensors together at most EXTRACT_RATIO times the file's
 * bytes, so stride-0 or overlapping views cannot turn a small file into gigabytes. */
#define EXTRACT_RATIO 2
#define EXTRACT_SLACK 65536

static SlTorchTensor *
extract (Vm *vm, const char *name, Value *v, gsize *extracted)
{
  gint64 numel = 1, last = v->offset, idx[SL_TORCH_MAX_DIMS] = { 0 };
  gsize elsize;
  SlTorchTensor *t;

  if (v->offset < 0 || v->offset > v->storage->numel)
    return bad (vm, "tensor %s starts past the end of its storage", name), NULL;
  for (int d = 0; d < v->ndim; d++)
    {
      if (v->stride[d] < 0 || v->stride[d] > v->storage->numel)
        return bad (vm, "tensor %s has a bad stride", name), NULL;
      if (v->shape[d] > 0 && numel > G_MAXINT32 / v->shape[d])
        return bad (vm, "tensor %s is impossibly large", name), NULL;
      numel *= v->shape[d];
    }
  for (int d = 0; d < v->ndim && numel > 0; d++)
    {
      gint64 step;

      /* shape and stride are at most G_MAXINT32 each, so the product fits; the sum is checked. */
      step = (v->shape[d] - 1) * v->stride[d];
      if (last > G_MAXINT64 - step)
        return bad (vm, "tensor %s reaches past the end of its storage", name), NULL;
      last += step;
    }
  if (numel > 0 && last >= v->storage->numel)
    return bad (vm, "tensor %s reaches past the end of its storage", name), NULL;
  if (numel > v->storage->numel)
    return bad (vm,
                "tensor %s has more values (%" G_GINT64_FORMAT
                ") than its storage (%" G_GINT64_FORMAT ")",
                name, numel, v->storage->numel),
           NULL;
  elsize = v->storage->dtype == SL_TORCH_FLOAT32 ? 4 : 8;
  if ((gsize) numel * elsize > (gsize) EXTRACT_RATIO * vm->size + EXTRACT_SLACK - *extracted)
    return bad (vm, "the tensors need far more memory than the file holds (overlapping views?)"),
           NULL;
  *extracted += (gsize) numel * elsize;
  t = g_new0 (SlTorchTensor, 1);
  t->name = g_strdup (name);
  t->dtype = v->storage->dtype;
  t->ndim = v->ndim;
  memcpy (t->shape, v->shape, sizeof t->shape);
  t->numel = numel;
  t->data = g_try_malloc (numel > 0 ? (gsize) numel * elsize : 1);
  if (t->data == NULL)
    return tensor_free (t), bad (vm, "out of memory"), NULL;
  for (gint64 k = 0; k < numel; k++)
    {
      gint64 src = v->offset;

      for (int d = 0; d < v->ndim; d++)
        src += idx[d] * v->stride[d];
      memcpy ((guint8 *) t->data + (gsize) k * elsize, v->storage->data + (gsize) src * elsize,
              elsize);
      for (int d = v->ndim - 1; d >= 0; d--)
        if (++idx[d] < v->shape[d])
          break;
        else
          idx[d] = 0;
    }
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gint64 k = 0; k < numel; k++)
    if (elsize == 4)
      ((guint32 *) t->data)[k] = GUINT32_FROM_LE (((guint32 *) t->data)[k]);
    else
      ((guint64 *) t->data)[k] = GUINT64_FROM_LE (((guint64 *) t->data)[k]);
#endif
  return t;
}

GPtrArray *
sl_torch_load_state_dict (const guint8 *data, gsize size, GError **error)
{
  Vm vm = { .data = data, .size = size, .error = error };
  GPtrArray *out = NULL;
  Value *dict, *keys;
  GHashTable *seen = NULL;
  gsize extracted = 0;

  vm.max_values = (guint) MIN ((gsize) MAX_VALUES, VALUES_BASE + size / VALUES_PER_BYTES);
  vm.values = g_ptr_array_new_with_free_func (value_free);
  vm.stack = g_ptr_array_new ();
  vm.marks = g_array_new (FALSE, FALSE, sizeof (guint));
  vm.memo = g_hash_table_new (NULL, NULL);
  vm.storages = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, storage_free);
  if (!check_header (&vm) || !run_pickle (&vm, &dict))
    goto done;
  if (dict->kind != V_DICT)
    {
      bad (&vm, "the weights are not a state dict");
      goto done;
    }
  if (!run_pickle (&vm, &keys) || !read_storages (&vm, keys))
    goto done;
  out = g_ptr_array_new_with_free_func (tensor_free);
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint k = 0; k + 1 < dict->items->len; k += 2)
    {
      Value *key = g_ptr_array_index (dict->items, k),
            *val = g_ptr_array_index (dict->items, k + 1);
      SlTorchTensor *t;

      if (key->kind != V_STR || val->kind != V_TENSOR)
        {
          bad (&vm, "a state-dict entry is not a named tensor");
          g_clear_pointer (&out, g_ptr_array_unref);
          goto done;
        }
      if (!g_hash_table_add (seen, key->s))
        {
          bad (&vm, "tensor %s appears twice", key->s);
          g_clear_pointer (&out, g_ptr_array_unref);
          goto done;
        }
      if ((t = extract (&vm, key->s, val, &extracted)) == NULL)
        {
          g_clear_pointer (&out, g_ptr_array_unref);
          goto done;
        }
      g_ptr_array_add (out, t);
    }
done:
  if (seen != NULL)
    g_hash_table_unref (seen);
  g_hash_table_unref (vm.storages);
  g_hash_table_unref (vm.memo);
  g_array_unref (vm.marks);
  g_ptr_array_unref (vm.stack);
  g_ptr_array_unref (vm.values);
  return out;
}
