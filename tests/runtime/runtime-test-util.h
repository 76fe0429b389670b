/* runtime-test-util.h: helpers of the runtime tests: a trained model and PNGs, running programs, CSV, ELF. */
#pragma once

#include <glib.h>

#include "sl-classifier.h"

G_BEGIN_DECLS

/* Made once per test program in a temporary folder, removed at exit. */
typedef struct
{
  char *dir;        /* the temporary folder */
  char *model;      /* a small-bn .slmodel trained for a few steps */
  char *images_dir; /* only the PNGs */
  char **images;    /* their paths, sorted by name, NULL-terminated */
  int n_images;
  sl_classifier *classifier; /* the model opened in-process, for comparisons */
} RtFixture;

/* The shared fixture; NULL after g_test_skip when Fashion-MNIST is missing. */
const RtFixture *rt_fixture (void);

typedef struct
{
  int status; /* exit status */
  char *out, *err;
} RtRun;

/* Runs the program named by the environment variable env_var with the
 * arguments (NULL-terminated); stdin is the file stdin_path or /dev/null. */
RtRun rt_run (const char *env_var, const char *stdin_path, const char *first,
              ...) G_GNUC_NULL_TERMINATED;
RtRun rt_runv (const char *env_var, const char *stdin_path, const char *const *args);
void rt_run_clear (RtRun *run);

/* Splits CSV text (RFC 4180 quoting) into rows of fields: a GPtrArray of
 * NULL-terminated string arrays (g_strfreev). */
GPtrArray *rt_csv_parse (const char *text);

/* The DT_NEEDED entries of an ELF file (g_strfreev). */
char **rt_elf_needed (const char *path);

G_END_DECLS
