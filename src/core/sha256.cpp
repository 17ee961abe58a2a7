#include "core/sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "core/error.h"

namespace wisesr {
namespace {

struct Digest {
  Digest() : ctx(EVP_MD_CTX_new()) {
    WISESR_CHECK(ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1, "SHA-256 init failed");
  }
  ~Digest() { EVP_MD_CTX_free(ctx); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(const void* data, size_t n) {
    WISESR_CHECK(EVP_DigestUpdate(ctx, data, n) == 1, "SHA-256 failed");
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    WISESR_CHECK(EVP_DigestFinal_ex(ctx, md, &len) == 1, "SHA-256 failed");
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out += digits[md[i] >> 4];
      out += digits[md[i] & 15];
    }
    return out;
  }
  EVP_MD_CTX* ctx;
};

}  // namespace

std::string sha256_bytes(const void* data, size_t size) {
  Digest d;
  d.update(data, size);
  return d.hex();
}

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  WISESR_CHECK(in.good(), "cannot read '", path.string(), "': ", std::strerror(errno));
  Digest d;
  std::vector<char> buf(4 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) d.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  WISESR_CHECK(in.eof(), "read error on '", path.string(), "'");
  return d.hex();
}

}  // namespace wisesr
