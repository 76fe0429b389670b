/* sl-ops-part.cpp: operators that find the part (the largest object) and crop to it, turn it to its main axis or unwrap it around its centre. */
#include "sl-cv-private.h"
#include "sl-ops-private.h"

#include <cmath>
#include <opencv2/imgproc.hpp>

/* Every part operator starts with the same four parameters: polarity, method, level, min-area. */
enum
{
  P_POLARITY,
  P_METHOD,
  P_LEVEL,
  P_MIN_AREA,
};

typedef struct
{
  bool found;
  int area;       /* pixels of the largest object (0 when the mask is empty) */
  cv::Rect box;   /* its bounding box */
  cv::Mat labels; /* CV_32S, one label per object */
  int label;      /* the largest object's label */
  cv::Point2d centroid;
} Part;

/* The 8-bit gray image the part is looked for in. */
static cv::Mat
gray8 (const cv::Mat &src)
{
  cv::Mat gray, out;

  if (src.channels () == 1)
    gray = src;
  else
    cv::cvtColor (src, gray, src.channels () == 4 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY);
  if (gray.depth () == CV_8U)
    return gray;
  gray.convertTo (out, CV_8U, 1.0 / 257.0);
  return out;
}

/* Whether object a wins over b: more pixels, then the higher, the more left, the smaller box.
 * The order does not depend on how OpenCV numbers the objects, so the choice is deterministic. */
static bool
larger (const cv::Mat &stats, int a, int b)
{
  static const int keys[] = { cv::CC_STAT_AREA, cv::CC_STAT_TOP, cv::CC_STAT_LEFT,
                              cv::CC_STAT_WIDTH, cv::CC_STAT_HEIGHT };

  for (int k = 0; k < 5; k++)
    {
      int x = stats.at<int> (a, keys[k]), y = stats.at<int> (b, keys[k]);

      if (x != y)
        return k == 0 ? x > y : x < y;
    }
  return a < b;
}

/* Thresholds the image (bright or dark part; Otsu or a fixed level) and keeps the largest
 * 8-connected object, if it has at least min-area pixels. */
static Part
find_part (const cv::Mat &src, const sl_param_value *v)
{
  cv::Mat mask, stats, centroids;
  int type = v[P_POLARITY].number == 0 ? cv::THRESH_BINARY : cv::THRESH_BINARY_INV;
  Part part = { false, 0, cv::Rect (), cv::Mat (), 0, cv::Point2d () };
  int n, best = 0;

  if (v[P_METHOD].number == 0)
    cv::threshold (gray8 (src), mask, 0, 255, type | cv::THRESH_OTSU);
  else
    cv::threshold (gray8 (src), mask, v[P_LEVEL].number, 255, type);
  n = cv::connectedComponentsWithStats (mask, part.labels, stats, centroids, 8, CV_32S);
  for (int i = 1; i < n; i++)
    if (best == 0 || larger (stats, i, best))
      best = i;
  if (best == 0)
    return part;
  part.label = best;
  part.area = stats.at<int> (best, cv::CC_STAT_AREA);
  part.box = cv::Rect (
      stats.at<int> (best, cv::CC_STAT_LEFT), stats.at<int> (best, cv::CC_STAT_TOP),
      stats.at<int> (best, cv::CC_STAT_WIDTH), stats.at<int> (best, cv::CC_STAT_HEIGHT));
  part.centroid = cv::Point2d (centroids.at<double> (best, 0), centroids.at<double> (best, 1));
  part.found = part.area >= (int) v[P_MIN_AREA].number;
  return part;
}

static double
level_scale (const cv::Mat &m)
{
  return m.depth () == CV_16U ? 257.0 : 1.0;
}

static sl_status
copy_input (const cv::Mat &src, sl_image *out, sl_error *err)
{
  cv::Mat dst = src.clone ();

  return _sl_cv_take (dst, out, err);
}

extern "C" sl_status
sl_op_crop_to_part (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in);
    Part part = find_part (src, v);
    int margin = (int) v[4].number;
    cv::Rect box, inside;

    if (!part.found)
      {
        if (v[7].number == 0)
          return copy_input (src, out, err);
        return sl_error_set (err, SL_ERR_INVALID,
                             "no part found: the largest object has %d pixels, fewer than "
                             "'min-area' (%d); check 'polarity' and the threshold, or lower "
                             "'min-area'",
                             part.area, (int) v[P_MIN_AREA].number);
      }
    box = cv::Rect (part.box.x - margin, part.box.y - margin, part.box.width + 2 * margin,
                    part.box.height + 2 * margin);
    if (v[5].number != 0)
      {
        int side = std::max (box.width, box.height);

        box = cv::Rect (box.x - (side - box.width) / 2, box.y - (side - box.height) / 2, side,
                        side);
      }
    /* What lies outside the image is padding, so the size is always the box's. */
    cv::Mat dst (box.size (), src.type (), cv::Scalar::all (v[6].number * level_scale (src)));
    inside = box & cv::Rect (0, 0, src.cols, src.rows);
    src (inside).copyTo (dst (inside - box.tl ()));
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

/* The main axis's angle in degrees, clockwise on screen from the x axis, in (-90, 90], and the
 * elongation (major / minor axis, infinite for a line), from the part's second moments. */
static void
main_axis (const Part &part, double *angle, double *elongation)
{
  cv::Mat mask = part.labels == part.label;
  cv::Moments m = cv::moments (mask, true);
  double a = m.mu20, b = m.mu11, c = m.mu02;
  double root = std::sqrt (4 * b * b + (a - c) * (a - c));
  double major = (a + c + root) / 2, minor = (a + c - root) / 2;

  *angle = 0.5 * std::atan2 (2 * b, a - c) * 180.0 / CV_PI;
  if (*angle <= -90.0)
    *angle += 180.0;
  *elongation = minor > 0 ? std::sqrt (major / minor) : INFINITY;
}

extern "C" sl_status
sl_op_rotate_to_axis (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), dst;
    Part part = find_part (src, v);
    double angle, elongation, turn, rad, cw, sw;
    int W = src.cols, H = src.rows;

    if (!part.found)
      return copy_input (src, out, err);
    main_axis (part, &angle, &elongation);
    if (elongation < v[6].number)
      return copy_input (src, out, err);
    /* The smallest counter-clockwise turn that lays the axis horizontal (or stands it up). */
    turn = v[4].number == 0 ? angle : angle > 0 ? angle - 90.0 : angle + 90.0;
    if (v[5].number == 1)
      {
        rad = turn * CV_PI / 180.0;
        cw = std::fabs (std::cos (rad));
        sw = std::fabs (std::sin (rad));
        W = (int) std::lround (src.cols * cw + src.rows * sw);
        H = (int) std::lround (src.cols * sw + src.rows * cw);
      }
    cv::Point2f centre ((src.cols - 1) / 2.0f, (src.rows - 1) / 2.0f);
    cv::Mat M = cv::getRotationMatrix2D (centre, turn, 1.0);
    M.at<double> (0, 2) += (W - 1) / 2.0 - centre.x;
    M.at<double> (1, 2) += (H - 1) / 2.0 - centre.y;
    cv::warpAffine (src, dst, M, cv::Size (W, H), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                    cv::Scalar::all (v[7].number * level_scale (src)));
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}

extern "C" sl_status
sl_op_polar_unwrap (const sl_image *in, const sl_param_value *v, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat src = _sl_cv_mat (in), polar, dst;
    int centre_mode = (int) v[4].number;
    double cx = (src.cols - 1) / 2.0, cy = (src.rows - 1) / 2.0, radius = v[7].number;
    int W = (int) v[8].number, H = (int) v[9].number;

    if (centre_mode == 0)
      {
        Part part = find_part (src, v);

        if (part.found)
          cx = part.centroid.x, cy = part.centroid.y;
      }
    else if (centre_mode == 2)
      {
        cx = v[5].number;
        cy = v[6].number;
        if (cx > src.cols - 1 || cy > src.rows - 1)
          return sl_error_set (err, SL_ERR_INVALID,
                               "the center (%g, %g) lies outside the %dx%d image (pixels 0..%d, "
                               "0..%d)",
                               cx, cy, src.cols, src.rows, src.cols - 1, src.rows - 1);
      }
    if (radius == 0)
      radius = std::min (std::min (cx, cy), std::min (src.cols - 1 - cx, src.rows - 1 - cy));
    if (radius < 1)
      return sl_error_set (err, SL_ERR_INVALID,
                           "the center (%.1f, %.1f) is on the image's border, so no circle fits "
                           "around it; give a 'radius'",
                           cx, cy);
    /* warpPolar puts the angle down the rows; the output has it across. */
    cv::warpPolar (src, polar, cv::Size (H, W), cv::Point2f ((float) cx, (float) cy), radius,
                   cv::INTER_LINEAR | cv::WARP_FILL_OUTLIERS | cv::WARP_POLAR_LINEAR);
    cv::transpose (polar, dst);
    return _sl_cv_take (dst, out, err);
  }
  SL_CV_CATCH (err)
}
