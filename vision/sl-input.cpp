/* sl-input.cpp: the pipeline's last stage, which brings any image to the model's channels, 8 bits and size. */
#include "sl-cv-private.h"
#include "sl-ops-private.h"

#include <opencv2/imgproc.hpp>

extern "C" sl_status
sl_input_conform (const sl_input_spec *spec, const sl_image *in, sl_image *out, sl_error *err)
{
  SL_CV_TRY
  {
    cv::Mat m = _sl_cv_mat (in), tmp;

    if (m.depth () != CV_8U)
      {
        m.convertTo (tmp, CV_8U, 1.0 / 257.0);
        m = tmp;
      }
    if (m.channels () != spec->channels)
      {
        int code = spec->channels == 1
                       ? (m.channels () == 4 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY)
                       : (m.channels () == 4 ? cv::COLOR_RGBA2RGB : cv::COLOR_GRAY2RGB);
        cv::Mat c;

        cv::cvtColor (m, c, code);
        m = c;
      }
    if (m.cols != spec->width || m.rows != spec->height)
      {
        bool shrink = spec->width <= m.cols && spec->height <= m.rows;
        cv::Mat r;

        cv::resize (m, r, cv::Size (spec->width, spec->height), 0, 0,
                    shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
        m = r;
      }
    return _sl_cv_take (m, out, err);
  }
  SL_CV_CATCH (err)
}
