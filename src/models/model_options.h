#pragma once
// The models layer's option group: which backbone and head (by their names in the registries of
// models/backbone.h and models/heads.h, whose help text --help shows), the Wise-SrNet pool size, dropout
// and pretrained weights. Spelled --model.<key> (INI section [model]) in every subcommand that takes it;
// see data/data_options.h for how groups are declared and used.

#include <string>

namespace wisesr::models {

/// One line per registered backbone / head: "name: help" (from the registries; defined in models/).
std::string backbone_help();
std::string head_help();

struct ModelOptions {
  static constexpr const char* kSection = "model";
  static constexpr const char* kCaption = "Model";

  std::string backbone = "resnet-tiny";
  std::string head = "wise";
  int pool = 0;            // Wise-SrNet average-pool size p; 0 = automatic from the feature-map size
  double dropout = -1.0;   // dropout before the dense layer; -1 = the head's default (0.5 for *-dropout)
  std::string pretrained;  // backbone state_dict saved from Python (torchvision/timm names)

  /// Throws wisesr::Error naming the first bad option, including a backbone or head name that is not
  /// registered (the message lists the registered ones).
  void validate() const;
};

template <typename F>
void visit_options(ModelOptions& o, F&& f) {
  f("backbone", o.backbone, "backbone:\n" + backbone_help());
  f("head", o.head, "classifier head:\n" + head_help());
  f("pool", o.pool, "Wise-SrNet average-pool size p; 0 = smallest p giving a kernel of at most 5x5");
  f("dropout", o.dropout, "dropout before the dense layer; -1 = the head's default (0.5 for *-dropout)");
  f("pretrained", o.pretrained,
    "backbone weights: a torchvision/timm state_dict saved with torch.save (the head starts afresh)");
}

}  // namespace wisesr::models
