#include "core/h5.h"

namespace wisesr::h5 {

void quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle utf8_string_type() {
  auto t = datatype(WISESR_CHECK_H5(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  WISESR_CHECK_H5(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size");
  WISESR_CHECK_H5(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

void Handle::close(const std::string& what) {
  if (id_ < 0) return;
  herr_t rc = closer_ ? closer_(id_) : 0;
  id_ = H5I_INVALID_HID;
  WISESR_CHECK(rc >= 0, "closing ", what, " failed (disk full or I/O error?)");
}

}  // namespace wisesr::h5
