// The emulators' own error vocabulary. The emulators are witnesses of how real devices behave,
// so they share no code with netconverge (not even its Result type): a bug on both sides would
// otherwise be invisible. tl::expected is a third-party library, not netconverge code.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace nc::sim {

enum class ErrorCode { kInvalidArgument, kNotFound, kUnavailable, kRejected, kInternal };

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace nc::sim
