#include "sources.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "data/sampler.h"
#include "layouts.h"

namespace wisesr::prep {
namespace {

namespace stdfs = std::filesystem;

bool is_hidden(const stdfs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

// Lines "path<TAB>label" or "path,label" (the last comma); '#' comments and blank lines ignored.
std::vector<LabeledInput> read_list(const std::string& list, const std::string& root_arg) {
  std::ifstream in(list);
  WISESR_CHECK(in.good(), "cannot read list file '", list, "'");
  const stdfs::path root = root_arg.empty() ? stdfs::path(list).parent_path() : stdfs::path(root_arg);
  std::vector<LabeledInput> out;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t sep = line.find('\t');
    if (sep == std::string::npos) sep = line.rfind(',');
    WISESR_CHECK(sep != std::string::npos && sep > 0 && sep + 1 < line.size(), "list '", list, "' line ",
                 line_no, ": expected 'path<TAB>label' or 'path,label'");
    const std::string rel = line.substr(0, sep), label = line.substr(sep + 1);
    out.push_back({(root / rel).string(), rel, label});
  }
  return out;
}

bool is_integer(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<LabeledInput> read_source(const std::string& tree, const std::string& list,
                                      const std::string& root, std::vector<std::string>& folders) {
  return tree.empty() ? read_list(list, root) : scan_class_tree(tree, folders);
}

// The sources as the options give them. Class order: sorted folder names, else sorted list labels
// (numerically when every label is an integer); --class-index replaces it in collect_sources().
ResolvedInputs resolve_options(const PrepOptions& cfg) {
  ResolvedInputs in;
  std::vector<std::string> folders, val_folders;
  in.train = read_source(cfg.input, cfg.list, cfg.root, folders);
  in.train_origin = cfg.input.empty() ? "list '" + cfg.list + "'" : "'" + cfg.input + "'";
  in.separate_val = !cfg.val_input.empty() || !cfg.val_list.empty();
  if (in.separate_val) {
    in.val = read_source(cfg.val_input, cfg.val_list, cfg.root, val_folders);
    in.val_origin = cfg.val_input.empty() ? "list '" + cfg.val_list + "'" : "'" + cfg.val_input + "'";
  }
  if (!folders.empty()) {
    in.classes = folders;
    return in;
  }
  std::set<std::string> names;
  bool numeric = true;
  for (const auto* v : {&in.train, &in.val})
    for (const auto& l : *v) {
      names.insert(l.label);
      numeric &= is_integer(l.label);
    }
  in.classes.assign(names.begin(), names.end());
  if (numeric) {
    std::sort(in.classes.begin(), in.classes.end(),
              [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
  }
  return in;
}

// Labels -> indices, duplicates out, the train/val split (separate, or stratified by --val-fraction), and
// the seeded record order.
SourceSet assemble(ResolvedInputs in, const PrepOptions& cfg) {
  SourceSet set;
  set.classes = std::move(in.classes);
  set.skipped = std::move(in.skipped);
  std::map<std::string, int32_t> index;
  for (size_t i = 0; i < set.classes.size(); ++i) index[set.classes[i]] = static_cast<int32_t>(i);
  const bool integer_labels_allowed = !cfg.class_index.empty();
  auto label_of = [&](const LabeledInput& l, const std::string& origin) -> int32_t {
    auto it = index.find(l.label);
    if (it != index.end()) return it->second;
    if (integer_labels_allowed && is_integer(l.label) &&
        std::stoll(l.label) < static_cast<long long>(index.size())) {
      return static_cast<int32_t>(std::stoll(l.label));
    }
    WISESR_THROW(origin, ": label '", l.label, "' of '", l.rel, "' is not in the class list",
                 cfg.class_index.empty() ? "" : (" ('" + cfg.class_index + "')"));
  };

  std::set<std::string> seen;  // a file listed twice becomes one record
  auto convert = [&](const std::vector<LabeledInput>& inputs, const std::string& origin) {
    std::vector<Source> out;
    for (const auto& l : inputs) {
      const int32_t label = label_of(l, origin);
      std::error_code ec;
      const std::string key = stdfs::weakly_canonical(l.file, ec).string();
      if (!seen.insert(ec ? l.file : key).second) {
        set.skipped.emplace_back(l.rel, "duplicate path");
        continue;
      }
      out.push_back({l.file, l.rel, label});
    }
    return out;
  };
  std::vector<Source> all_train = convert(in.train, in.train_origin);
  std::vector<uint64_t> per_class(set.classes.size(), 0);
  for (const auto& s : all_train) ++per_class[s.label];

  if (in.separate_val) {
    set.train = std::move(all_train);
    set.val = convert(in.val, in.val_origin);
  } else {
    // Stratified, seeded split: each class's files in a seeded order, the first round(n * f) go to val.
    std::vector<std::vector<Source>> by_class(set.classes.size());
    for (auto& s : all_train) by_class[s.label].push_back(std::move(s));
    for (size_t c = 0; c < by_class.size(); ++c) {
      const auto order = hashed_order(by_class[c].size(), cfg.seed ^ data::mix64(0xC1A55 + c));
      const size_t n_val =
          static_cast<size_t>(std::llround(cfg.val_fraction * static_cast<double>(order.size())));
      for (size_t k = 0; k < order.size(); ++k)
        (k < n_val ? set.val : set.train).push_back(by_class[c][order[k]]);
    }
  }
  for (size_t c = 0; c < set.classes.size(); ++c) {
    if (per_class[c] == 0) {
      set.empty_classes.push_back(set.classes[c]);
      LOG_WARN("class '" << set.classes[c] << "' has no training inputs");
    }
  }
  // Mix classes within each split (seeded) so every shard holds every class.
  auto shuffle = [&](std::vector<Source>& v, uint64_t salt) {
    std::vector<Source> shuffled;
    shuffled.reserve(v.size());
    for (size_t i : hashed_order(v.size(), cfg.seed ^ data::mix64(salt))) shuffled.push_back(std::move(v[i]));
    v = std::move(shuffled);
  };
  shuffle(set.train, 0x7121);
  shuffle(set.val, 0x7a1);
  return set;
}

}  // namespace

std::vector<LabeledInput> scan_class_tree(const std::string& root_arg, std::vector<std::string>& folders) {
  const stdfs::path root(root_arg);
  WISESR_CHECK(stdfs::is_directory(root), "input directory '", root.string(), "' does not exist");
  for (const auto& e : stdfs::directory_iterator(root)) {
    if (e.is_directory() && !is_hidden(e.path())) folders.push_back(e.path().filename().string());
  }
  std::sort(folders.begin(), folders.end());
  WISESR_CHECK(!folders.empty(), "input directory '", root.string(), "' has no class subfolders");
  std::vector<LabeledInput> out;
  for (const auto& c : folders) {
    std::vector<LabeledInput> files;
    std::error_code ec;
    for (auto it = stdfs::recursive_directory_iterator(root / c,
                                                       stdfs::directory_options::skip_permission_denied, ec);
         it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (is_hidden(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_directory())
        files.push_back({it->path().string(), stdfs::relative(it->path(), root).string(), c});
    }
    std::sort(files.begin(), files.end(),
              [](const LabeledInput& a, const LabeledInput& b) { return a.rel < b.rel; });
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

std::vector<std::string> read_class_index(const std::string& file) {
  std::ifstream in(file);
  WISESR_CHECK(in.good(), "cannot read class index '", file, "'");
  std::vector<std::string> classes;
  std::set<std::string> seen;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    WISESR_CHECK(seen.insert(line).second, "class index '", file, "' lists '", line, "' twice");
    classes.push_back(line);
  }
  WISESR_CHECK(!classes.empty(), "class index '", file, "' is empty");
  return classes;
}

std::vector<size_t> hashed_order(size_t n, uint64_t seed) {
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = data::mix64(seed ^ data::mix64(i));
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  return order;
}

SourceSet collect_sources(const PrepOptions& cfg) {
  ResolvedInputs in = cfg.layout == Layout::kNone ? resolve_options(cfg) : resolve_layout(cfg);
  if (!cfg.class_index.empty()) in.classes = read_class_index(cfg.class_index);
  return assemble(std::move(in), cfg);
}

}  // namespace wisesr::prep
