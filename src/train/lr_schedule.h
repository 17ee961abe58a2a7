#pragma once
// Learning-rate schedules.

#include <cmath>
#include <cstdint>

namespace wisesr::train {

/// The paper's schedule: lr0 * decay^floor(epoch / every) (Keras staircase exponential decay).
inline double staircase_lr(double lr0, double decay, int every_epochs, int64_t epoch) {
  return lr0 * std::pow(decay, static_cast<double>(epoch / every_epochs));
}

}  // namespace wisesr::train
