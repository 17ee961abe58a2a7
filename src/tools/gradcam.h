#pragma once
// `wisesr gradcam`: Grad-CAM heatmaps (Selvaraju et al., 2017) of a checkpoint on a split of prepared shards,
// overlaid on the inputs as PNGs; with --compare, side-by-side panels (input | A | B) of the images both
// models classify correctly, as in the paper's Fig. 9, and an index.md listing them.
//
// Note [Grad-CAM]
// ~~~~~~~~~~~~~~~
// For an image and a class c: A = the backbone's last feature map (C x h x w, what the head sees), y = the
// logit of c (before the softmax); alpha_k = mean over (i, j) of dy/dA_kij; cam = ReLU(sum_k alpha_k A_k),
// upsampled bilinearly to the input size and divided by its maximum (an all-zero map stays zero). The head
// is whatever the model has (GAP, Wise-SrNet, ...): the gradient goes through it, so the map shows where
// *this* head draws its evidence from; in eval mode (no dropout). c = the predicted class (--class-of
// predicted) or the true one (--class-of true).
//
// Usage:
//   wisesr gradcam --checkpoint runs/gap/checkpoints/best.pt --compare runs/wise/checkpoints/best.pt
//                  --data.dir shards --count 16 --out gradcam/
//   auto cam = tools::grad_cam(*model, images, target);      // (N,S,S) in [0, 1]

#include <torch/torch.h>

#include <utility>

#include "config/config.h"
#include "models/classifier.h"

namespace wisesr::tools {

/// Channel weights alpha (N,C) and the map ReLU(sum_k alpha_k A_k) (N,h,w), unnormalised, of class target[n]
/// for the feature maps `features` (N,C,h,w) through `head`.
std::pair<torch::Tensor, torch::Tensor> grad_cam_from_features(models::HeadImpl& head, torch::Tensor features,
                                                               const torch::Tensor& target);

struct CamResult {
  torch::Tensor cam;     // (N,S,S) float32 in [0, 1], on the CPU
  torch::Tensor probs;   // (N,K) softmax, on the CPU
  torch::Tensor target;  // (N) the classes the maps are of
};

/// Grad-CAM of images (N,3,S,S, normalised, on the model's device) for target[n]; target = -1 entries take
/// the predicted class.
CamResult grad_cam(models::ClassifierImpl& model, const torch::Tensor& images, torch::Tensor target);

/// Normalised images back to displayable RGB (N,S,S,3) uint8 on the CPU (caffe or imagenet statistics).
torch::Tensor display_rgb(const torch::Tensor& images, data::Normalize normalize);

/// Runs the command; returns the number of images written.
int run_gradcam(const config::GradcamConfig& cfg);

}  // namespace wisesr::tools
