/* test-projects-finetune.c: fine-tuning mode strings: messages for bad N, and callers on many threads. */
#include "sl-backbone.h"

#include <string.h>

static void
test_bad_block_count (void)
{
  const char *bad[] = { "last:0", "last:", "last:-2", "last:1001", "last:x" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      SlFinetune mode;
      int blocks;

      g_assert_false (sl_finetune_from_string (bad[i], &mode, &blocks, &error));
      g_assert_error (error, SL_BACKBONE_ERROR, SL_BACKBONE_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_assert_nonnull (strstr (error->message, "1 to"));
      g_assert_nonnull (strstr (error->message, "16"));
    }
}

static gpointer
format_many (gpointer data)
{
  int base = GPOINTER_TO_INT (data);

  for (int round = 0; round < 20000; round++)
    {
      int n = 1 + (base + round) % 16;
      char want[16];
      const char *got = sl_finetune_to_string (SL_FINETUNE_LAST_BLOCKS, n);

      g_snprintf (want, sizeof want, "last:%d", n);
      /* Formatting on the other threads must not change a string already returned. */
      for (int k = 0; k < 4; k++)
        if (strcmp (got, want) != 0)
          return GINT_TO_POINTER (1);
    }
  return NULL;
}

/* The strings stay right while other threads format others (a shared ring of 4 buffers did
 * not). */
static void
test_to_string_threads (void)
{
  GThread *threads[8];
  int failures = 0;

  for (int i = 0; i < 8; i++)
    threads[i] = g_thread_new ("finetune", format_many, GINT_TO_POINTER (i * 3));
  for (int i = 0; i < 8; i++)
    failures += GPOINTER_TO_INT (g_thread_join (threads[i]));
  g_assert_cmpint (failures, ==, 0);
  g_assert_cmpstr (sl_finetune_to_string (SL_FINETUNE_HEAD, 0), ==, "head");
  g_assert_cmpstr (sl_finetune_to_string (SL_FINETUNE_ALL, 0), ==, "all");
  g_assert_true (sl_finetune_to_string (SL_FINETUNE_LAST_BLOCKS, 3)
                 == sl_finetune_to_string (SL_FINETUNE_LAST_BLOCKS, 3));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/finetune/bad-block-count", test_bad_block_count);
  g_test_add_func ("/finetune/to-string-threads", test_to_string_threads);
  return g_test_run ();
}
