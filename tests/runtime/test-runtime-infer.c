/* test-runtime-infer.c: sightline-infer run as a line script would, checked against the classifier in-process. */
#include "runtime-test-util.h"
#include "sl-test-support.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INFER "SL_INFER"

/* What the program printed for one image. */
typedef struct
{
  char *file;
  char *label;
  int class_index; /* -1 in CSV, which has no index */
  double confidence;
  gboolean rejected;
  int n_top;
  char *top_labels[10];
  double top_conf[10];
} Row;

static void
row_clear (gpointer data)
{
  Row *r = data;

  g_free (r->file);
  g_free (r->label);
  for (int k = 0; k < r->n_top; k++)
    g_free (r->top_labels[k]);
  g_free (r);
}

/* A CSV field's C-style escapes (\\, \n, \r, \t, \xHH) undone, as docs/runtime.md says. */
static char *
csv_unescape (const char *field)
{
  GString *s = g_string_new (NULL);

  for (const char *p = field; *p; p++)
    {
      if (*p != '\\')
        {
          g_string_append_c (s, *p);
          continue;
        }
      p++;
      g_assert_true (*p == '\\' || *p == 'n' || *p == 'r' || *p == 't' || *p == 'x');
      if (*p == 'x')
        {
          g_assert_true (g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]));
          g_string_append_c (
              s, (char) (g_ascii_xdigit_value (p[1]) * 16 + g_ascii_xdigit_value (p[2])));
          p += 2;
        }
      else
        g_string_append_c (s, *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : '\\');
    }
  return g_string_free (s, FALSE);
}

/* CSV output: checks the header for `top` columns and returns the rows. */
static GPtrArray *
parse_csv (const char *out, int top)
{
  g_autoptr (GPtrArray) csv = rt_csv_parse (out);
  GPtrArray *rows = g_ptr_array_new_with_free_func (row_clear);
  char **header;

  g_assert_cmpuint (csv->len, >=, 1);
  header = g_ptr_array_index (csv, 0);
  g_assert_cmpuint (g_strv_length (header), ==, 4 + 2 * (top > 1 ? top - 1 : 0));
  g_assert_cmpstr (header[0], ==, "file");
  g_assert_cmpstr (header[1], ==, "label");
  g_assert_cmpstr (header[2], ==, "confidence");
  g_assert_cmpstr (header[3], ==, "rejected");
  for (int k = 2; k <= top; k++)
    {
      g_autofree char *label = g_strdup_printf ("label%d", k);
      g_autofree char *conf = g_strdup_printf ("confidence%d", k);

      g_assert_cmpstr (header[4 + 2 * (k - 2)], ==, label);
      g_assert_cmpstr (header[5 + 2 * (k - 2)], ==, conf);
    }
  for (guint i = 1; i < csv->len; i++)
    {
      char **f = g_ptr_array_index (csv, i);
      Row *r = g_new0 (Row, 1);

      g_assert_cmpuint (g_strv_length (f), ==, g_strv_length (header));
      r->file = csv_unescape (f[0]);
      r->label = csv_unescape (f[1]);
      r->class_index = -1;
      r->confidence = g_ascii_strtod (f[2], NULL);
      g_assert_true (strcmp (f[3], "0") == 0 || strcmp (f[3], "1") == 0);
      r->rejected = f[3][0] == '1';
      if (top > 0)
        {
          r->top_labels[0] = g_strdup (f[1]);
          r->top_conf[0] = r->confidence;
          r->n_top = top;
          for (int k = 1; k < top; k++)
            {
              r->top_labels[k] = g_strdup (f[4 + 2 * (k - 1)]);
              r->top_conf[k] = g_ascii_strtod (f[5 + 2 * (k - 1)], NULL);
            }
        }
      g_ptr_array_add (rows, r);
    }
  return rows;
}

static const char *
json_string (cJSON *obj, const char *key)
{
  cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  g_assert_true (cJSON_IsString (item));
  return item->valuestring;
}

static double
json_number (cJSON *obj, const char *key)
{
  cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);

  g_assert_true (cJSON_IsNumber (item));
  return item->valuedouble;
}

/* JSON lines output: one object per line, nothing else. */
static GPtrArray *
parse_json_lines (const char *out, int top)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  GPtrArray *rows = g_ptr_array_new_with_free_func (row_clear);
  guint n = g_strv_length (lines);

  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpstr (lines[n - 1], ==, ""); /* a final newline */
  for (guint i = 0; i + 1 < n; i++)
    {
      cJSON *obj = cJSON_Parse (lines[i]);
      cJSON *rejected, *arr;
      Row *r = g_new0 (Row, 1);

      g_assert_nonnull (obj);
      r->file = g_strdup (json_string (obj, "file"));
      r->label = g_strdup (json_string (obj, "label"));
      r->class_index = (int) json_number (obj, "class_index");
      r->confidence = json_number (obj, "confidence");
      rejected = cJSON_GetObjectItemCaseSensitive (obj, "rejected");
      g_assert_true (cJSON_IsBool (rejected));
      r->rejected = cJSON_IsTrue (rejected);
      arr = cJSON_GetObjectItemCaseSensitive (obj, "top");
      if (top == 0)
        g_assert_null (arr);
      else
        {
          g_assert_true (cJSON_IsArray (arr));
          r->n_top = cJSON_GetArraySize (arr);
          g_assert_cmpint (r->n_top, ==, top);
          for (int k = 0; k < r->n_top; k++)
            {
              cJSON *e = cJSON_GetArrayItem (arr, k);

              r->top_labels[k] = g_strdup (json_string (e, "label"));
              r->top_conf[k] = json_number (e, "confidence");
              g_assert_cmpstr (sl_classifier_class_label (rt_fixture ()->classifier,
                                                          (int) json_number (e, "class_index")),
                               ==, r->top_labels[k]);
            }
        }
      cJSON_Delete (obj);
      g_ptr_array_add (rows, r);
    }
  return rows;
}

/* Each row agrees with sl_classifier_predict_file in this process. */
static void
assert_rows_agree (GPtrArray *rows, float threshold)
{
  const RtFixture *fx = rt_fixture ();
  sl_classifier *c = fx->classifier;
  sl_error err = { 0 };

  sl_assert_ok (sl_classifier_set_reject_threshold (c, threshold, &err), &err);
  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = g_ptr_array_index (rows, i);
      float probs[10];
      sl_prediction p, top[10];

      sl_prediction_init (&p);
      sl_assert_ok (sl_classifier_predict_file (c, r->file, &p, probs, &err), &err);
      g_assert_cmpstr (r->label, ==, p.label);
      if (r->class_index >= 0)
        g_assert_cmpint (r->class_index, ==, p.class_index);
      g_assert_cmpfloat_with_epsilon (r->confidence, p.confidence, 1e-5);
      g_assert_cmpint (r->rejected, ==, p.rejected);
      g_assert_cmpint (r->rejected, ==, p.confidence < threshold);
      sl_prediction_init (&top[0]);
      g_assert_cmpint (sl_classifier_top_k (c, probs, r->n_top, top), ==, r->n_top);
      for (int k = 0; k < r->n_top; k++)
        {
          g_assert_cmpstr (r->top_labels[k], ==, top[k].label);
          g_assert_cmpfloat_with_epsilon (r->top_conf[k], top[k].confidence, 1e-5);
          if (k > 0)
            g_assert_cmpfloat (r->top_conf[k], <=, r->top_conf[k - 1]);
        }
    }
  sl_assert_ok (sl_classifier_set_reject_threshold (c, 0.0f, &err), &err);
}

static void
assert_files (GPtrArray *rows, char *const *expected)
{
  g_assert_cmpuint (rows->len, ==, g_strv_length ((char **) expected));
  for (guint i = 0; i < rows->len; i++)
    g_assert_cmpstr (((Row *) g_ptr_array_index (rows, i))->file, ==, expected[i]);
}

static void
test_files (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autoptr (GPtrArray) rows = NULL;
  char *expected[4];
  RtRun r;

  if (fx == NULL)
    return;
  r = rt_run (INFER, NULL, fx->model, fx->images[3], fx->images[0], fx->images[7], NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  rows = parse_csv (r.out, 0);
  expected[0] = fx->images[3], expected[1] = fx->images[0], expected[2] = fx->images[7];
  expected[3] = NULL;
  assert_files (rows, expected);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
}

static void
test_folder (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autoptr (GPtrArray) rows = NULL;
  g_autofree char *sub = NULL, *sub_image = NULL, *note = NULL;
  g_autofree char *png = NULL;
  gsize len;
  RtRun r;

  if (fx == NULL)
    return;
  /* A subfolder with one more image, and a file that is not an image. */
  sub = g_build_filename (fx->images_dir, "zz-more", NULL);
  sub_image = g_build_filename (sub, "extra.png", NULL);
  note = g_build_filename (fx->images_dir, "notes.txt", NULL);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_true (g_file_get_contents (fx->images[0], &png, &len, NULL));
  g_assert_true (g_file_set_contents (sub_image, png, len, NULL));
  g_assert_true (g_file_set_contents (note, "not an image", -1, NULL));

  r = rt_run (INFER, NULL, fx->model, fx->images_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_csv (r.out, 0);
  assert_files (rows, fx->images);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
  g_clear_pointer (&rows, g_ptr_array_unref);

  r = rt_run (INFER, NULL, "--recursive", fx->model, fx->images_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_csv (r.out, 0);
  g_assert_cmpuint (rows->len, ==, fx->n_images + 1);
  g_assert_cmpstr (((Row *) g_ptr_array_index (rows, fx->n_images))->file, ==, sub_image);
  rt_run_clear (&r);

  g_unlink (sub_image);
  g_rmdir (sub);
  g_unlink (note);
}

static void
test_stdin (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autofree char *list = g_build_filename (fx != NULL ? fx->dir : ".", "list.txt", NULL);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GPtrArray) rows = NULL;
  char *expected[6];
  RtRun r;

  if (fx == NULL)
    return;
  /* Windows line ends and blank lines are forgiven. */
  g_string_append_printf (text, "%s\r\n\n%s\n%s", fx->images[5], fx->images[1], fx->images[2]);
  g_assert_true (g_file_set_contents (list, text->str, -1, NULL));
  expected[0] = fx->images[5], expected[1] = fx->images[1], expected[2] = fx->images[2];
  expected[3] = NULL;

  /* No PATH and stdin not a terminal. */
  r = rt_run (INFER, list, fx->model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_csv (r.out, 0);
  assert_files (rows, expected);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* "-" among other paths, in order. */
  r = rt_run (INFER, list, fx->model, fx->images[9], "-", NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_csv (r.out, 0);
  expected[0] = fx->images[9], expected[1] = fx->images[5], expected[2] = fx->images[1];
  expected[3] = fx->images[2], expected[4] = NULL;
  assert_files (rows, expected);
  rt_run_clear (&r);
  g_unlink (list);
}

static void
test_json (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autoptr (GPtrArray) rows = NULL;
  RtRun r;

  if (fx == NULL)
    return;
  r = rt_run (INFER, NULL, "--json", fx->model, fx->images_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_json_lines (r.out, 0);
  assert_files (rows, fx->images);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
}

static void
test_top (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autoptr (GPtrArray) rows = NULL;
  RtRun r;

  if (fx == NULL)
    return;
  r = rt_run (INFER, NULL, "--top", "3", fx->model, fx->images_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_csv (r.out, 3);
  assert_files (rows, fx->images);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
  g_clear_pointer (&rows, g_ptr_array_unref);

  r = rt_run (INFER, NULL, "--json", "--top", "3", fx->model, fx->images_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_json_lines (r.out, 3);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* More than the model's ten classes: all ten, ranked, and no empty columns. */
  r = rt_run (INFER, NULL, "--top", "50", fx->model, fx->images[4], NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_csv (r.out, 10);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
  g_clear_pointer (&rows, g_ptr_array_unref);

  r = rt_run (INFER, NULL, "--json", "--top", "50", fx->model, fx->images[4], NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_json_lines (r.out, 10);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
}

static void
test_threshold (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autoptr (GPtrArray) rows = NULL;
  RtRun r;

  if (fx == NULL)
    return;
  r = rt_run (INFER, NULL, "--threshold", "0.99", fx->model, fx->images_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_csv (r.out, 0);
  g_assert_cmpuint (rows->len, ==, fx->n_images);
  /* A model trained for a few steps is never that sure. */
  for (guint i = 0; i < rows->len; i++)
    g_assert_true (((Row *) g_ptr_array_index (rows, i))->rejected);
  assert_rows_agree (rows, 0.99f);
  rt_run_clear (&r);
  g_clear_pointer (&rows, g_ptr_array_unref);

  r = rt_run (INFER, NULL, "--json", "--threshold", "0", fx->model, fx->images_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_json_lines (r.out, 0);
  for (guint i = 0; i < rows->len; i++)
    g_assert_false (((Row *) g_ptr_array_index (rows, i))->rejected);
  rt_run_clear (&r);
}

/* The same results image by image and in batches that do not divide the count. */
static void
test_batch (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autoptr (GPtrArray) rows = NULL;
  RtRun r;

  if (fx == NULL)
    return;
  r = rt_run (INFER, NULL, "--batch", "7", "--threads", "1", "--json", fx->model, fx->images_dir,
              NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_json_lines (r.out, 0);
  assert_files (rows, fx->images);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
}

/* A corrupt image and a missing file among good ones: named on stderr, the rest classified. */
static void
test_corrupt (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autofree char *dir = NULL, *bad = NULL, *missing = NULL;
  g_autoptr (GPtrArray) good = g_ptr_array_new_with_free_func (g_free);
  const char *batches[] = { "1", "4" };

  if (fx == NULL)
    return;
  dir = g_build_filename (fx->dir, "mixed", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  for (int i = 0; i < 6; i++)
    {
      g_autofree char *png = NULL;
      g_autofree char *name = g_strdup_printf ("%02d.png", i < 3 ? i : i + 1);
      gsize len;
      char *path = g_build_filename (dir, name, NULL);

      g_assert_true (g_file_get_contents (fx->images[i], &png, &len, NULL));
      g_assert_true (g_file_set_contents (path, png, len, NULL));
      g_ptr_array_add (good, path);
    }
  g_ptr_array_add (good, NULL);
  bad = g_build_filename (dir, "03.png", NULL); /* sorts into the middle */
  g_assert_true (g_file_set_contents (bad, "\x89PNG\r\n\x1a\n but not really", -1, NULL));
  missing = g_build_filename (dir, "gone.png", NULL);

  for (gsize b = 0; b < G_N_ELEMENTS (batches); b++)
    {
      g_autoptr (GPtrArray) rows = NULL;
      RtRun r = rt_run (INFER, NULL, "--batch", batches[b], fx->model, dir, missing, NULL);

      g_assert_cmpint (r.status, ==, 1);
      g_assert_nonnull (strstr (r.err, "03.png"));
      g_assert_nonnull (strstr (r.err, "gone.png"));
      g_assert_true (g_str_has_prefix (r.err, "sightline-infer: "));
      rows = parse_csv (r.out, 0);
      assert_files (rows, (char *const *) good->pdata);
      assert_rows_agree (rows, 0.0f);
      rt_run_clear (&r);
    }
  for (guint i = 0; i + 1 < good->len; i++)
    g_unlink (g_ptr_array_index (good, i));
  g_unlink (bad);
  g_rmdir (dir);
}

/* Commas, quotes, spaces and non-ASCII letters in file names survive both formats. */
static void
test_quoting (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autofree char *png = NULL;
  g_autofree char *odd = NULL;
  g_autoptr (GPtrArray) rows = NULL;
  char *expected[2];
  gsize len;
  RtRun r;

  if (fx == NULL)
    return;
  odd = g_build_filename (fx->dir, "part 7, \"left\" \\ Größe.png", NULL);
  g_assert_true (g_file_get_contents (fx->images[0], &png, &len, NULL));
  g_assert_true (g_file_set_contents (odd, png, len, NULL));
  expected[0] = odd, expected[1] = NULL;

  r = rt_run (INFER, NULL, fx->model, odd, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_csv (r.out, 0);
  assert_files (rows, expected);
  rt_run_clear (&r);
  g_clear_pointer (&rows, g_ptr_array_unref);

  r = rt_run (INFER, NULL, "--json", fx->model, odd, NULL);
  g_assert_cmpint (r.status, ==, 0);
  rows = parse_json_lines (r.out, 0);
  assert_files (rows, expected);
  rt_run_clear (&r);
  g_unlink (odd);
}

/* Newlines, tabs, other control characters, backslashes, commas and quotes in
 * file names: every record stays one line in both formats, and decodes back
 * to the name; messages about such files are one line too. */
static void
test_control_characters (void)
{
  const RtFixture *fx = rt_fixture ();
  const char *names[]
      = { "two\nlines.png", "tab\there,\"q\".png", "cr\r\x01\x7f.png", "back\\slash\\n.png" };
  g_autofree char *png = NULL, *bad = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  gsize len;

  if (fx == NULL)
    return;
  g_assert_true (g_file_get_contents (fx->images[0], &png, &len, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      char *path = g_build_filename (fx->dir, names[i], NULL);

      g_assert_true (g_file_set_contents (path, png, len, NULL));
      g_ptr_array_add (paths, path);
    }
  g_ptr_array_add (paths, NULL);
  bad = g_build_filename (fx->dir, "not\nan image.png", NULL);
  g_assert_true (g_file_set_contents (bad, "plain text", -1, NULL));

  for (int json = 0; json < 2; json++)
    {
      g_autoptr (GPtrArray) args = g_ptr_array_new ();
      g_autoptr (GPtrArray) rows = NULL;
      g_auto (GStrv) lines = NULL;
      RtRun r;

      if (json)
        g_ptr_array_add (args, "--json");
      g_ptr_array_add (args, fx->model);
      for (guint i = 0; i + 1 < paths->len; i++)
        g_ptr_array_add (args, g_ptr_array_index (paths, i));
      g_ptr_array_add (args, bad);
      g_ptr_array_add (args, NULL);
      r = rt_runv (INFER, NULL, (const char *const *) args->pdata);
      g_assert_cmpint (r.status, ==, 1);
      /* One line per record (plus the CSV header), one line for the bad file. */
      lines = g_strsplit (r.out, "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (names) + (json ? 0 : 1) + 1);
      g_assert_nonnull (strstr (r.err, "not\\nan image.png"));
      g_assert_true (g_str_has_suffix (r.err, "\n"));
      g_assert_true (strchr (r.err, '\n') == r.err + strlen (r.err) - 1); /* one line */
      rows = json ? parse_json_lines (r.out, 0) : parse_csv (r.out, 0);
      assert_files (rows, (char *const *) paths->pdata);
      assert_rows_agree (rows, 0.0f);
      rt_run_clear (&r);
    }
  for (guint i = 0; i + 1 < paths->len; i++)
    g_unlink (g_ptr_array_index (paths, i));
  g_unlink (bad);
}

/* A named pipe (or any non-regular file) is refused at once, never waited on:
 * named, inside a folder, in a stdin list, or given as the model. */
static void
test_special_files (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autofree char *dir = NULL, *fifo = NULL, *list = NULL, *copy = NULL, *png = NULL;
  gsize len;
  RtRun r;

  if (fx == NULL)
    return;
  dir = g_build_filename (fx->dir, "special", NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  fifo = g_build_filename (dir, "camera.png", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  copy = g_build_filename (dir, "real.png", NULL);
  g_assert_true (g_file_get_contents (fx->images[1], &png, &len, NULL));
  g_assert_true (g_file_set_contents (copy, png, len, NULL));

  /* Named: refused with a reason (a test that hangs here has failed). */
  r = rt_run (INFER, NULL, fx->model, fifo, copy, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "camera.png is not a regular file (a named pipe)"));
  g_assert_nonnull (strstr (r.out, "real.png"));
  rt_run_clear (&r);
  /* In a folder: skipped like any other file that is not an image. */
  r = rt_run (INFER, NULL, fx->model, dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "real.png"));
  g_assert_null (strstr (r.out, "camera.png"));
  rt_run_clear (&r);
  /* In a list on stdin. */
  list = g_build_filename (fx->dir, "special-list.txt", NULL);
  g_assert_true (g_file_set_contents (list, fifo, -1, NULL));
  r = rt_run (INFER, list, fx->model, "-", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "named pipe"));
  rt_run_clear (&r);
  /* As the model: the runtime's file reader refuses it too. */
  r = rt_run (INFER, NULL, fifo, copy, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "not a regular file"));
  rt_run_clear (&r);
  /* And the library itself, for programs that call sl_image_load. */
  {
    sl_image img;
    sl_error err = { 0 };

    g_assert_cmpint (sl_image_load (fifo, 0, &img, &err), ==, SL_ERR_IO);
    g_assert_nonnull (strstr (err.message, "not a regular file"));
  }
  g_unlink (fifo);
  g_unlink (copy);
  g_unlink (list);
  g_rmdir (dir);
}

static void
test_usage (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autofree char *garbage = NULL, *missing = NULL;
  RtRun r;

  if (fx == NULL)
    return;
  missing = g_build_filename (fx->dir, "missing.slmodel", NULL);
  r = rt_run (INFER, NULL, missing, fx->images[0], NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "cannot open the model"));
  g_assert_nonnull (strstr (r.err, "missing.slmodel"));
  g_assert_cmpstr (r.out, ==, "");
  rt_run_clear (&r);

  /* A file that is not a model at all. */
  r = rt_run (INFER, NULL, fx->images[0], fx->images[1], NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "cannot open the model"));
  rt_run_clear (&r);

  r = rt_runv (INFER, NULL, (const char *const[]){ NULL });
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "no model given"));
  rt_run_clear (&r);

  r = rt_run (INFER, NULL, "--top", "0", fx->model, fx->images[0], NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--top"));
  rt_run_clear (&r);

  r = rt_run (INFER, NULL, "--threshold", "1.5", fx->model, fx->images[0], NULL);
  g_assert_cmpint (r.status, ==, 2);
  rt_run_clear (&r);

  r = rt_run (INFER, NULL, "--device", "gpu", fx->model, fx->images[0], NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--device takes cpu, cuda or cuda:N"));
  rt_run_clear (&r);

  r = rt_run (INFER, NULL, "--no-such-option", fx->model, NULL);
  g_assert_cmpint (r.status, ==, 2);
  rt_run_clear (&r);

  r = rt_run (INFER, NULL, "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Usage: sightline-infer"));
  rt_run_clear (&r);

  r = rt_run (INFER, NULL, "--version", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, sl_version_string ()));
  g_assert_nonnull (strstr (r.out, ".slmodel format version 1"));
  rt_run_clear (&r);
}

/* The only CUDA module the runtime sees: fake-cuda-<variant>.so (tests/meson.build). */
static char *
fake_cuda_dir (const char *variant)
{
  const char *built = g_getenv ("SL_FAKE_CUDA_DIR");
  g_autofree char *name = g_strdup_printf ("fake-cuda-%s.so", variant);
  g_autofree char *src = built != NULL ? g_build_filename (built, name, NULL) : NULL;
  g_autofree char *contents = NULL, *dst = NULL;
  char *dir;
  gsize len;

  if (src == NULL || !g_file_get_contents (src, &contents, &len, NULL))
    return NULL;
  dir = g_dir_make_tmp ("sl-infer-cuda-XXXXXX", NULL);
  dst = g_build_filename (dir, "libsightline-cuda.so", NULL);
  g_assert_true (g_file_set_contents (dst, contents, (gssize) len, NULL));
  g_setenv ("SIGHTLINE_CUDA_MODULE_DIR", dir, TRUE);
  return dir;
}

static void
drop_fake_cuda_dir (char *dir)
{
  g_autofree char *module = g_build_filename (dir, "libsightline-cuda.so", NULL);

  g_unlink (module);
  g_rmdir (dir);
  g_free (dir);
  g_unsetenv ("SIGHTLINE_CUDA_MODULE_DIR");
}

/* --device: no GPU is an error that says why (nothing is classified); the
 * emulated GPU classifies as the CPU does. */
static void
test_device (void)
{
  const RtFixture *fx = rt_fixture ();
  g_autoptr (GPtrArray) rows = NULL;
  char *dir;
  RtRun r;

  if (fx == NULL)
    return;
  if ((dir = fake_cuda_dir ("nodriver")) == NULL)
    {
      g_test_skip ("the fake CUDA modules are not built (set SL_FAKE_CUDA_DIR)");
      return;
    }
  r = rt_run (INFER, NULL, "--device", "cuda", fx->model, fx->images[0], NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "cannot open the model"));
  g_assert_nonnull (strstr (r.err, "no NVIDIA driver"));
  g_assert_cmpstr (r.out, ==, "");
  rt_run_clear (&r);
  r = rt_run (INFER, NULL, "--device", "cpu", fx->model, fx->images[0], NULL);
  g_assert_cmpint (r.status, ==, 0);
  rt_run_clear (&r);
  drop_fake_cuda_dir (dir);

  dir = fake_cuda_dir ("emulated");
  r = rt_run (INFER, NULL, "--device", "cuda:0", "--batch", "3", fx->model, fx->images_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  rows = parse_csv (r.out, 0);
  assert_rows_agree (rows, 0.0f);
  rt_run_clear (&r);
  drop_fake_cuda_dir (dir);
}

static void
assert_bench_json (const char *out, int images)
{
  cJSON *obj = cJSON_Parse (out);
  cJSON *lat;

  g_assert_nonnull (obj);
  g_assert_cmpfloat (json_number (obj, "images"), ==, images);
  g_assert_cmpfloat (json_number (obj, "threads"), ==, 1);
  g_assert_cmpfloat (json_number (obj, "open_ms"), >, 0);
  g_assert_cmpfloat (json_number (obj, "first_prediction_ms"), >, 0);
  g_assert_cmpfloat_with_epsilon (
      json_number (obj, "cold_start_ms"),
      json_number (obj, "open_ms") + json_number (obj, "first_prediction_ms"), 0.01);
  lat = cJSON_GetObjectItemCaseSensitive (obj, "latency_ms");
  g_assert_cmpfloat (json_number (lat, "p50"), >, 0);
  g_assert_cmpfloat (json_number (lat, "p50"), <=, json_number (lat, "p90"));
  g_assert_cmpfloat (json_number (lat, "p90"), <=, json_number (lat, "p99"));
  g_assert_cmpfloat (json_number (lat, "p99"), <=, json_number (lat, "max"));
  g_assert_cmpfloat (json_number (obj, "batch"), ==, 8);
  g_assert_cmpfloat (json_number (obj, "throughput_images_per_s"), >, 0);
  g_assert_cmpfloat (json_number (obj, "peak_rss_mib"), >, 1);
  cJSON_Delete (obj);
}

static void
test_bench (void)
{
  const RtFixture *fx = rt_fixture ();
  RtRun r;

  if (fx == NULL)
    return;
  r = rt_run (INFER, NULL, "--bench", "--json", "--iterations", "30", "--batch", "8", "--threads",
              "1", fx->model, fx->images[0], fx->images[1], fx->images[2], NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_bench_json (r.out, 3);
  rt_run_clear (&r);

  /* No images: a synthetic one; the table names every figure. */
  r = rt_run (INFER, NULL, "--bench", "--json", "--iterations", "30", "--batch", "8", "--threads",
              "1", fx->model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_bench_json (r.out, 0);
  rt_run_clear (&r);

  r = rt_run (INFER, NULL, "--bench", "--iterations", "30", "--batch", "8", fx->model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  for (const char *const *w
       = (const char *const[]){ "cold start", "p50", "p99", "throughput", "peak RSS", NULL };
       *w != NULL; w++)
    g_assert_nonnull (strstr (r.out, *w));
  rt_run_clear (&r);
}

static void
assert_no_desktop_libraries (char **needed)
{
  static const char *const forbidden[]
      = { "libglib", "libgobject", "libgio", "libgtk", "libgdk", "libsqlite", "libcairo" };

  for (int i = 0; needed[i] != NULL; i++)
    for (gsize f = 0; f < G_N_ELEMENTS (forbidden); f++)
      if (g_str_has_prefix (needed[i], forbidden[f]))
        g_error ("links %s, which the runtime must not need", needed[i]);
}

/* The runner and the library it links need nothing from the desktop stack. */
static void
test_linkage (void)
{
  g_auto (GStrv) infer = rt_elf_needed (g_getenv (INFER));
  g_auto (GStrv) lib = rt_elf_needed (g_getenv ("SL_LIBSIGHTLINE"));
  gboolean has_runtime = FALSE;

  for (int i = 0; infer[i] != NULL; i++)
    has_runtime |= g_str_has_prefix (infer[i], "libsightline.so");
  g_assert_true (has_runtime);
  assert_no_desktop_libraries (infer);
  assert_no_desktop_libraries (lib);
  g_assert_true (g_strv_contains ((const char *const *) lib, "libc.so.6"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/runtime/infer/files", test_files);
  g_test_add_func ("/runtime/infer/device", test_device);
  g_test_add_func ("/runtime/infer/folder", test_folder);
  g_test_add_func ("/runtime/infer/stdin", test_stdin);
  g_test_add_func ("/runtime/infer/json", test_json);
  g_test_add_func ("/runtime/infer/top", test_top);
  g_test_add_func ("/runtime/infer/threshold", test_threshold);
  g_test_add_func ("/runtime/infer/batch", test_batch);
  g_test_add_func ("/runtime/infer/corrupt", test_corrupt);
  g_test_add_func ("/runtime/infer/quoting", test_quoting);
  g_test_add_func ("/runtime/infer/control-characters", test_control_characters);
  g_test_add_func ("/runtime/infer/special-files", test_special_files);
  g_test_add_func ("/runtime/infer/usage", test_usage);
  g_test_add_func ("/runtime/infer/bench", test_bench);
  g_test_add_func ("/runtime/infer/linkage", test_linkage);
  return g_test_run ();
}
