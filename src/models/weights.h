#pragma once
// Weights in and out as Python state_dicts (torch.save / torch.load), so torchvision/timm checkpoints load
// into our backbones and our trained weights load back into Python.

#include <filesystem>
#include <string>
#include <vector>

#include "models/classifier.h"

namespace wisesr::models {

/// Prefix under which export_state_dict() writes the head's tensors (chosen not to collide with any
/// torchvision/timm key, so `model.load_state_dict(d, strict=False)` accepts the backbone part).
inline constexpr const char* kExportHeadPrefix = "wisesr_head.";

/// What did not fit while copying stored tensors into a model's, gathered for one error message
/// (used for Python state_dicts and for our checkpoints alike).
class LoadReport {
 public:
  /// Copy stored into target when the shapes agree; an undefined stored tensor counts as missing.
  void copy(const std::string& key, const torch::Tensor& stored, const torch::Tensor& target);
  void missing(const std::string& key) { missing_.push_back(key); }
  void unexpected(const std::string& key) { unexpected_.push_back(key); }
  bool ok() const { return mismatched_.empty() && missing_.empty() && unexpected_.empty(); }
  /// "N shape mismatch(es) [...] N missing [...] N unexpected [...]", a few keys of each.
  std::string describe() const;

 private:
  std::vector<std::string> mismatched_, missing_, unexpected_;
};

/// Load a backbone state_dict saved from Python as a plain dict with torch.save (torchvision/timm
/// names; a leading "module." or "backbone." is stripped). The source model's classifier (fc.*,
/// classifier.*, head.*) is ignored: the head is initialised afresh. Missing keys and shape mismatches
/// are one error listing them.
void load_backbone_state_dict(BackboneImpl& backbone, const std::filesystem::path& file);

/// Write the classifier's parameters and buffers as a dict Python's torch.load reads: backbone keys with
/// their torchvision/timm names, head keys under kExportHeadPrefix. Atomic (temp file + rename).
void export_state_dict(ClassifierImpl& model, const std::filesystem::path& file);

}  // namespace wisesr::models
