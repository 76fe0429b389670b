/* sl-demo-project.h: Fashion-MNIST as PNG class folders, and the workbench's ready-made demo project. */
#pragma once

#include <gio/gio.h>

#include "sl-project.h"

G_BEGIN_DECLS

/* Where Debian's dataset-fashion-mnist puts the IDX files. */
#define SL_DEMO_DATA_DIR "/usr/share/datasets/fashion-mnist"

/* Images in the workbench's demo project. */
#define SL_DEMO_IMAGES 1500

/* Writes the first `limit` images of a Fashion-MNIST split ("train" or
 * "t10k") from data_dir as dest/<class>/<prefix>-NNNNN.png, one folder per
 * class. A missing data set is an SL_PROJECT_ERROR_NOT_FOUND error whose
 * message says which file is missing; callers add how to get it. */
gboolean sl_demo_write_pngs (const char *data_dir, const char *split, int limit, const char *dest,
                             const char *prefix, GCancellable *cancellable, GError **error);

/* Progress of sl_demo_project_build: fraction in 0..1 and what it is doing.
 * Called on the building thread. */
typedef void (*SlDemoProgressFunc) (double fraction, const char *what, gpointer user_data);

/* Builds a ready project at `path` (missing or empty): the first n_images
 * Fashion-MNIST training images imported with labels from their folders,
 * split 70/15/15 (seed 1), and a stored three-step chain (Gaussian blur,
 * CLAHE, normalize) with a 28x28 gray input whose mean and standard
 * deviation are measured on the chain's output. Blocks: run it in a thread. */
SlProject *sl_demo_project_build (const char *path, const char *data_dir, int n_images,
                                  SlDemoProgressFunc progress, gpointer user_data,
                                  GCancellable *cancellable, GError **error);

/* The demo project's home: $XDG_DATA_HOME/sightline/demo-project. */
char *sl_demo_project_default_path (void);

/* Makes sure a demo project exists at `path`: an existing project there is
 * kept as it is (it may hold the user's labels); otherwise one is built next
 * to it and moved into place only when complete, so a cancel or a crash never
 * leaves half a project behind. Blocks: run it in a thread. */
gboolean sl_demo_project_ensure (const char *path, const char *data_dir, int n_images,
                                 SlDemoProgressFunc progress, gpointer user_data,
                                 GCancellable *cancellable, GError **error);

G_END_DECLS
