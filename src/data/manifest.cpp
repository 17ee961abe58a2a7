#include "data/manifest.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"

namespace wisesr::data {

using nlohmann::json;

namespace {

// A syntax error is reported by position only: the parser's own message quotes the bytes it read, which
// for a binary or garbled file are raw bytes.
json parse_json(const std::string& text, const std::filesystem::path& path) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    WISESR_THROW("'", path.string(), "' is not valid JSON at byte ", e.byte,
                 " (damaged, or not written by 'wisesr prep'?)");
  }
}

}  // namespace

void Manifest::save(const std::filesystem::path& dir) const {
  json j;
  j["format"] = kFormatName;
  j["schema_version"] = schema_version;
  j["tool_version"] = tool_version;
  j["classes"] = classes;
  j["storage"] = storage;
  j["size_policy"] = size_policy;
  j["jpeg_quality"] = jpeg_quality;
  j["image_size"] = image_size;
  j["options"] = options;
  json splits_json = json::object();
  for (const auto& [name, s] : splits) {
    json shards = json::array();
    for (const auto& sh : s.shards) {
      shards.push_back(
          {{"file", sh.file}, {"records", sh.records}, {"bytes", sh.bytes}, {"sha256", sh.sha256}});
    }
    splits_json[name] = {{"records", s.records}, {"class_counts", s.class_counts}, {"shards", shards}};
  }
  j["splits"] = splits_json;
  fs::write_file_atomic(dir / kManifestName, j.dump(2) + "\n");
}

Manifest Manifest::load(const std::filesystem::path& dir) {
  const auto path = dir / kManifestName;
  std::error_code ec;
  WISESR_CHECK(std::filesystem::is_directory(dir, ec) || !std::filesystem::exists(dir, ec), "dataset '",
               dir.string(), "' is a file, not a directory (give the directory 'wisesr prep' wrote)");
  WISESR_CHECK(std::filesystem::exists(path, ec), "no dataset manifest '", path.string(),
               "' (is this a directory written by 'wisesr prep'?)");
  WISESR_CHECK(!std::filesystem::is_directory(path, ec), "dataset manifest '", path.string(),
               "' is a directory, not a file");
  Manifest m;
  try {
    json j = parse_json(fs::read_file(path), path);
    WISESR_CHECK(j.value("format", "") == kFormatName, "'", path.string(), "' is not a wisesr manifest");
    m.schema_version = j.at("schema_version").get<int>();
    WISESR_CHECK(m.schema_version == kSchemaVersion, "'", path.string(), "' has schema version ",
                 m.schema_version, ", this build reads version ", kSchemaVersion);
    m.tool_version = j.value("tool_version", "");
    m.classes = j.at("classes").get<std::vector<std::string>>();
    m.storage = j.at("storage").get<std::string>();
    m.size_policy = j.at("size_policy").get<std::string>();
    m.jpeg_quality = j.at("jpeg_quality").get<int>();
    m.image_size = j.at("image_size").get<int>();
    if (j.contains("options")) m.options = j["options"].get<std::map<std::string, std::string>>();
    for (const auto& [name, s] : j.at("splits").items()) {
      SplitManifest sm;
      sm.records = s.at("records").get<uint64_t>();
      sm.class_counts = s.at("class_counts").get<std::vector<uint64_t>>();
      for (const auto& sh : s.at("shards")) {
        sm.shards.push_back({sh.at("file").get<std::string>(), sh.at("records").get<uint64_t>(),
                             sh.at("bytes").get<uint64_t>(), sh.value("sha256", "")});
      }
      m.splits[name] = std::move(sm);
    }
  } catch (const json::exception& e) {
    WISESR_THROW("malformed manifest '", path.string(), "': ", e.what());
  }
  return m;
}

const SplitManifest& Manifest::split(const std::string& name) const {
  auto it = splits.find(name);
  if (it == splits.end()) {
    std::vector<std::string> have;
    for (const auto& [k, v] : splits) have.push_back(k);
    WISESR_THROW("no split '", name, "' in the dataset (it has: ", have.empty() ? "no splits" : join(have),
                 ")");
  }
  return it->second;
}

}  // namespace wisesr::data
