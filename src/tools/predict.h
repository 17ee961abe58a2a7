#pragma once
// `wisesr predict`: a checkpoint's top classes for image files. Each image is read as prep reads it (any
// format prep reads, decoded, resized to the checkpoint's size by --resize: prep::load_image_rgb) and
// normalised as evaluation does (data::BatchTransform without augmentation), in batches of
// --train.batch_size, on --train.device. A file that cannot be classified (missing, unreadable, not an
// image) gets one error line on stderr naming it and why; the others are still classified.
//
// Usage:
//   wisesr predict --checkpoint runs/r/checkpoints/best.pt photo.jpg more/ --topk 3 --json out.json
// Output: one line per image, "FILE: CLASS P, CLASS P, ..." (probabilities of a softmax over the classes);
// --json: [{"file", "top": [{"class", "index", "prob"}...]} | {"file", "error"}...].

#include <string>
#include <vector>

#include "config/config.h"

namespace wisesr::tools {

struct Prediction {
  std::string file;
  std::string error;  // "" = classified
  std::vector<int64_t> classes;
  std::vector<double> probs;
};

/// The image files of `inputs`: files as given, directories searched recursively for image extensions
/// (sorted); a path that does not exist is an error naming it.
std::vector<std::string> predict_inputs(const std::vector<std::string>& inputs);

/// Classifies every input; returns the number of files that could not be classified.
int run_predict(const config::PredictConfig& cfg);

}  // namespace wisesr::tools
