#pragma once
// Weights in and out as Python state_dicts (torch.save / torch.load), so torchvision/timm checkpoints load
// into our backbones and our trained weights load back into Python.

#include <filesystem>
#include <string>

#include "models/classifier.h"

namespace wisesr::models {

/// Prefix under which export_state_dict() writes the head's tensors (chosen not to collide with any
/// torchvision/timm key, so `model.load_state_dict(d, strict=False)` accepts the backbone part).
inline constexpr const char* kExportHeadPrefix = "wisesr_head.";

/// Load a backbone state_dict saved from Python as a plain dict with torch.save (torchvision/timm
/// names; a leading "module." or "backbone." is stripped). The source model's classifier (fc.*,
/// classifier.*, head.*) is ignored: the head is initialised afresh. Missing keys and shape mismatches
/// are one error listing them.
void load_backbone_state_dict(BackboneImpl& backbone, const std::filesystem::path& file);

/// Write the classifier's parameters and buffers as a dict Python's torch.load reads: backbone keys with
/// their torchvision/timm names, head keys under kExportHeadPrefix. Atomic (temp file + rename).
void export_state_dict(ClassifierImpl& model, const std::filesystem::path& file);

}  // namespace wisesr::models
