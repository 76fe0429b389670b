/* sl-ops-color.cpp: operators that change channels or bit depth, or select by colour: gray, RGB, HSV channel, colour range, 8 bit, invert. */
#include "sl-cv-private.h"
#include "sl-ops-private.h"

#include <opencv2/imgproc.hpp>

extern "C" sl_status
sl_op_gray (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;

    if (src.channels () == 1)
      dst = src.clone ();
    else
      cv::cvtColor (src, dst, src.channels () == 4 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_rgb (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;

    if (src.channels () == 3)
      dst = src.clone ();
    else
      cv::cvtColor (src, dst, src.channels () == 4 ? cv::COLOR_RGBA2RGB : cv::COLOR_GRAY2RGB);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_hsv_channel (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), rgb, hsv, dst;
    sl_status st = _sl_cv_need_8bit (src, "HSV channel", err);

    if (st != SL_OK)
      return st;
    if (src.channels () == 1)
      return sl_error_set (err, SL_ERR_INVALID,
                           "HSV channel needs a colour image, and this one is gray");
    if (src.channels () == 4)
      cv::cvtColor (src, rgb, cv::COLOR_RGBA2RGB);
    else
      rgb = src;
    cv::cvtColor (rgb, hsv, cv::COLOR_RGB2HSV_FULL);
    cv::extractChannel (hsv, dst, (int) v[0].number);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_to_8bit (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;

    if (src.depth () == CV_8U)
      dst = src.clone ();
    else
      src.convertTo (dst, CV_8U, 1.0 / 257.0);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_invert (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;

    cv::bitwise_not (src, dst);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

/* Hue in degrees of an 8-bit RGB2HSV_FULL hue (0..255 spans the circle). */
static bool
hue_in_range (int h8, double low, double high)
{
  double deg = h8 * 360.0 / 256.0;

  return low <= high ? deg >= low && deg <= high : deg >= low || deg <= high;
}

extern "C" sl_status
sl_op_color_range (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), rgb, hsv, ch[3], hue_ok, sv_ok, mask, dst;
    cv::Mat lut (1, 256, CV_8U);
    sl_status st = _sl_cv_need_8bit (src, "Colour range", err);

    if (st != SL_OK)
      return st;
    if (src.channels () == 1)
      return sl_error_set (err, SL_ERR_INVALID,
                           "Colour range needs a colour image, and this one is gray");
    if (src.channels () == 4)
      cv::cvtColor (src, rgb, cv::COLOR_RGBA2RGB);
    else
      rgb = src;
    cv::cvtColor (rgb, hsv, cv::COLOR_RGB2HSV_FULL);
    cv::split (hsv, ch);
    for (int h = 0; h < 256; h++)
      lut.at<uchar> (h) = hue_in_range (h, v[0].number, v[1].number) ? 255 : 0;
    cv::LUT (ch[0], lut, hue_ok);
    cv::inRange (hsv, cv::Scalar (0, v[2].number, v[4].number),
                 cv::Scalar (255, v[3].number, v[5].number), sv_ok);
    cv::bitwise_and (hue_ok, sv_ok, mask);
    if (v[7].number != 0)
      cv::bitwise_not (mask, mask);
    if (v[6].number == 1)
      dst = mask;
    else
      {
        dst = cv::Mat::zeros (src.size (), src.type ());
        src.copyTo (dst, mask);
      }
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}
