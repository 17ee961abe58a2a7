#pragma once
// Error handling: exceptions inside the process, checked C return codes at every call site.
// main() catches wisesr::Error, prints "[rank r] error: what()" once and aborts the job.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace wisesr {

/// The one exception type of the project. what() is a single line naming the thing that failed.
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file, int line);
  /// The message without the source location (for users); what() carries "(file:line)" for developers.
  const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

}  // namespace wisesr

/// Throw wisesr::Error with a message built from the stream-able arguments.
#define WISESR_THROW(...) throw ::wisesr::Error(::wisesr::detail::concat(__VA_ARGS__), __FILE__, __LINE__)

/// Check a condition; on failure throw with the given message.
#define WISESR_CHECK(cond, ...)  \
  do {                           \
    if (!(cond)) {               \
      WISESR_THROW(__VA_ARGS__); \
    }                            \
  } while (false)
