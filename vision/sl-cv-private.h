/* sl-cv-private.h: the OpenCV boundary: exception guards and sl_image <-> cv::Mat (C++ only). */
#pragma once

#include "sl-vision.h"

extern "C"
{ /* C linkage for the engine's error helpers, guarded or not */
#include "sl-error-private.h"
}

#include <new>
#include <opencv2/core.hpp>

/* Every extern "C" entry that touches OpenCV is wrapped in these, so that no
 * exception crosses into C: each one becomes a status and a message. */
#define SL_CV_TRY try
#define SL_CV_CATCH(err)                                                                           \
  catch (const cv::Exception &e)                                                                   \
  {                                                                                                \
    return _sl_cv_error (err, e);                                                                  \
  }                                                                                                \
  catch (const std::bad_alloc &)                                                                   \
  {                                                                                                \
    return sl_error_set (err, SL_ERR_NOMEM, "out of memory while processing an image");            \
  }                                                                                                \
  catch (const std::exception &e)                                                                  \
  {                                                                                                \
    return sl_error_set (err, SL_ERR_INVALID, "image processing failed: %s", e.what ());           \
  }                                                                                                \
  catch (...)                                                                                      \
  {                                                                                                \
    return sl_error_set (err, SL_ERR_INVALID, "image processing failed for an unknown reason");    \
  }

sl_status _sl_cv_error (sl_error *err, const cv::Exception &e);

/* A header over the image's pixels: no copy, valid while img is. */
cv::Mat _sl_cv_mat (const sl_image *img);
/* Moves m into out (which is overwritten, not freed); m must be 8 or 16 bit with 1, 3 or 4
 * channels. Pixels that m does not own (a view of borrowed memory) are copied. */
sl_status _sl_cv_take (cv::Mat &m, sl_image *out, sl_error *err);
/* Whether an image's depth is 8-bit, for operators that need it. */
sl_status _sl_cv_need_8bit (const cv::Mat &m, const char *what, sl_error *err);
