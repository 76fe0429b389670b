/* vision-reference.cpp: each operator written out as direct OpenCV calls, to check the vision layer against. */
#include "vision-test-util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <tuple>
#include <vector>

static cv::Mat
as_mat (const sl_image *img)
{
  int depth = img->depth == 16 ? CV_16U : CV_8U;

  return cv::Mat (img->height, img->width, CV_MAKETYPE (depth, img->channels), img->data,
                  img->stride);
}

static gboolean
compare (const cv::Mat &want, const sl_image *actual, char **why)
{
  cv::Mat got = as_mat (actual);

  if (want.size () != got.size () || want.type () != got.type ())
    {
      *why = g_strdup_printf ("shape differs: want %dx%d type %d, got %dx%d type %d", want.cols,
                              want.rows, want.type (), got.cols, got.rows, got.type ());
      return FALSE;
    }
  cv::Mat diff;
  cv::absdiff (want, got, diff);
  double max;
  cv::minMaxLoc (diff.reshape (1), nullptr, &max);
  if (max != 0)
    {
      *why = g_strdup_printf ("pixels differ by up to %g", max);
      return FALSE;
    }
  return TRUE;
}

static double
param (const sl_pipeline *p, int step, const char *name)
{
  double v = 0;
  sl_error err = { SL_OK, "" };

  if (sl_pipeline_get_param (p, step, name, &v, &err) != SL_OK)
    g_error ("reference: %s", err.message);
  return v;
}

static cv::Mat
luma_op (const cv::Mat &src, int to, int back, const std::function<void (cv::Mat &)> &fn)
{
  cv::Mat dst;

  if (src.channels () == 1)
    {
      dst = src.clone ();
      fn (dst);
      return dst;
    }
  cv::Mat conv, ch[3];
  cv::cvtColor (src, conv, to);
  cv::split (conv, ch);
  fn (ch[0]);
  cv::merge (ch, 3, conv);
  cv::cvtColor (conv, dst, back);
  return dst;
}

/* The part operators' object, as docs/pipeline-format.md defines it: the 8-bit gray image,
 * thresholded, and its largest 8-connected object (ties: the higher, the more left, the
 * narrower, the lower box). Returns the label, 0 when nothing reaches min-area. */
static int
ref_part (const sl_pipeline *p, int step, const cv::Mat &src, cv::Mat &labels, cv::Mat &stats,
          cv::Mat &centroids)
{
  cv::Mat gray, gray8, mask;
  bool bright = param (p, step, "polarity") == 0;
  int n, best = 0;

  if (src.channels () == 1)
    gray = src;
  else
    cv::cvtColor (src, gray, src.channels () == 3 ? cv::COLOR_RGB2GRAY : cv::COLOR_RGBA2GRAY);
  if (gray.depth () == CV_16U)
    gray.convertTo (gray8, CV_8U, 1.0 / 257.0);
  else
    gray8 = gray;
  if (param (p, step, "method") == 0)
    cv::threshold (gray8, mask, 0, 255,
                   (bright ? cv::THRESH_BINARY : cv::THRESH_BINARY_INV) | cv::THRESH_OTSU);
  else
    cv::threshold (gray8, mask, param (p, step, "level"), 255,
                   bright ? cv::THRESH_BINARY : cv::THRESH_BINARY_INV);
  n = cv::connectedComponentsWithStats (mask, labels, stats, centroids, 8, CV_32S);
  for (int i = 1; i < n; i++)
    {
      auto key = [&] (int l) {
        return std::make_tuple (
            -stats.at<int> (l, cv::CC_STAT_AREA), stats.at<int> (l, cv::CC_STAT_TOP),
            stats.at<int> (l, cv::CC_STAT_LEFT), stats.at<int> (l, cv::CC_STAT_WIDTH),
            stats.at<int> (l, cv::CC_STAT_HEIGHT), l);
      };
      if (best == 0 || key (i) < key (best))
        best = i;
    }
  if (best != 0 && stats.at<int> (best, cv::CC_STAT_AREA) < param (p, step, "min-area"))
    best = 0;
  return best;
}

static cv::Mat
reference (const sl_pipeline *p, int step, const cv::Mat &src)
{
  std::string id = sl_pipeline_step_op (p, step)->id;
  auto P = [&] (const char *name) { return param (p, step, name); };
  double k16 = src.depth () == CV_16U ? 257.0 : 1.0;
  cv::Mat dst;

  if (id == "gray")
    {
      if (src.channels () == 1)
        dst = src.clone ();
      else
        cv::cvtColor (src, dst, src.channels () == 3 ? cv::COLOR_RGB2GRAY : cv::COLOR_RGBA2GRAY);
    }
  else if (id == "rgb")
    {
      if (src.channels () == 3)
        dst = src.clone ();
      else
        cv::cvtColor (src, dst, src.channels () == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_RGBA2RGB);
    }
  else if (id == "hsv-channel")
    {
      cv::Mat rgb = src, hsv;
      if (src.channels () == 4)
        cv::cvtColor (src, rgb, cv::COLOR_RGBA2RGB);
      cv::cvtColor (rgb, hsv, cv::COLOR_RGB2HSV_FULL);
      cv::extractChannel (hsv, dst, (int) P ("channel"));
    }
  else if (id == "to-8bit")
    src.convertTo (dst, CV_8U, 1.0 / 257.0);
  else if (id == "crop")
    {
      sl_rect r;
      sl_error err = { SL_OK, "" };
      sl_pipeline_get_rect (p, step, "rect", &r, &err);
      cv::Rect roi;
      if (P ("mode") == 0)
        {
          int x0 = (int) std::lround (r.x * src.cols), y0 = (int) std::lround (r.y * src.rows);
          int x1 = (int) std::lround ((r.x + r.width) * src.cols);
          int y1 = (int) std::lround ((r.y + r.height) * src.rows);
          roi = cv::Rect (x0, y0, std::min (x1, src.cols) - x0, std::min (y1, src.rows) - y0);
        }
      else
        roi = cv::Rect ((int) r.x, (int) r.y, (int) r.width, (int) r.height);
      dst = src (roi).clone ();
    }
  else if (id == "resize")
    {
      static const int interp[]
          = { cv::INTER_AREA, cv::INTER_LINEAR, cv::INTER_CUBIC, cv::INTER_NEAREST };
      int W = (int) P ("width"), H = (int) P ("height"), mode = (int) P ("mode");
      int in = interp[(int) P ("interpolation")];
      double sx = (double) W / src.cols, sy = (double) H / src.rows;
      if (mode == 0)
        cv::resize (src, dst, cv::Size (W, H), 0, 0, in);
      else if (mode == 1)
        {
          double s = std::min (sx, sy);
          int w = (int) std::lround (src.cols * s), h = (int) std::lround (src.rows * s);
          cv::Mat t;
          cv::resize (src, t, cv::Size (w, h), 0, 0, in);
          cv::copyMakeBorder (t, dst, (H - h) / 2, H - h - (H - h) / 2, (W - w) / 2,
                              W - w - (W - w) / 2, cv::BORDER_CONSTANT,
                              cv::Scalar::all (P ("pad") * k16));
        }
      else
        {
          double s = std::max (sx, sy);
          int w = (int) std::lround (src.cols * s), h = (int) std::lround (src.rows * s);
          cv::Mat t;
          cv::resize (src, t, cv::Size (w, h), 0, 0, in);
          dst = t (cv::Rect ((w - W) / 2, (h - H) / 2, W, H)).clone ();
        }
    }
  else if (id == "rotate")
    {
      static const int codes[]
          = { cv::ROTATE_90_CLOCKWISE, cv::ROTATE_180, cv::ROTATE_90_COUNTERCLOCKWISE };
      cv::rotate (src, dst, codes[(int) P ("angle")]);
    }
  else if (id == "flip")
    {
      static const int codes[] = { 1, 0, -1 };
      cv::flip (src, dst, codes[(int) P ("axis")]);
    }
  else if (id == "gaussian-blur")
    cv::GaussianBlur (src, dst, cv::Size ((int) P ("ksize"), (int) P ("ksize")), P ("sigma"));
  else if (id == "median-blur")
    cv::medianBlur (src, dst, (int) P ("ksize"));
  else if (id == "bilateral")
    cv::bilateralFilter (src, dst, (int) P ("diameter"), P ("sigma-color"), P ("sigma-space"));
  else if (id == "sharpen")
    {
      cv::Mat blur;
      cv::GaussianBlur (src, blur, cv::Size (), P ("sigma"));
      cv::addWeighted (src, 1 + P ("amount"), blur, -P ("amount"), 0, dst);
    }
  else if (id == "brightness-contrast")
    src.convertTo (dst, -1, P ("contrast"), P ("brightness") * k16);
  else if (id == "gamma")
    {
      cv::Mat lut (1, 256, CV_8U);
      for (int i = 0; i < 256; i++)
        lut.at<uchar> (i) = cv::saturate_cast<uchar> (std::pow (i / 255.0, P ("gamma")) * 255);
      cv::LUT (src, lut, dst);
    }
  else if (id == "equalize-hist")
    dst = luma_op (src, cv::COLOR_RGB2YCrCb, cv::COLOR_YCrCb2RGB,
                   [] (cv::Mat &m) { cv::equalizeHist (m, m); });
  else if (id == "clahe")
    {
      auto clahe
          = cv::createCLAHE (P ("clip-limit"), cv::Size ((int) P ("tiles"), (int) P ("tiles")));
      dst = luma_op (src, cv::COLOR_RGB2Lab, cv::COLOR_Lab2RGB, [&] (cv::Mat &m) {
        cv::Mat o;
        clahe->apply (m, o);
        m = o;
      });
    }
  else if (id == "normalize")
    cv::normalize (src, dst, P ("low") * k16, P ("high") * k16, cv::NORM_MINMAX);
  else if (id == "threshold")
    {
      int type = P ("invert") != 0 ? cv::THRESH_BINARY_INV : cv::THRESH_BINARY;
      int method = (int) P ("method");
      if (method == 0)
        cv::threshold (src, dst, P ("threshold") * k16, P ("max-value") * k16, type);
      else if (method == 1)
        cv::threshold (src, dst, 0, P ("max-value"), type | cv::THRESH_OTSU);
      else
        cv::adaptiveThreshold (src, dst, P ("max-value"),
                               method == 2 ? cv::ADAPTIVE_THRESH_MEAN_C
                                           : cv::ADAPTIVE_THRESH_GAUSSIAN_C,
                               type, (int) P ("block-size"), P ("c"));
    }
  else if (id == "morphology")
    {
      static const int ops[]
          = { cv::MORPH_ERODE,    cv::MORPH_DILATE, cv::MORPH_OPEN,    cv::MORPH_CLOSE,
              cv::MORPH_GRADIENT, cv::MORPH_TOPHAT, cv::MORPH_BLACKHAT };
      static const int shapes[] = { cv::MORPH_RECT, cv::MORPH_ELLIPSE, cv::MORPH_CROSS };
      int k = (int) P ("ksize");
      cv::morphologyEx (src, dst, ops[(int) P ("operation")],
                        cv::getStructuringElement (shapes[(int) P ("shape")], cv::Size (k, k)),
                        cv::Point (-1, -1), (int) P ("iterations"));
    }
  else if (id == "canny")
    cv::Canny (src, dst, P ("low"), P ("high"), (int) P ("aperture"), P ("l2-gradient") != 0);
  else if (id == "sobel")
    {
      cv::Mat dx, dy, mag;
      cv::Sobel (src, dx, CV_32F, 1, 0, (int) P ("ksize"));
      cv::Sobel (src, dy, CV_32F, 0, 1, (int) P ("ksize"));
      cv::magnitude (dx, dy, mag);
      mag.convertTo (dst, src.depth (), P ("scale"));
    }
  else if (id == "laplacian")
    {
      cv::Mat lap;
      cv::Laplacian (src, lap, CV_32F, (int) P ("ksize"), P ("scale"));
      cv::Mat a = cv::abs (lap);
      a.convertTo (dst, src.depth ());
    }
  else if (id == "color-range")
    {
      /* Pixel by pixel, from the hue in degrees (h * 360 / 256) and the 8-bit S and V. */
      cv::Mat rgb = src, hsv;
      double lo = P ("hue-low"), hi = P ("hue-high");
      if (src.channels () == 4)
        cv::cvtColor (src, rgb, cv::COLOR_RGBA2RGB);
      cv::cvtColor (rgb, hsv, cv::COLOR_RGB2HSV_FULL);
      bool mask_out = P ("output") == 1;
      dst = mask_out ? cv::Mat (src.size (), CV_8UC1) : src.clone ();
      for (int y = 0; y < src.rows; y++)
        for (int x = 0; x < src.cols; x++)
          {
            cv::Vec3b h = hsv.at<cv::Vec3b> (y, x);
            double deg = h[0] * 360.0 / 256.0;
            bool hue = lo <= hi ? (deg >= lo && deg <= hi) : (deg >= lo || deg <= hi);
            bool in = hue && h[1] >= P ("sat-low") && h[1] <= P ("sat-high")
                      && h[2] >= P ("val-low") && h[2] <= P ("val-high");
            if (P ("invert") != 0)
              in = !in;
            if (mask_out)
              dst.at<uchar> (y, x) = in ? 255 : 0;
            else if (!in)
              for (int c = 0; c < src.channels (); c++)
                dst.ptr<uchar> (y)[x * src.channels () + c] = 0;
          }
    }
  else if (id == "crop-to-part")
    {
      cv::Mat labels, stats, centroids;
      int best = ref_part (p, step, src, labels, stats, centroids);
      if (best == 0)
        dst = src.clone ();
      else
        {
          int m = (int) P ("margin");
          int x = stats.at<int> (best, cv::CC_STAT_LEFT) - m;
          int y = stats.at<int> (best, cv::CC_STAT_TOP) - m;
          int w = stats.at<int> (best, cv::CC_STAT_WIDTH) + 2 * m;
          int h = stats.at<int> (best, cv::CC_STAT_HEIGHT) + 2 * m;
          if (P ("square") != 0)
            {
              int side = std::max (w, h);
              x -= (side - w) / 2;
              y -= (side - h) / 2;
              w = h = side;
            }
          /* Pad the whole image generously, then cut: the padding shows where the box leaves it. */
          int b = std::max (w, h);
          cv::Mat padded;
          cv::copyMakeBorder (src, padded, b, b, b, b, cv::BORDER_CONSTANT,
                              cv::Scalar::all (P ("pad") * k16));
          dst = padded (cv::Rect (x + b, y + b, w, h)).clone ();
        }
    }
  else if (id == "rotate-to-axis")
    {
      cv::Mat labels, stats, centroids;
      int best = ref_part (p, step, src, labels, stats, centroids);
      dst = src.clone ();
      if (best != 0)
        {
          cv::Moments m = cv::moments (labels == best, true);
          double theta = 0.5 * std::atan2 (2 * m.mu11, m.mu20 - m.mu02) * 180 / CV_PI;
          double d = std::sqrt (4 * m.mu11 * m.mu11 + (m.mu20 - m.mu02) * (m.mu20 - m.mu02));
          double l1 = (m.mu20 + m.mu02 + d) / 2, l2 = (m.mu20 + m.mu02 - d) / 2;
          if (theta <= -90)
            theta += 180;
          if (l2 <= 0 || std::sqrt (l1 / l2) >= P ("min-elongation"))
            {
              double turn = P ("axis") == 0 ? theta : theta > 0 ? theta - 90 : theta + 90;
              double c = std::fabs (std::cos (turn * CV_PI / 180));
              double s = std::fabs (std::sin (turn * CV_PI / 180));
              cv::Size size = src.size ();
              if (P ("size") == 1)
                size = cv::Size ((int) std::lround (src.cols * c + src.rows * s),
                                 (int) std::lround (src.cols * s + src.rows * c));
              cv::Point2f centre ((src.cols - 1) / 2.0f, (src.rows - 1) / 2.0f);
              cv::Mat M = cv::getRotationMatrix2D (centre, turn, 1.0);
              M.at<double> (0, 2) += (size.width - 1) / 2.0 - centre.x;
              M.at<double> (1, 2) += (size.height - 1) / 2.0 - centre.y;
              cv::warpAffine (src, dst, M, size, cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                              cv::Scalar::all (P ("pad") * k16));
            }
        }
    }
  else if (id == "polar-unwrap")
    {
      double cx = (src.cols - 1) / 2.0, cy = (src.rows - 1) / 2.0, r = P ("radius");
      if (P ("center") == 0)
        {
          cv::Mat labels, stats, centroids;
          int best = ref_part (p, step, src, labels, stats, centroids);
          if (best != 0)
            cx = centroids.at<double> (best, 0), cy = centroids.at<double> (best, 1);
        }
      else if (P ("center") == 2)
        cx = P ("x"), cy = P ("y");
      if (r == 0)
        r = std::min ({ cx, cy, src.cols - 1 - cx, src.rows - 1 - cy });
      cv::Mat polar;
      cv::warpPolar (src, polar, cv::Size ((int) P ("height"), (int) P ("width")),
                     cv::Point2f ((float) cx, (float) cy), r,
                     cv::INTER_LINEAR | cv::WARP_FILL_OUTLIERS | cv::WARP_POLAR_LINEAR);
      dst = polar.t ();
    }
  else if (id == "flatten-illumination")
    {
      /* The background from the gray image; each colour channel divided by (or minus) it;
       * alpha copied. */
      std::vector<cv::Mat> ch;
      cv::Mat f, gray, bg;
      src.convertTo (f, CV_32F);
      if (src.channels () == 1)
        gray = f;
      else
        cv::cvtColor (f, gray, src.channels () == 3 ? cv::COLOR_RGB2GRAY : cv::COLOR_RGBA2GRAY);
      /* Heavy blurs on the image mirrored 4 sigma out and shrunk k times, then enlarged. */
      double sigma = P ("sigma");
      int k = (int) (sigma / 8);
      if (k < 2)
        cv::GaussianBlur (gray, bg, cv::Size (), sigma);
      else
        {
          int m = k * (int) std::ceil (4 * sigma / k);
          int right = (int) (std::ceil (gray.cols / (double) k) * k) - gray.cols;
          int bottom = (int) (std::ceil (gray.rows / (double) k) * k) - gray.rows;
          cv::Mat padded, small, blurred, big;
          cv::copyMakeBorder (gray, padded, m, m + bottom, m, m + right, cv::BORDER_REFLECT_101);
          cv::resize (padded, small, cv::Size (), 1.0 / k, 1.0 / k, cv::INTER_AREA);
          cv::GaussianBlur (small, blurred, cv::Size (), sigma / k);
          cv::resize (blurred, big, padded.size (), 0, 0, cv::INTER_LINEAR);
          bg = big (cv::Rect (m, m, gray.cols, gray.rows));
        }
      cv::split (src, ch);
      for (int c = 0; c < (int) ch.size () && c < 3; c++)
        {
          cv::Mat fc, flat;
          ch[c].convertTo (fc, CV_32F);
          if (P ("mode") == 0)
            cv::divide (fc, cv::max (bg, 1.0), flat, P ("level") * k16);
          else
            flat = fc - bg + P ("level") * k16;
          flat.convertTo (ch[c], src.depth ());
        }
      cv::merge (ch, dst);
    }
  else if (id == "invert")
    cv::bitwise_not (src, dst);
  else
    g_error ("reference: no reference for operator '%s'", id.c_str ());
  return dst;
}

extern "C" gboolean
vt_reference_matches (const sl_pipeline *p, int step, const sl_image *in, const sl_image *actual,
                      char **why)
{
  return compare (reference (p, step, as_mat (in)), actual, why);
}

extern "C" gboolean
vt_reference_input_matches (const sl_input_spec *spec, const sl_image *in, const sl_image *actual,
                            char **why)
{
  cv::Mat m = as_mat (in), t;

  if (m.depth () == CV_16U)
    {
      m.convertTo (t, CV_8U, 1.0 / 257.0);
      m = t;
    }
  if (m.channels () != spec->channels)
    {
      int code = spec->channels == 1
                     ? (m.channels () == 3 ? cv::COLOR_RGB2GRAY : cv::COLOR_RGBA2GRAY)
                     : (m.channels () == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_RGBA2RGB);
      cv::cvtColor (m, t, code);
      m = t;
    }
  if (m.cols != spec->width || m.rows != spec->height)
    {
      bool shrink = spec->width <= m.cols && spec->height <= m.rows;
      cv::resize (m, t, cv::Size (spec->width, spec->height), 0, 0,
                  shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
      m = t;
    }
  return compare (m, actual, why);
}

extern "C" gboolean
vt_reference_imread_matches (const char *path, const sl_image *actual, char **why)
{
  cv::Mat m = cv::imread (path, cv::IMREAD_UNCHANGED), rgb;

  if (m.empty ())
    {
      *why = g_strdup_printf ("OpenCV cannot read %s", path);
      return FALSE;
    }
  if (m.channels () == 3)
    cv::cvtColor (m, rgb, cv::COLOR_BGR2RGB);
  else if (m.channels () == 4)
    cv::cvtColor (m, rgb, cv::COLOR_BGRA2RGBA);
  else
    rgb = m;
  return compare (rgb, actual, why);
}

extern "C" gboolean
vt_reference_flatten_matches (const sl_image *in, const sl_alpha_rule *rule, const sl_image *actual,
                              char **why)
{
  double max = in->depth == 16 ? 65535.0 : 255.0, scale = in->depth == 16 ? 257.0 : 1.0;
  int depth = in->depth == 16 ? CV_16U : CV_8U;
  cv::Mat m = as_mat (in), rgb, alpha, want;
  /* The background as a solid image of the input's depth. */
  cv::Mat bg (m.size (), CV_MAKETYPE (depth, 3),
              cv::Scalar (rule->background[0] * scale, rule->background[1] * scale,
                          rule->background[2] * scale));

  cv::cvtColor (m, rgb, cv::COLOR_RGBA2RGB);
  cv::extractChannel (m, alpha, 3);
  if (rule->mode == SL_ALPHA_MASK)
    {
      cv::Mat keep;

      cv::compare (alpha, (max + 1) / 2, keep, cv::CMP_GE);
      want = bg.clone ();
      rgb.copyTo (want, keep);
    }
  else
    {
      /* "Over" compositing in doubles, (a * c + (max - a) * b) / max, rounded
       * by convertTo (cv::blendLinear's float weights and 1e-5 guard in the
       * denominator can be one level off on 8-bit images, and more on 16-bit). */
      cv::Mat c64, b64, a64, a3, num;

      rgb.convertTo (c64, CV_64F);
      bg.convertTo (b64, CV_64F);
      alpha.convertTo (a64, CV_64F);
      cv::merge (std::vector<cv::Mat>{ a64, a64, a64 }, a3);
      num = c64.mul (a3) + b64.mul (cv::Scalar::all (max) - a3);
      cv::Mat (num / max).convertTo (want, depth);
    }
  return compare (want, actual, why);
}
