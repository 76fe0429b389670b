/* sl-ops-geometry.cpp: operators that move pixels: crop, resize (stretch, pad, center crop), rotate, flip. */
#include "sl-cv-private.h"
#include "sl-ops-private.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

static const int interpolations[]
    = { cv::INTER_AREA, cv::INTER_LINEAR, cv::INTER_CUBIC, cv::INTER_NEAREST };

extern "C" sl_status
sl_op_crop (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  const sl_rect *r = &v[1].rect;
  long x0, y0, x1, y1;

  if (v[0].number == 0)
    {
      x0 = std::lround (r->x * in->width);
      y0 = std::lround (r->y * in->height);
      x1 = std::min ((long) in->width, std::lround ((r->x + r->width) * in->width));
      y1 = std::min ((long) in->height, std::lround ((r->y + r->height) * in->height));
    }
  else
    {
      x0 = (long) r->x;
      y0 = (long) r->y;
      x1 = (long) (r->x + r->width);
      y1 = (long) (r->y + r->height);
    }
  if (x1 <= x0 || y1 <= y0 || x1 > in->width || y1 > in->height)
    return sl_error_set (err, SL_ERR_INVALID,
                         "the crop region (x %g, y %g, %g x %g) does not fit in the %dx%d image",
                         r->x, r->y, r->width, r->height, in->width, in->height);
  SL_CV_TRY
  {
    cv::Mat dst = _sl_cv_mat (in) (cv::Rect ((int) x0, (int) y0, (int) (x1 - x0), (int) (y1 - y0)))
                      .clone ();
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_resize (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    int W = (int) v[0].number, H = (int) v[1].number, mode = (int) v[2].number;
    int interp = interpolations[(int) v[3].number];
    double sx = (double) W / src.cols, sy = (double) H / src.rows;

    if (mode == 0)
      cv::resize (src, dst, cv::Size (W, H), 0, 0, interp);
    else if (mode == 1)
      {
        double s = std::min (sx, sy);
        int w = std::clamp ((int) std::lround (src.cols * s), 1, W);
        int h = std::clamp ((int) std::lround (src.rows * s), 1, H);
        double pad = v[4].number * (src.depth () == CV_16U ? 257.0 : 1.0);
        cv::Mat scaled;

        cv::resize (src, scaled, cv::Size (w, h), 0, 0, interp);
        cv::copyMakeBorder (scaled, dst, (H - h) / 2, H - h - (H - h) / 2, (W - w) / 2,
                            W - w - (W - w) / 2, cv::BORDER_CONSTANT, cv::Scalar::all (pad));
      }
    else
      {
        double s = std::max (sx, sy);
        int w = std::max ((int) std::lround (src.cols * s), W);
        int h = std::max ((int) std::lround (src.rows * s), H);
        cv::Mat scaled;

        cv::resize (src, scaled, cv::Size (w, h), 0, 0, interp);
        dst = scaled (cv::Rect ((w - W) / 2, (h - H) / 2, W, H)).clone ();
      }
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_rotate (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  static const int codes[]
      = { cv::ROTATE_90_CLOCKWISE, cv::ROTATE_180, cv::ROTATE_90_COUNTERCLOCKWISE };
  SL_CV_TRY
  {
    cv::Mat dst;

    cv::rotate (_sl_cv_mat (in), dst, codes[(int) v[0].number]);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_flip (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  static const int codes[] = { 1, 0, -1 };
  SL_CV_TRY
  {
    cv::Mat dst;

    cv::flip (_sl_cv_mat (in), dst, codes[(int) v[0].number]);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}
