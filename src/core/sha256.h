#pragma once
// SHA-256 (OpenSSL) of files and byte ranges, as lowercase hex.

#include <filesystem>
#include <string>

namespace wisesr {

/// SHA-256 of a whole file, read in 4 MiB blocks; throws naming the file if it cannot be read.
std::string sha256_file(const std::filesystem::path& path);
std::string sha256_bytes(const void* data, size_t size);

}  // namespace wisesr
