#pragma once
// One error type and one check helper. The message is only built on failure.
#include <sstream>
#include <stdexcept>
#include <string>

namespace xg {

/// Thrown for every bad input: the message names the op, the shapes and dtypes.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
[[noreturn]] void fail(const char* op, const Parts&... parts) {
  std::ostringstream os;
  os << op << ": ";
  (os << ... << parts);
  throw Error(os.str());
}
}  // namespace detail

}  // namespace xg

/// XG_CHECK(cond, "op", "message parts", shape, ...): throws xg::Error("op: ...").
#define XG_CHECK(cond, op, ...)                          \
  do {                                                   \
    if (!(cond)) ::xg::detail::fail(op, __VA_ARGS__);    \
  } while (0)
