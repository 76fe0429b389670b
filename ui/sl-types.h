/* sl-types.h: every ui/ type declared once, so headers can refer to each other freely. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct _SlSession SlSession;
typedef struct _SlWindow SlWindow;
typedef struct _SlWelcomeView SlWelcomeView;
typedef struct _SlToast SlToast;
typedef struct _SlNewProjectDialog SlNewProjectDialog;
typedef struct _SlDatasetPage SlDatasetPage;
typedef struct _SlPreprocessPage SlPreprocessPage;
typedef struct _SlImageList SlImageList;
typedef struct _SlThumbnailCache SlThumbnailCache;
typedef struct _SlClassList SlClassList;
typedef struct _SlImageDetails SlImageDetails;
typedef struct _SlImportDialog SlImportDialog;
typedef struct _SlSplitDialog SlSplitDialog;
typedef struct _SlPreviewWorker SlPreviewWorker;
typedef struct _SlPreviewPane SlPreviewPane;
typedef struct _SlImageView SlImageView;
typedef struct _SlParamEditor SlParamEditor;
typedef struct _SlRoiOverlay SlRoiOverlay;
typedef struct _SlStepRow SlStepRow;
typedef struct _SlOpCatalog SlOpCatalog;
typedef struct _SlInputSpecEditor SlInputSpecEditor;
typedef struct _SlAugmentEditor SlAugmentEditor;
typedef struct _SlChartSeries SlChartSeries;
typedef struct _SlChart SlChart;
typedef struct _SlRunner SlRunner;
typedef struct _SlTrainPage SlTrainPage;
typedef struct _SlTrainSettings SlTrainSettings;
typedef struct _SlRunList SlRunList;
typedef struct _SlRunChooser SlRunChooser;
typedef struct _SlEvaluatePage SlEvaluatePage;
typedef struct _SlConfusionMatrix SlConfusionMatrix;
typedef struct _SlPredictionObject SlPredictionObject;
typedef struct _SlPredictionCard SlPredictionCard;
typedef struct _SlExportPage SlExportPage;
typedef struct _SlTryResult SlTryResult;
typedef struct _SlPreferencesDialog SlPreferencesDialog;

G_END_DECLS
