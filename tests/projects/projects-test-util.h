/* projects-test-util.h: helpers for the projects tests: temporary folders, Fashion-MNIST PNG trees, a frozen-prefix small-bn, a test backbone. */
#pragma once

#include <glib.h>
#include <stdarg.h>

#include "sl-project.h"
#include "sl-run.h"
#include "sl-files.h"

/* A new temporary folder; removed with sl_remove_tree (sl-files.h). */
char *pt_make_tmp (void);

/* The small-bn preset's description for 28x28 gray images and `classes` classes, with every
 * layer before the first dense one frozen (g_free). */
char *pt_frozen_small_bn_json (int classes);

/* Writes the first n Fashion-MNIST images of a split (train or t10k) as
 * dir/<class name>/<prefix>-NNNNN.png, using only classes < n_classes.
 * Returns the number written, or -1 after g_test_skip when the data set is
 * missing. */
int pt_write_fmnist_tree (const char *dir, gboolean train, int n, int n_classes,
                          const char *prefix);

/* Makes the folder `path` read-only for this process, for good: as root, by
 * mounting it read-only in a new mount namespace of its own (a read-only
 * medium: only this process sees it); otherwise by taking the write bits off
 * it and its project.db. Call it in a test subprocess. Returns FALSE after
 * g_test_skip when neither is possible (root without CAP_SYS_ADMIN). */
gboolean pt_make_read_only (const char *path);

/* Counts the regular files below a folder. */
int pt_count_files (const char *dir);

/* A project created in a new temporary folder with the images of
 * pt_write_fmnist_tree imported and split (70/15/15, seed 1). NULL after a
 * skip. *tmp receives the folder to remove. */
SlProject *pt_fmnist_project (int n, int n_classes, char **tmp);

/* Writes a seeded, randomly initialised EfficientNet-Lite0 backbone (a 2-class head, so the file
 * stays small) to dir/efficientnet-lite0.slmodel and makes it the only backbone this process and
 * the programs it starts find (SIGHTLINE_BACKBONE_PATH=dir, SIGHTLINE_BACKBONE_PATH_ONLY=1):
 * for tests of what runs do with a backbone, without the 18 MB pretrained one installed. */
void pt_install_test_backbone (const char *dir);

/* Imports every image below dir as class_name (made when missing), asserting that it succeeds;
 * the new images' ids go to *ids (g_array_unref) when ids is not NULL. */
void pt_import_as (SlProject *project, const char *dir, const char *class_name, GArray **ids);

/* Runs a train job (a fit for an anomaly config) with config to its end, asserting that it
 * succeeds; clears config. Returns the run's id. */
gint64 pt_run_job (SlProject *project, SlRunConfig *config);

/* The CLI under test: $SL_CLI, or the sightline-cli built beside the tests (G_TEST_BUILDDIR is
 * tests/); NULL when it is not built. */
const char *pt_cli_path (void);

/* Runs pt_cli_path () with the NULL-terminated arguments; its stdout and stderr into *out and
 * *err (either may be NULL: dropped; stderr also goes to the test log). Returns the exit status,
 * 128 + the signal when it was killed. */
int pt_cli_argv (char **out, char **err, const char *const *args);
int pt_cli_va (char **out, char **err, const char *first, va_list ap);
int pt_cli (char **out, char **err, const char *first, ...) G_GNUC_NULL_TERMINATED;

/* The fixture of the anomaly fit and export tests: a temporary folder with the random-weight test
 * backbone installed (pt_install_test_backbone), the folder for the synthetic images and the
 * project the test makes. */
typedef struct
{
  char *tmp, *images;
  SlProject *project;
} PtAnomalyFixture;

void pt_anomaly_fixture_set_up (PtAnomalyFixture *f, gconstpointer data);
/* Unrefs the project, removes the folder. */
void pt_anomaly_fixture_tear_down (PtAnomalyFixture *f, gconstpointer data);
