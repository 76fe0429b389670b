/* sl-augment.cpp: executes one sample's augmentation plan with OpenCV (flips, affine warp, levels, blur, noise, cutout). */
#include "sl-augment-private.h"
#include "sl-cv-private.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

extern "C" sl_status
sl_augment_run (const sl_augment_plan *p, const sl_image *in, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat m = _sl_cv_mat (in).clone (), tmp;
    sl_status st = _sl_cv_need_8bit (m, "Augmentation", err);

    if (st != SL_OK)
      return st;
    if (p->flip_horizontal || p->flip_vertical)
      cv::flip (m, m, p->flip_horizontal && p->flip_vertical ? -1 : p->flip_horizontal ? 1 : 0);
    if (p->angle != 0 || p->scale != 1 || p->shift_x != 0 || p->shift_y != 0)
      {
        cv::Point2f centre ((m.cols - 1) / 2.0f, (m.rows - 1) / 2.0f);
        cv::Mat a = cv::getRotationMatrix2D (centre, p->angle, p->scale);

        a.at<double> (0, 2) += p->shift_x * m.cols;
        a.at<double> (1, 2) += p->shift_y * m.rows;
        cv::warpAffine (m, tmp, a, m.size (), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
        m = tmp;
      }
    if (p->contrast != 1 || p->brightness != 0 || p->gamma != 1)
      {
        cv::Mat lut (1, 256, CV_8U);

        for (int i = 0; i < 256; i++)
          {
            double v = (i - 127.5) * p->contrast + 127.5 + p->brightness;

            v = std::clamp (v, 0.0, 255.0);
            lut.at<uchar> (i) = cv::saturate_cast<uchar> (std::pow (v / 255.0, p->gamma) * 255.0);
          }
        cv::LUT (m, lut, m);
      }
    if (p->blur_sigma > 0)
      cv::GaussianBlur (m, m, cv::Size (0, 0), p->blur_sigma);
    if (p->noise_std > 0)
      {
        cv::RNG rng (p->noise_seed);
        cv::Mat noise (m.size (), CV_16SC (m.channels ()));

        rng.fill (noise, cv::RNG::NORMAL, 0, p->noise_std);
        cv::add (m, noise, tmp, cv::noArray (), CV_8U);
        m = tmp;
      }
    if (p->cutout)
      {
        int side = std::max (1, (int) std::lround (p->cutout_size * std::min (m.cols, m.rows)));
        int x = (int) (p->cutout_x * m.cols) - side / 2,
            y = (int) (p->cutout_y * m.rows) - side / 2;
        cv::Rect r = cv::Rect (x, y, side, side) & cv::Rect (0, 0, m.cols, m.rows);

        if (r.area () > 0)
          m (r).setTo (cv::mean (m));
      }
    return _sl_cv_take (m, out, err);
  }
  SL_CV_CATCH (err)
}
