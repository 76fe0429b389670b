/* sl-image-codec.cpp: decoding and encoding images with OpenCV's imgcodecs, guarded against bad files. */
#include "sl-cv-private.h"
#include "sl-image-private.h"

#include <cstdlib>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

extern "C" sl_status
sl_image_decode (const void *data, size_t size, const char *name, int64_t max_pixels, sl_image *out,
                 sl_error *err)
{
  sl_image_header h;
  sl_status st;

  memset (out, 0, sizeof *out);
  if (name == NULL)
    name = "image";
  if (data == NULL && size > 0)
    return sl_error_set (err, SL_ERR_INVALID, "%s: no data to decode", name);
  st = sl_image_probe ((const uint8_t *) data, size, name, &h, err);
  if (st != SL_OK)
    return st;
  if (max_pixels <= 0)
    max_pixels = SL_IMAGE_DEFAULT_MAX_PIXELS;
  if (h.width <= 0 || h.height <= 0)
    return sl_error_set (err, SL_ERR_FORMAT, "%s: the %s header gives an empty size (%lldx%lld)",
                         name, sl_image_format_name (h.format), (long long) h.width,
                         (long long) h.height);
  if (h.width > max_pixels / h.height)
    return sl_error_set (err, SL_ERR_FORMAT,
                         "%s is %lldx%lld pixels, more than the limit of %lld pixels "
                         "(a decompression bomb or a wrong file)",
                         name, (long long) h.width, (long long) h.height, (long long) max_pixels);
  SL_CV_TRY
  {
    cv::Mat buf (1, (int) size, CV_8U, const_cast<void *> (data));
    cv::Mat m = cv::imdecode (buf, cv::IMREAD_UNCHANGED), rgb;

    if (m.empty ())
      return sl_error_set (err, SL_ERR_FORMAT, "%s: the %s data is corrupt and cannot be decoded",
                           name, sl_image_format_name (h.format));
    if (m.depth () != CV_8U && m.depth () != CV_16U)
      return sl_error_set (err, SL_ERR_FORMAT,
                           "%s: only 8 and 16-bit integer samples are supported", name);
    switch (m.channels ())
      {
        case 1: rgb = m; break;
        case 3: cv::cvtColor (m, rgb, cv::COLOR_BGR2RGB); break;
        case 4: cv::cvtColor (m, rgb, cv::COLOR_BGRA2RGBA); break;
        default:
          return sl_error_set (err, SL_ERR_FORMAT, "%s: %d channels are not supported", name,
                               m.channels ());
      }
    return sl_cv_take (rgb, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_image_encode (const sl_image *img, const char *ext, uint8_t **out, size_t *size, sl_error *err)
{
  *out = NULL;
  *size = 0;
  if (img == NULL || img->data == NULL)
    return sl_error_set (err, SL_ERR_INVALID, "cannot save an empty image");
  SL_CV_TRY
  {
    cv::Mat m = sl_cv_mat (img), bgr;
    std::vector<uchar> buf;

    if (img->channels == 3)
      cv::cvtColor (m, bgr, cv::COLOR_RGB2BGR);
    else if (img->channels == 4)
      cv::cvtColor (m, bgr, cv::COLOR_RGBA2BGRA);
    else
      bgr = m;
    if (!cv::imencode (ext, bgr, buf))
      return sl_error_set (err, SL_ERR_INVALID, "cannot encode a %d-bit image as %s", img->depth,
                           ext);
    *out = (uint8_t *) malloc (buf.size () ? buf.size () : 1);
    if (*out == NULL)
      return sl_error_set (err, SL_ERR_NOMEM, "out of memory for an encoded image");
    memcpy (*out, buf.data (), buf.size ());
    *size = buf.size ();
    return SL_OK;
  }
  SL_CV_CATCH (err)
}

extern "C" const char *
sl_opencv_version (void)
{
  return CV_VERSION;
}
