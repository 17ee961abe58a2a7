#include "commands.h"

#include "core/error.h"

namespace wisesr::prep {

void run_synth(const config::SynthConfig&) {
  WISESR_THROW("'wisesr synth' needs OpenCV; this build has none (install libopencv-dev and reconfigure)");
}

void run_prep(const config::PrepConfig&) {
  WISESR_THROW("'wisesr prep' needs OpenCV; this build has none (install libopencv-dev and reconfigure)");
}

int run_verify(const config::VerifyConfig&) {
  WISESR_THROW("'wisesr verify' needs OpenCV; this build has none (install libopencv-dev and reconfigure)");
}

}  // namespace wisesr::prep
