/* sl-image.cpp: the sl_image type over cv::Mat: allocation, borrowing, copying and freeing. */
#include "sl-cv-private.h"

#include <cstring>

sl_status
_sl_cv_error (sl_error *err, const cv::Exception &e)
{
  sl_status code = e.code == cv::Error::StsNoMem ? SL_ERR_NOMEM : SL_ERR_INVALID;
  std::string msg = e.err;

  while (!msg.empty () && (msg.back () == '\n' || msg.back () == ' '))
    msg.pop_back ();
  return sl_error_set (err, code, "OpenCV %s failed: %s",
                       e.func.empty () ? "call" : e.func.c_str (), msg.c_str ());
}

static int
mat_type (int depth, int channels)
{
  return CV_MAKETYPE (depth == 16 ? CV_16U : CV_8U, channels);
}

static bool
shape_ok (int width, int height, int channels, int depth)
{
  return width > 0 && height > 0 && (channels == 1 || channels == 3 || channels == 4)
         && (depth == 8 || depth == 16);
}

cv::Mat
_sl_cv_mat (const sl_image *img)
{
  return cv::Mat (img->height, img->width, mat_type (img->depth, img->channels), img->data,
                  img->stride);
}

sl_status
_sl_cv_take (cv::Mat &m, sl_image *out, sl_error *err)
{
  int depth = m.depth () == CV_8U ? 8 : m.depth () == CV_16U ? 16 : 0;

  memset (out, 0, sizeof *out);
  if (m.dims != 2 || !shape_ok (m.cols, m.rows, m.channels (), depth))
    return sl_error_set (err, SL_ERR_INVALID,
                         "an operation produced an image of an unsupported kind "
                         "(%d channels, OpenCV depth %d)",
                         m.channels (), m.depth ());
  cv::Mat *owned = new cv::Mat (m.u != nullptr ? m : m.clone ());
  out->width = owned->cols;
  out->height = owned->rows;
  out->channels = owned->channels ();
  out->depth = depth;
  out->stride = owned->step[0];
  out->data = owned->data;
  out->owner = owned;
  m.release ();
  return SL_OK;
}

sl_status
_sl_cv_need_8bit (const cv::Mat &m, const char *what, sl_error *err)
{
  if (m.depth () != CV_8U)
    return sl_error_set (err, SL_ERR_INVALID,
                         "%s works on 8-bit images; add 'Convert to 8 bit' before it", what);
  return SL_OK;
}

extern "C" sl_status
sl_image_alloc (sl_image *img, int width, int height, int channels, int depth, sl_error *err)
{
  memset (img, 0, sizeof *img);
  if (!shape_ok (width, height, channels, depth))
    return sl_error_set (err, SL_ERR_INVALID,
                         "cannot make a %dx%d image with %d channels of %d bits "
                         "(channels must be 1, 3 or 4; bits 8 or 16)",
                         width, height, channels, depth);
  SL_CV_TRY
  {
    cv::Mat m (height, width, mat_type (depth, channels), cv::Scalar::all (0));
    return _sl_cv_take (m, img, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_image_borrow (sl_image *img, void *data, int width, int height, int channels, int depth,
                 size_t stride, sl_error *err)
{
  memset (img, 0, sizeof *img);
  if (!shape_ok (width, height, channels, depth) || data == NULL
      || stride < (size_t) width * channels * (depth / 8))
    return sl_error_set (err, SL_ERR_INVALID,
                         "cannot borrow a %dx%d image with %d channels of %d bits and a row "
                         "stride of %zu bytes",
                         width, height, channels, depth, stride);
  img->width = width;
  img->height = height;
  img->channels = channels;
  img->depth = depth;
  img->stride = stride;
  img->data = (uint8_t *) data;
  return SL_OK;
}

extern "C" sl_status
sl_image_copy (const sl_image *src, sl_image *dst, sl_error *err)
{
  memset (dst, 0, sizeof *dst);
  if (src == NULL || src->data == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "cannot copy an empty image");
  SL_CV_TRY
  {
    cv::Mat m = _sl_cv_mat (src).clone ();
    return _sl_cv_take (m, dst, err);
  }
  SL_CV_CATCH (err)
}

extern "C" void
sl_image_clear (sl_image *img)
{
  if (img == NULL)
    return;
  delete static_cast<cv::Mat *> (img->owner);
  memset (img, 0, sizeof *img);
}

extern "C" bool
sl_image_equal (const sl_image *a, const sl_image *b)
{
  size_t row;

  if (a->width != b->width || a->height != b->height || a->channels != b->channels
      || a->depth != b->depth)
    return false;
  row = (size_t) a->width * a->channels * (a->depth / 8);
  for (int y = 0; y < a->height; y++)
    if (memcmp (a->data + y * a->stride, b->data + y * b->stride, row) != 0)
      return false;
  return true;
}
