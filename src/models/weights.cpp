#include "models/weights.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/serialize.h>

#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"

namespace wisesr::models {
namespace {

std::string strip_prefix(std::string key) {
  for (const char* p : {"module.", "backbone."}) {
    const std::string prefix(p);
    if (key.rfind(prefix, 0) == 0) key = key.substr(prefix.size());
  }
  return key;
}

bool is_classifier_key(const std::string& key) {
  for (const char* p : {"fc.", "classifier.", "head.", "last_linear.", kExportHeadPrefix}) {
    if (key.rfind(p, 0) == 0) return true;
  }
  return false;
}

// torch.save's zip format for an IValue. Unlike torch::pickle_save, the pickle carries no TorchScript
// type tags (torch.jit._pickle.restore_type_tag), which torch.load(weights_only=True), the default since
// PyTorch 2.6, refuses; a plain dict of tensors needs none.
std::string torch_save_bytes(const c10::IValue& value) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler([&](const char* buf, size_t n) { pickle.insert(pickle.end(), buf, buf + n); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr,
                              /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) -> size_t {
    out.append(static_cast<const char*>(buf), n);
    return n;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return out;
}

}  // namespace

void LoadReport::copy(const std::string& key, const torch::Tensor& stored, const torch::Tensor& target) {
  if (!stored.defined()) {
    missing_.push_back(key);
  } else if (stored.sizes() != target.sizes()) {
    std::ostringstream os;
    os << key << " has shape " << stored.sizes() << ", expected " << target.sizes();
    mismatched_.push_back(os.str());
  } else {
    torch::NoGradGuard no_grad;
    torch::Tensor t = target;
    t.copy_(stored);
  }
}

std::string LoadReport::describe() const {
  std::string out;
  auto add = [&](const std::vector<std::string>& v, const char* what) {
    if (v.empty()) return;
    std::vector<std::string> some(v.begin(),
                                  v.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(v.size(), 3)));
    if (!out.empty()) out += " ";
    out += std::to_string(v.size()) + " " + what + " [" + join(some) + (v.size() > 3 ? ", ..." : "") + "]";
  };
  add(mismatched_, "shape mismatch(es)");
  add(missing_, "missing");
  add(unexpected_, "unexpected");
  return out;
}

void load_backbone_state_dict(BackboneImpl& backbone, const std::filesystem::path& file) {
  const std::string bytes = fs::read_file(file);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    WISESR_THROW("'", file.string(), "' is not a torch.save file: ", e.what_without_backtrace());
  }
  WISESR_CHECK(value.isGenericDict(), "'", file.string(),
               "' does not hold a dict (save it with torch.save(model.state_dict(), path))");
  std::map<std::string, torch::Tensor> source;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) continue;
    const std::string key = strip_prefix(item.key().toStringRef());
    if (!is_classifier_key(key)) source[key] = item.value().toTensor();
  }
  LoadReport report;
  torch::NoGradGuard no_grad;
  auto load = [&](const torch::OrderedDict<std::string, torch::Tensor>& named) {
    for (const auto& item : named) {
      auto it = source.find(item.key());
      report.copy(item.key(), it == source.end() ? torch::Tensor() : it->second, item.value());
      if (it != source.end()) source.erase(it);
    }
  };
  load(backbone.named_parameters());
  load(backbone.named_buffers());
  for (const auto& [key, t] : source) report.unexpected(key);
  WISESR_CHECK(report.ok(), "'", file.string(), "' does not fit the backbone: ", report.describe());
}

void export_state_dict(ClassifierImpl& model, const std::filesystem::path& file) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  auto add = [&](const std::string& prefix, const torch::OrderedDict<std::string, torch::Tensor>& named) {
    for (const auto& item : named) dict.insert(prefix + item.key(), item.value().detach().cpu().contiguous());
  };
  add("", model.backbone().named_parameters());
  add("", model.backbone().named_buffers());
  add(kExportHeadPrefix, model.head().named_parameters());
  add(kExportHeadPrefix, model.head().named_buffers());
  fs::write_file_atomic(file, torch_save_bytes(c10::IValue(dict)));
}

}  // namespace wisesr::models
