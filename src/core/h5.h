#pragma once
// RAII over HDF5 hid_t handles and checked HDF5 calls. HDF5's own error stack printing is turned
// off (h5::quiet()); failures become one-line wisesr::Error messages naming the file/object.

#include <hdf5.h>

#include <string>
#include <utility>

#include "core/error.h"

#define WISESR_CHECK_H5(expr, ...)                                              \
  ([&]() {                                                                      \
    auto wisesr_h5_rc_ = (expr);                                                \
    if (wisesr_h5_rc_ < 0) WISESR_THROW(__VA_ARGS__, " (HDF5 call " #expr ")"); \
    return wisesr_h5_rc_;                                                       \
  }())

namespace wisesr::h5 {

/// Disable HDF5's automatic error-stack printing for this process (idempotent).
void quiet();

/// Move-only owner of an hid_t; closes it with the right H5*close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  /// Close now and report failure (destructors cannot); used where a failed close means lost data.
  void close(const std::string& what);
  void reset() noexcept {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

inline Handle file(hid_t id) { return Handle(id, H5Fclose); }
inline Handle dataset(hid_t id) { return Handle(id, H5Dclose); }
inline Handle dataspace(hid_t id) { return Handle(id, H5Sclose); }
inline Handle datatype(hid_t id) { return Handle(id, H5Tclose); }
inline Handle attribute(hid_t id) { return Handle(id, H5Aclose); }
inline Handle plist(hid_t id) { return Handle(id, H5Pclose); }

/// Variable-length UTF-8 string type (what h5py writes for str and reads back as str).
Handle utf8_string_type();

}  // namespace wisesr::h5
