/* sl-ops-filter.cpp: neighbourhood filters: Gaussian, median and bilateral blur, unsharp mask, morphology. */
#include "sl-cv-private.h"
#include "sl-ops-private.h"

#include <opencv2/imgproc.hpp>

extern "C" sl_status
sl_op_gaussian_blur (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat dst;
    int k = (int) v[0].number;

    cv::GaussianBlur (_sl_cv_mat (in), dst, cv::Size (k, k), v[1].number);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_median_blur (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  int k = (int) v[0].number;

  if (in->depth == 16 && k > 5)
    return sl_error_set (err, SL_ERR_INVALID,
                         "Median blur on 16-bit images allows kernel sizes 3 and 5, not %d", k);
  SL_CV_TRY
  {
    cv::Mat dst;

    cv::medianBlur (_sl_cv_mat (in), dst, k);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_bilateral (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    sl_status st = _sl_cv_need_8bit (src, "Bilateral filter", err);

    if (st != SL_OK)
      return st;
    if (src.channels () == 4)
      return sl_error_set (err, SL_ERR_INVALID,
                           "Bilateral filter works on gray or RGB images; add 'Convert to RGB' "
                           "before it");
    cv::bilateralFilter (src, dst, (int) v[0].number, v[1].number, v[2].number);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_sharpen (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), blur, dst;
    double amount = v[1].number;

    cv::GaussianBlur (src, blur, cv::Size (0, 0), v[0].number);
    cv::addWeighted (src, 1.0 + amount, blur, -amount, 0.0, dst);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_morphology (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  static const int operations[]
      = { cv::MORPH_ERODE,    cv::MORPH_DILATE, cv::MORPH_OPEN,    cv::MORPH_CLOSE,
          cv::MORPH_GRADIENT, cv::MORPH_TOPHAT, cv::MORPH_BLACKHAT };
  static const int shapes[] = { cv::MORPH_RECT, cv::MORPH_ELLIPSE, cv::MORPH_CROSS };
  SL_CV_TRY
  {
    cv::Mat dst;
    int k = (int) v[2].number;
    cv::Mat kernel = cv::getStructuringElement (shapes[(int) v[1].number], cv::Size (k, k));

    cv::morphologyEx (_sl_cv_mat (in), dst, operations[(int) v[0].number], kernel,
                      cv::Point (-1, -1), (int) v[3].number);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}
