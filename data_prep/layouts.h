#pragma once
// Real datasets as they are distributed, read from their own on-disk layout (`wisesr prep --layout L
// --input ROOT`): each layout resolves ROOT into the same train/val inputs and class order that
// --input/--list/--val-* give (sources.h), with the dataset's official split. docs/datasets.md has, per
// dataset, the files read, where they are looked for and how the known quirks are handled.
//
//   imagenet  ROOT/train/<wnid>/*.JPEG; ROOT/val/ sorted into <wnid>/ folders, or flat
//             ILSVRC2012_val_<k>.JPEG labelled by the devkit's ILSVRC2012_validation_ground_truth.txt
//             (+ a synset mapping: LOC_synset_mapping.txt, synsets.txt or synset_words.txt) or by
//             Kaggle's LOC_val_solution.csv. Classes: sorted wnids (= ILSVRC2012_ID order).
//   mit67     ROOT/Images/<class>/<file>, split by ROOT/TrainImages.txt and ROOT/TestImages.txt.
//   intel     ROOT/seg_train[/seg_train]/<class>/, val ROOT/seg_test[/seg_test]/<class>/; seg_pred ignored.
//   folders   ROOT/train/<class>/ + ROOT/{val,valid,validation,test}/<class>/, or ROOT/<class>/ split by
//             --val-fraction.
// Paths stored in the shards (and named in skipped.tsv) are relative to ROOT.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prep_options.h"
#include "sources.h"

namespace wisesr::prep {

/// Resolve cfg.input (the dataset's ROOT) by cfg.layout, print what was found (classes, inputs per split,
/// what is ignored) and return it. Throws one line naming the missing file or folder when ROOT does not
/// match the layout, and on labels that contradict each other.
ResolvedInputs resolve_layout(const PrepOptions& cfg);

// The ImageNet and MIT67 file formats, exposed for tests.

/// A synset mapping (LOC_synset_mapping.txt / synset_words.txt: "n01440764 tench, Tinca tinca";
/// synsets.txt: "n01440764"): the first word of each line; line k names ILSVRC2012_ID k. Throws naming
/// the line on a word that is not a WordNet ID, a repeat, or lines out of sorted-wnid order (the
/// ILSVRC2012_ID order, so any other order is a different mapping).
std::vector<std::string> read_synset_mapping(const std::string& file);

/// The devkit's ILSVRC2012_validation_ground_truth.txt: line k holds the ILSVRC2012_ID (1..ids) of
/// ILSVRC2012_val_<k>. Throws naming the line on anything else (trailing blank lines are allowed).
std::vector<int> read_validation_ground_truth(const std::string& file, size_t ids);

/// Kaggle's LOC_val_solution.csv ("ImageId,PredictionString", then "ILSVRC2012_val_00008726,n02119789 255
/// 142 454 329 n02119789 44 21 322 295"): ImageId -> the first wnid (the image's class; the others repeat
/// it, one per box). Throws naming the line on a malformed row or an ImageId given twice.
std::map<std::string, std::string> read_loc_val_solution(const std::string& file);

/// k of a file named "ILSVRC2012_val_<k>.<ext>" (k >= 1); 0 for any other name.
uint64_t imagenet_val_index(const std::string& filename);

/// MIT67's TrainImages.txt / TestImages.txt: "class/file.jpg" per line, relative to Images/ (kept whole:
/// names may hold spaces). Blank lines skipped, '\r' and trailing blanks trimmed; throws naming the line
/// on one without a "class/" part.
std::vector<std::string> read_image_list(const std::string& file);

}  // namespace wisesr::prep
