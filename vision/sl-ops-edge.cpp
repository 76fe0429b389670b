/* sl-ops-edge.cpp: edge operators: Canny, Sobel gradient magnitude, absolute Laplacian. */
#include "sl-cv-private.h"
#include "sl-ops-private.h"

#include <opencv2/imgproc.hpp>

extern "C" sl_status
sl_op_canny (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    sl_status st = _sl_cv_need_8bit (src, "Canny edges", err);

    if (st != SL_OK)
      return st;
    if (src.channels () == 4)
      return sl_error_set (err, SL_ERR_INVALID,
                           "Canny edges works on gray or RGB images; add 'Convert to gray' "
                           "before it");
    cv::Canny (src, dst, v[0].number, v[1].number, (int) v[2].number, v[3].number != 0);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_sobel (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dx, dy, mag, dst;
    int k = (int) v[0].number;

    cv::Sobel (src, dx, CV_32F, 1, 0, k);
    cv::Sobel (src, dy, CV_32F, 0, 1, k);
    cv::magnitude (dx, dy, mag);
    mag.convertTo (dst, src.depth (), v[1].number);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_laplacian (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), lap, dst;

    cv::Laplacian (src, lap, CV_32F, (int) v[0].number, v[1].number);
    cv::Mat mag = cv::abs (lap);
    mag.convertTo (dst, src.depth ());
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}
