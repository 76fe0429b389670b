/* sl-ops-intensity.cpp: operators on gray levels: brightness/contrast, gamma, equalization, CLAHE, normalize, threshold, illumination flattening. */
#include "sl-cv-private.h"
#include "sl-ops-private.h"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

/* Level parameters are given in 8-bit units; 16-bit images scale them. */
static double
level_scale (const cv::Mat &m)
{
  return m.depth () == CV_16U ? 257.0 : 1.0;
}

extern "C" sl_status
sl_op_brightness_contrast (const sl_image *in, const sl_param_value *v, sl_image *out,
                           sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;

    src.convertTo (dst, -1, v[0].number, v[1].number * level_scale (src));
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_gamma (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    double gamma = v[0].number;

    if (src.depth () == CV_8U)
      {
        cv::Mat lut (1, 256, CV_8U);

        for (int i = 0; i < 256; i++)
          lut.at<uchar> (i) = cv::saturate_cast<uchar> (std::pow (i / 255.0, gamma) * 255.0);
        cv::LUT (src, lut, dst);
      }
    else
      {
        std::vector<ushort> lut (65536);

        for (int i = 0; i < 65536; i++)
          lut[i] = cv::saturate_cast<ushort> (std::pow (i / 65535.0, gamma) * 65535.0);
        dst.create (src.size (), src.type ());
        for (int y = 0; y < src.rows; y++)
          {
            const ushort *s = src.ptr<ushort> (y);
            ushort *d = dst.ptr<ushort> (y);

            for (int x = 0; x < src.cols * src.channels (); x++)
              d[x] = lut[s[x]];
          }
      }
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

/* Runs a gray-level operation on gray images, or on the lightness of RGB ones. */
template <typename F>
static sl_status
on_luma (const cv::Mat &src, cv::Mat &dst, int to, int back, int luma, const char *what,
         sl_error *err, F fn)
{
  if (src.channels () == 1)
    {
      fn (src, dst);
      return SL_OK;
    }
  if (src.channels () != 3)
    return sl_error_set (err, SL_ERR_INVALID,
                         "%s works on gray or RGB images; add 'Convert to RGB' before it", what);
  cv::Mat conv, ch[3];
  cv::cvtColor (src, conv, to);
  cv::split (conv, ch);
  fn (ch[luma], ch[luma]);
  cv::merge (ch, 3, conv);
  cv::cvtColor (conv, dst, back);
  return SL_OK;
}

extern "C" sl_status
sl_op_equalize (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    sl_status st = _sl_cv_need_8bit (src, "Equalize histogram", err);

    if (st == SL_OK)
      st = on_luma (src, dst, cv::COLOR_RGB2YCrCb, cv::COLOR_YCrCb2RGB, 0, "Equalize histogram",
                    err, [] (const cv::Mat &a, cv::Mat &b) { cv::equalizeHist (a, b); });
    return st == SL_OK ? _sl_cv_take (dst, out, err) : st;
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_clahe (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    int tiles = (int) v[1].number;
    cv::Ptr<cv::CLAHE> clahe = cv::createCLAHE (v[0].number, cv::Size (tiles, tiles));
    sl_status st = SL_OK;

    if (src.channels () != 1)
      st = _sl_cv_need_8bit (src, "CLAHE on colour images", err);
    if (st == SL_OK)
      st = on_luma (src, dst, cv::COLOR_RGB2Lab, cv::COLOR_Lab2RGB, 0, "CLAHE", err,
                    [&] (const cv::Mat &a, cv::Mat &b) { clahe->apply (a, b); });
    return st == SL_OK ? _sl_cv_take (dst, out, err) : st;
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_normalize (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    double k = level_scale (src);

    cv::normalize (src, dst, v[0].number * k, v[1].number * k, cv::NORM_MINMAX);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_threshold (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    int method = (int) v[0].number;
    int type = v[5].number != 0 ? cv::THRESH_BINARY_INV : cv::THRESH_BINARY;
    double k = level_scale (src);

    if (method == 0)
      {
        cv::threshold (src, dst, v[1].number * k, v[2].number * k, type);
        return _sl_cv_take (dst, out, err);
      }
    if (src.depth () != CV_8U || src.channels () != 1)
      return sl_error_set (err, SL_ERR_INVALID,
                           "Otsu and adaptive thresholds need an 8-bit gray image; add "
                           "'Convert to gray' and 'Convert to 8 bit' before it");
    if (method == 1)
      cv::threshold (src, dst, 0, v[2].number, type | cv::THRESH_OTSU);
    else
      cv::adaptiveThreshold (src, dst, v[2].number,
                             method == 2 ? cv::ADAPTIVE_THRESH_MEAN_C
                                         : cv::ADAPTIVE_THRESH_GAUSSIAN_C,
                             type, (int) v[3].number, v[4].number);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

/* A Gaussian blur of sigma >= 16 runs on the image shrunk k = floor(sigma / 8) times (k x k
 * block averages) with sigma / k, and is enlarged back linearly: 20 to 100 times less work
 * than the full-size blur. The image is first mirrored 4 sigma out on every side (as the
 * full-size blur's border rule does) and up to a multiple of k, so that blocks line up with
 * pixels and the border behaves the same: the result stays within about 0.1 gray level of
 * the full-size blur. */
static cv::Mat
heavy_blur (const cv::Mat &gray, double sigma)
{
  int k = (int) (sigma / 8), m;
  cv::Mat padded, small, blurred, big, out;

  if (k < 2)
    {
      cv::GaussianBlur (gray, out, cv::Size (0, 0), sigma);
      return out;
    }
  m = k * (int) std::ceil (4 * sigma / k);
  cv::copyMakeBorder (gray, padded, m, m + (k - gray.rows % k) % k, m, m + (k - gray.cols % k) % k,
                      cv::BORDER_REFLECT_101);
  cv::resize (padded, small, cv::Size (padded.cols / k, padded.rows / k), 0, 0, cv::INTER_AREA);
  cv::GaussianBlur (small, blurred, cv::Size (0, 0), sigma / k);
  cv::resize (blurred, big, padded.size (), 0, 0, cv::INTER_LINEAR);
  out = big (cv::Rect (m, m, gray.cols, gray.rows)).clone ();
  return out;
}

extern "C" sl_status
sl_op_flatten_illumination (const sl_image *in, const sl_param_value *v, sl_image *out,
                            sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), f, gray, blurred, background, flat, dst;
    double level = v[2].number * level_scale (src);
    int n = src.channels ();

    /* Light is colourless: the background is a heavy blur of the gray image (in floats, so
     * that it stays smooth), and every colour channel is divided by (or loses) the same
     * amount, so hues survive for a colour range after this step. */
    src.convertTo (f, CV_32F);
    if (n == 1)
      gray = f;
    else
      cv::cvtColor (f, gray, n == 4 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY);
    blurred = heavy_blur (gray, v[1].number);
    if (v[0].number == 0)
      cv::max (blurred, 1.0, blurred);
    if (n == 1)
      background = blurred;
    else
      cv::merge (std::vector<cv::Mat> (n, blurred), background);
    if (v[0].number == 0)
      cv::divide (f, background, flat, level);
    else
      {
        cv::subtract (f, background, flat);
        cv::add (flat, cv::Scalar::all (level), flat);
      }
    flat.convertTo (dst, src.depth ());
    if (src.channels () == 4)
      {
        const int alpha[] = { 3, 3 };

        cv::mixChannels (&src, 1, &dst, 1, alpha, 1);
      }
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}
