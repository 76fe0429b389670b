/* sl-project.h: project folders: the image store, classes, labels, splits and data health. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SL_PROJECT_ERROR (sl_project_error_quark ())

typedef enum
{
  SL_PROJECT_ERROR_NOT_A_PROJECT, /* the folder holds no project.db */
  SL_PROJECT_ERROR_NEWER_SCHEMA,  /* written by a newer Sightline */
  SL_PROJECT_ERROR_EXISTS,        /* creating over an existing project */
  SL_PROJECT_ERROR_DATABASE,      /* SQLite reported an error */
  SL_PROJECT_ERROR_IO,            /* a file could not be read or written */
  SL_PROJECT_ERROR_NOT_FOUND,     /* no such class, image or run */
  SL_PROJECT_ERROR_INVALID,       /* a bad argument or setting */
  SL_PROJECT_ERROR_RUNTIME,       /* the engine or vision layer failed */
  SL_PROJECT_ERROR_NO_DATA,       /* not enough labelled or split images */
  SL_PROJECT_ERROR_DATA_CHANGED,  /* a run's images, labels or splits changed */
  SL_PROJECT_ERROR_BUSY,          /* another process is training the run */
  SL_PROJECT_ERROR_DAMAGED,       /* project.db is empty or corrupt: see sl_project_repair */
  SL_PROJECT_ERROR_READ_ONLY,     /* the project opened read-only and this call writes */
} SlProjectError;

GQuark sl_project_error_quark (void);

/* The schema version this build writes (PRAGMA user_version). */
#define SL_PROJECT_SCHEMA_VERSION 4

typedef struct _SlProject SlProject;

/* Creates `path` (which must be missing or empty) as a new project. */
SlProject *sl_project_create (const char *path, const char *name, GError **error);
/* Opens a project; removes what a dead import, training or run delete left
 * (temporary files, copies without a row), never what the lock of a live
 * process covers (see projects/README.md, "Several processes, one project"). */
SlProject *sl_project_open (const char *path, GError **error);
/* Opens a second connection to an open project, for one worker thread (a
 * connection must not be shared by threads that run transactions); it does no
 * clean-up of files. */
SlProject *sl_project_open_worker (const char *path, GError **error);
SlProject *sl_project_ref (SlProject *self);
/* Whether the project opened read-only (a read-only medium, or no permission
 * to write its folder or project.db); reading works, every write fails with
 * SL_PROJECT_ERROR_READ_ONLY. The reason is a sentence for a banner (NULL when
 * writable). */
gboolean sl_project_is_read_only (SlProject *self);
const char *sl_project_get_read_only_reason (SlProject *self);
/* Fails with SL_PROJECT_ERROR_READ_ONLY, saying why, when the project is read-only. */
gboolean sl_project_check_writable (SlProject *self, GError **error);
void sl_project_unref (SlProject *self);

const char *sl_project_get_path (SlProject *self);
char *sl_project_dup_name (SlProject *self);
/* The absolute path of an image's stored copy. */
char *sl_project_image_path (SlProject *self, const char *hash, const char *ext);

/* The project's settings (pipeline, augmentation, reject threshold, export
 * folder) are read and written through sl-project-settings.h. */

/* ---- Import ---------------------------------------------------------------- */

typedef enum
{
  SL_IMPORT_ADDED,
  SL_IMPORT_DUPLICATE,  /* same content as an image already in the project */
  SL_IMPORT_UNREADABLE, /* could not be read or decoded; skipped */
  SL_IMPORT_NOT_IMAGE,  /* not an image file name; skipped */
} SlImportOutcome;

typedef struct
{
  char *path;
  SlImportOutcome outcome;
  char *reason; /* for duplicates: which image it duplicates */
} SlImportIssue;

typedef struct
{
  gint64 files; /* files seen */
  gint64 added;
  gint64 duplicates;
  gint64 unreadable;
  gint64 not_images;
  gint64 classes_created;
  gint64 conflicts; /* duplicates found in another class folder (see SlLabelConflict) */
  double seconds;
  GArray *image_ids; /* gint64: images added, in file order */
  GPtrArray *issues; /* SlImportIssue: every file not added */
  gboolean cancelled;
} SlImportResult;

typedef struct
{
  gint64 done, total;
  const char *current; /* the file being imported */
} SlImportProgress;

typedef void (*SlImportProgressFunc) (const SlImportProgress *progress, gpointer user_data);

typedef enum
{
  SL_IMPORT_FLAGS_NONE = 0,
  /* The first folder below the root names the class (in an anomaly project a folder
   * "good", in any case, is the class "good"; any other names a kind of defect). */
  SL_IMPORT_LABELS_FROM_FOLDERS = 1 << 0,
} SlImportFlags;

/* Imports every image file below `folder` (recursively). Batches are committed
 * as they go, so a cancel or a crash keeps the images already imported and
 * nothing half-imported. On cancel returns FALSE with G_IO_ERROR_CANCELLED and
 * still fills *result with what was done. max_pixels <= 0: the vision default. */
gboolean sl_project_import_folder (SlProject *self, const char *folder, SlImportFlags flags,
                                   gint64 max_pixels, SlImportProgressFunc progress,
                                   gpointer user_data, GCancellable *cancellable,
                                   SlImportResult *result, GError **error);
/* Imports a list of paths as one import: a folder is imported as
 * sl_project_import_folder imports it; a file is imported unlabelled (a path
 * that cannot be read becomes an issue). Same batching, cancel and result as
 * sl_project_import_folder. */
gboolean sl_project_import_files (SlProject *self, const char *const *paths, gsize n,
                                  SlImportFlags flags, gint64 max_pixels,
                                  SlImportProgressFunc progress, gpointer user_data,
                                  GCancellable *cancellable, SlImportResult *result,
                                  GError **error);
/* Imports a list of paths (files, and folders recursively, whose subfolders do not name
 * classes) labelling every image `class_name`, a class created if missing (counted in
 * classes_created). A duplicate of an image with another label is a label conflict, as
 * for folder labels. Same batching, cancel and result as sl_project_import_files. */
gboolean sl_project_import_files_as (SlProject *self, const char *const *paths, gsize n,
                                     const char *class_name, gint64 max_pixels,
                                     SlImportProgressFunc progress, gpointer user_data,
                                     GCancellable *cancellable, SlImportResult *result,
                                     GError **error);
void sl_import_result_clear (SlImportResult *result);

/* ---- Classes and labels ---------------------------------------------------- */

typedef struct
{
  gint64 id;
  char *name;
  char *color;    /* "#rrggbb" */
  char *shortcut; /* a key for the labeling view, or NULL */
  gint64 images;  /* labelled, not ignored */
} SlClass;

void sl_class_free (SlClass *klass);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlClass, sl_class_free)

/* Classes in display order (GPtrArray of SlClass, owning). */
GPtrArray *sl_project_list_classes (SlProject *self, GError **error);
SlClass *sl_project_find_class (SlProject *self, const char *name, GError **error);
/* color and shortcut may be NULL for the defaults. Returns the id, or -1. */
gint64 sl_project_add_class (SlProject *self, const char *name, const char *color,
                             const char *shortcut, GError **error);
gboolean sl_project_rename_class (SlProject *self, gint64 class_id, const char *name,
                                  GError **error);
gboolean sl_project_set_class_style (SlProject *self, gint64 class_id, const char *color,
                                     const char *shortcut, GError **error);
/* Moves every image of `from` into `into` and removes `from`. */
gboolean sl_project_merge_classes (SlProject *self, gint64 from, gint64 into, GError **error);

typedef enum
{
  SL_CLASS_DELETE_UNLABEL,       /* its images stay, unlabelled */
  SL_CLASS_DELETE_REMOVE_IMAGES, /* its images leave the project (stored copies deleted) */
} SlClassDeleteMode;

/* Deletes a class; *n_images (may be NULL) receives how many images it touched. */
gboolean sl_project_delete_class (SlProject *self, gint64 class_id, SlClassDeleteMode mode,
                                  gint64 *n_images, GError **error);

/* class_id < 0 clears the labels. Missing image ids are an error; nothing changes then. */
gboolean sl_project_set_labels (SlProject *self, const gint64 *image_ids, gsize n, gint64 class_id,
                                GError **error);
gboolean sl_project_set_ignored (SlProject *self, const gint64 *image_ids, gsize n,
                                 gboolean ignored, GError **error);

/* ---- Images ----------------------------------------------------------------- */

typedef enum
{
  SL_SPLIT_NONE = 0,
  SL_SPLIT_TRAIN,
  SL_SPLIT_VAL,
  SL_SPLIT_TEST,
} SlSplit;

const char *sl_split_to_string (SlSplit split); /* "none", "train", "val", "test" */
gboolean sl_split_from_string (const char *name, SlSplit *split);

typedef struct
{
  gint64 id;
  char *hash;
  char *ext;
  char *original_path;
  int width, height, channels, depth;
  gint64 class_id; /* -1: unlabelled */
  char *class_name;
  gboolean ignored;
  SlSplit split;
  gint64 bytes;      /* size of the stored file */
  char *imported_at; /* ISO 8601 UTC */
} SlImageInfo;

void sl_image_info_free (SlImageInfo *info);

typedef struct
{
  gint64 class_id; /* -2: any, -1: unlabelled only */
  int split;       /* -1: any, else an SlSplit */
  gboolean include_ignored;
  gint64 limit; /* 0: all */
} SlImageFilter;

void sl_image_filter_init (SlImageFilter *filter);
/* Images in id order (GPtrArray of SlImageInfo, owning). */
GPtrArray *sl_project_list_images (SlProject *self, const SlImageFilter *filter, GError **error);
/* One image by id. */
SlImageInfo *sl_project_get_image (SlProject *self, gint64 image_id, GError **error);
/* Finds an image by id ("42") or by a unique prefix of its hash (at least 6 hex digits). */
gint64 sl_project_resolve_image (SlProject *self, const char *ref, GError **error);

/* ---- Splits ----------------------------------------------------------------- */

typedef struct
{
  double train, val, test; /* fractions; normalised to sum 1 */
  guint64 seed;
  gboolean resplit; /* reassign every image, not only those without a split */
} SlSplitConfig;

void sl_split_config_init (SlSplitConfig *config); /* 70/15/15, seed 1 */

/* Assigns labelled, non-ignored images to train/val/test, stratified per
 * class: the same images, labels and seed give the same split, whatever the
 * import order. A class with >= 2 images gets a validation image. *assigned
 * (may be NULL) receives how many images got a split. */
gboolean sl_project_split (SlProject *self, const SlSplitConfig *config, gint64 *assigned,
                           GError **error);
/* Puts images into a split by hand (SL_SPLIT_NONE removes them from every split). */
gboolean sl_project_set_split (SlProject *self, const gint64 *image_ids, gsize n, SlSplit split,
                               GError **error);

/* ---- Data health ------------------------------------------------------------ */

typedef struct
{
  gint64 class_id;
  char *name;
  gint64 total, train, val, test, unsplit;
} SlClassCount;

typedef struct
{
  char *code;       /* stable key, e.g. "imbalance" */
  char *message;    /* what is wrong, in plain words */
  char *suggestion; /* what to do about it */
} SlHealthWarning;

typedef struct
{
  int width, height, channels;
  gint64 count;
} SlShapeCount;

typedef struct
{
  gint64 images;     /* in the store */
  gint64 labelled;   /* labelled and not ignored */
  gint64 unlabelled; /* not ignored */
  gint64 ignored;
  gint64 duplicates;        /* files skipped at import as duplicates */
  gint64 unreadable;        /* files skipped at import as unreadable */
  double imbalance;         /* largest class / smallest class (0 without classes) */
  GPtrArray *classes;       /* SlClassCount */
  GPtrArray *shapes;        /* SlShapeCount, most common first */
  GPtrArray *warnings;      /* SlHealthWarning */
  gint64 missing;           /* image rows whose stored copy is gone from images/ */
  GPtrArray *missing_names; /* char *: the original file names of the missing images */
  gint64 transparent;       /* images with an alpha channel */
  gint64 conflicts;         /* images found in two class folders, not yet resolved */
} SlProjectStats;

gboolean sl_project_get_stats (SlProject *self, SlProjectStats *stats, GError **error);
void sl_project_stats_clear (SlProjectStats *stats);

/* The import issues recorded in the project (GPtrArray of SlImportIssue). */
GPtrArray *sl_project_list_import_issues (SlProject *self, GError **error);

/* ---- Label conflicts (sl-project-conflicts.c) ------------------------------- */

/* The same picture met in a class folder other than the one whose label it
 * kept (the first file imported names its label). One per later file. */
typedef struct
{
  gint64 image_id;
  char *image_path;  /* the file the image was first imported from */
  char *kept_class;  /* the label it has now (NULL: unlabelled) */
  char *path;        /* the later file with the same content */
  char *other_class; /* the class that file's folder names */
} SlLabelConflict;

void sl_label_conflict_free (SlLabelConflict *conflict);
/* Whether an import issue (a duplicate) is such a conflict. */
gboolean sl_import_issue_is_conflict (const SlImportIssue *issue);
/* Unresolved conflicts by image, then file (GPtrArray of SlLabelConflict). */
GPtrArray *sl_project_list_label_conflicts (SlProject *self, GError **error);
/* The user's choice: labels the image `class_name` (created if missing; NULL
 * unlabels it) and forgets its conflicts. Labelling the image any other way
 * also resolves them. */
gboolean sl_project_resolve_label_conflict (SlProject *self, gint64 image_id,
                                            const char *class_name, GError **error);

/* ---- Damaged projects (sl-project-repair.c) ----------------------------------- */

typedef struct
{
  char *kept_path;      /* where the damaged project.db (and its -wal) now is */
  gint64 images;        /* image rows rebuilt from images/ */
  gint64 images_labels; /* of them, with label, split and name read from the damaged file */
  gint64 bad_files;     /* files in images/ that did not decode (left in place, not indexed) */
  gint64 classes;       /* classes recovered */
  gint64 runs;          /* runs recovered (rows from the damaged file or runs/run-N/recipe.json) */
  GPtrArray *notes;     /* char *: what could not be recovered, one sentence each */
} SlRepairResult;

void sl_repair_result_clear (SlRepairResult *result);
/* Rebuilds a damaged project's index: moves project.db (and -wal, -shm) aside
 * as project.db.damaged-<time> (never deleted), creates a new project.db,
 * indexes every stored image in images/, and copies from the damaged file
 * whatever still reads (name, classes, labels, splits, runs, metrics); runs
 * it does not hold come back from runs/run-N/recipe.json. Works on a healthy
 * project too (it then only re-indexes). */
gboolean sl_project_repair (const char *path, SlRepairResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlProject, sl_project_unref)

G_END_DECLS
