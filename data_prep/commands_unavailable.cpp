#include "commands.h"

#include "core/error.h"

namespace wisesr::prep {

void run_synth(const SynthOptions&) {
  WISESR_THROW("'wisesr synth' needs OpenCV; this build has none (install libopencv-dev and reconfigure)");
}

void run_prep(const PrepOptions&) {
  WISESR_THROW("'wisesr prep' needs OpenCV; this build has none (install libopencv-dev and reconfigure)");
}

int run_verify(const VerifyOptions&) {
  WISESR_THROW("'wisesr verify' needs OpenCV; this build has none (install libopencv-dev and reconfigure)");
}

ImageRgb load_image_rgb(const std::string&, int, const std::string&) {
  WISESR_THROW("reading images needs OpenCV; this build has none (install libopencv-dev and reconfigure)");
}

void write_panels_png(const std::string&, int, const std::vector<Panel>&) {
  WISESR_THROW("writing images needs OpenCV; this build has none (install libopencv-dev and reconfigure)");
}

}  // namespace wisesr::prep
