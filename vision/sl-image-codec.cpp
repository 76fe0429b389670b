/* sl-image-codec.cpp: decoding and encoding images with OpenCV's imgcodecs, guarded against bad files. */
#include "sl-cv-private.h"
#include "sl-image-private.h"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

/* The decoded size is checked from the header, before any decoder runs: a
 * small file can describe a huge image. max_pixels bounds the pixels and,
 * at 4 bytes (8-bit RGBA) per pixel, the bytes of the decoded samples. */
/* "800 MB", "56 kB": sizes as a person reads them. */
static void
format_bytes (double bytes, char *out, size_t size)
{
  if (bytes >= 1e6)
    snprintf (out, size, "%.0f MB", bytes / 1e6);
  else
    snprintf (out, size, "%.0f kB", bytes / 1e3);
}

static sl_status
check_limits (const sl_image_header *h, const char *name, int64_t max_pixels, sl_error *err)
{
  uint64_t bytes;

  if (h->width <= 0 || h->height <= 0)
    return sl_error_set (err, SL_ERR_FORMAT, "%s: the %s header gives an empty size (%lldx%lld)",
                         name, sl_image_format_name (h->format), (long long) h->width,
                         (long long) h->height);
  if (h->width > max_pixels / h->height)
    return sl_error_set (err, SL_ERR_FORMAT,
                         "%s is %lldx%lld pixels, more than the limit of %lld pixels "
                         "(a decompression bomb or a wrong file)",
                         name, (long long) h->width, (long long) h->height, (long long) max_pixels);
  /* Both factors are below 2^37 here (pixels <= max_pixels, channels <= 64, bytes <= 8). */
  bytes = (uint64_t) h->width * (uint64_t) h->height * (uint64_t) h->channels
          * (uint64_t) h->sample_bytes;
  if (bytes / 4 > (uint64_t) max_pixels)
    {
      char need[32], limit[32];

      format_bytes ((double) bytes, need, sizeof need);
      format_bytes (4.0 * (double) max_pixels, limit, sizeof limit);
      return sl_error_set (err, SL_ERR_FORMAT,
                           "%s is %lldx%lld pixels of %d channels at %d bits: decoded it takes "
                           "%s, more than the limit of %s (4 bytes for each of %lld pixels; a "
                           "decompression bomb or a wrong file)",
                           name, (long long) h->width, (long long) h->height, h->channels,
                           8 * h->sample_bytes, need, limit, (long long) max_pixels);
    }
  return SL_OK;
}

/* BGR(A) to RGB(A) in place: a second image of the same size would double
 * the peak memory of decoding. */
static void
swap_red_blue (cv::Mat &m)
{
  int cn = m.channels ();

  for (int y = 0; y < m.rows; y++)
    {
      if (m.depth () == CV_16U)
        {
          uint16_t *p = m.ptr<uint16_t> (y);
          for (int x = 0; x < m.cols; x++, p += cn)
            std::swap (p[0], p[2]);
        }
      else
        {
          uint8_t *p = m.ptr<uint8_t> (y);
          for (int x = 0; x < m.cols; x++, p += cn)
            std::swap (p[0], p[2]);
        }
    }
}

static sl_status
decode_with_opencv (const void *data, size_t size, const sl_image_header *h, const char *name,
                    sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat buf (1, (int) size, CV_8U, const_cast<void *> (data));
    cv::Mat m = cv::imdecode (buf, cv::IMREAD_UNCHANGED);

    if (m.empty ())
      return sl_error_set (err, SL_ERR_FORMAT, "%s: the %s data is corrupt and cannot be decoded",
                           name, sl_image_format_name (h->format));
    if (m.depth () != CV_8U && m.depth () != CV_16U)
      return sl_error_set (err, SL_ERR_FORMAT,
                           "%s: only 8 and 16-bit integer samples are supported", name);
    if (m.channels () != 1 && m.channels () != 3 && m.channels () != 4)
      return sl_error_set (err, SL_ERR_FORMAT, "%s: %d channels are not supported", name,
                           m.channels ());
    if (m.channels () > 1)
      swap_red_blue (m);
    return _sl_cv_take (m, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_image_decode (const void *data, size_t size, const char *name, int64_t max_pixels, sl_image *out,
                 sl_error *err)
{
  sl_image_header h;
  sl_status st;
  bool handled = true;

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
  st = check_limits (&h, name, max_pixels, err);
  if (st != SL_OK)
    return st;
  if (size > INT_MAX)
    return sl_error_set (err, SL_ERR_FORMAT, "%s: image files over 2 GB are not supported", name);
  if (h.format == SL_FORMAT_PNG)
    return sl_png_decode ((const uint8_t *) data, size, name, out, err);
  if (h.format == SL_FORMAT_JPEG)
    {
      st = sl_jpeg_decode ((const uint8_t *) data, size, name, out, &handled, err);
      if (st != SL_OK || handled)
        return st;
    }
  if (h.format == SL_FORMAT_TIFF)
    {
      st = sl_tiff_check ((const uint8_t *) data, size, name, err);
      if (st != SL_OK)
        return st;
    }
  return decode_with_opencv (data, size, &h, name, out, err);
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
    cv::Mat m = _sl_cv_mat (img), bgr;
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
