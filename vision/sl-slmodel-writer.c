/* sl-slmodel-writer.c: writing a model with its preprocessing pipeline and labels as a .slmodel file. */
#include "sl-classifier-private.h"
#include "sl-error-private.h"
#include "sl-image-private.h"
#include "sl-slmodel-private.h"

#include <stdlib.h>

sl_status
sl_slmodel_save (const sl_model *model, const sl_pipeline *pipeline, const sl_slmodel_info *info,
                 const char *path, sl_error *err)
{
  sl_input_spec spec;
  int c, h, w;
  char *pipeline_json;
  sl_status st;

  if (model == NULL || pipeline == NULL || path == NULL)
    return sl_error_set (err, SL_ERR_INVALID,
                         "saving a model needs a model, a pipeline and a path");
  st = sl_pipeline_validate (pipeline, err);
  if (st != SL_OK)
    return st;
  sl_pipeline_get_input (pipeline, &spec);
  sl_model_input_shape (model, &c, &h, &w);
  if (spec.channels != c || spec.height != h || spec.width != w)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the pipeline makes %dx%dx%d images but the model takes %dx%dx%d",
                         spec.width, spec.height, spec.channels, w, h, c);
  pipeline_json = sl_pipeline_to_json (pipeline);
  if (pipeline_json == NULL)
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory saving %s", path);
  st = sl_slmodel_write (model, pipeline_json, info, sl_opencv_version (), path, err);
  free (pipeline_json);
  return st;
}
