// Images out (OpenCV): panels of an image with a blended heatmap, for `wisesr gradcam` (commands.h).
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "commands.h"
#include "core/error.h"
#include "core/fs.h"

namespace wisesr::prep {

void write_panels_png(const std::string& file, int size, const std::vector<Panel>& panels) {
  WISESR_CHECK(!panels.empty() && size > 0, "write_panels_png: nothing to draw");
  const int scale = std::max(1, (224 + size - 1) / size), side = size * scale, bar = 24;
  cv::Mat canvas(side + bar, side * static_cast<int>(panels.size()), CV_8UC3, cv::Scalar(255, 255, 255));
  for (size_t k = 0; k < panels.size(); ++k) {
    const Panel& p = panels[k];
    cv::Mat rgb(size, size, CV_8UC3, const_cast<uint8_t*>(p.rgb)), bgr, big;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    cv::resize(bgr, big, cv::Size(side, side), 0, 0, cv::INTER_CUBIC);
    if (p.heat) {
      cv::Mat heat(size, size, CV_32F, const_cast<float*>(p.heat)), heat8, heat_big, colour;
      heat.convertTo(heat8, CV_8U, 255.0);
      cv::resize(heat8, heat_big, cv::Size(side, side), 0, 0, cv::INTER_LINEAR);
      cv::applyColorMap(heat_big, colour, cv::COLORMAP_JET);
      cv::addWeighted(big, 0.55, colour, 0.45, 0, big);
    }
    big.copyTo(canvas(cv::Rect(static_cast<int>(k) * side, bar, side, side)));
    // The largest font up to 0.5 at which the title fits the panel.
    int baseline = 0;
    const cv::Size at_half = cv::getTextSize(p.title, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &baseline);
    const double font = std::min(0.5, 0.5 * (side - 8) / std::max(1, at_half.width));
    cv::putText(canvas, p.title, cv::Point(static_cast<int>(k) * side + 4, bar - 8), cv::FONT_HERSHEY_SIMPLEX,
                font, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  std::vector<uint8_t> bytes;
  WISESR_CHECK(cv::imencode(".png", canvas, bytes), "cannot encode '", file, "' as PNG");
  fs::write_file_atomic(file, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace wisesr::prep
