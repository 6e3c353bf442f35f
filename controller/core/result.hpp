// Error vocabulary of netconverge: a short closed set of codes (after Abseil's canonical codes)
// and Result<T> = tl::expected<T, Error>. Pure: used by every ring, depends on nothing but the
// standard library and tl::expected.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace nc {

enum class ErrorCode {
  /// The input (a manifest, a flag, a request) is wrong; retrying the same input cannot help.
  kInvalidArgument,
  /// A named thing (device, snapshot, file) does not exist.
  kNotFound,
  /// Another writer holds what we need (device commit lock, pending confirm); retry later.
  kConflict,
  /// The peer could not be reached or answered 5xx; the operation may be retried after a re-read.
  kUnavailable,
  /// A deadline passed. For writes the outcome is unknown: re-read before re-sending.
  kDeadlineExceeded,
  /// Authentication or authorisation failed (bad API key, refused host key).
  kPermissionDenied,
  /// The system is not in a state that allows the operation (schema too new, device paused).
  kFailedPrecondition,
  /// The device rejected a change it was sent (commit or validation failure on the device).
  kRejected,
  /// A bug or a broken invariant in netconverge itself.
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  bool operator==(const Error&) const = default;
};

/// Whether the controller should retry (with backoff) after this error. Invalid input and
/// authentication failures are terminal until something changes.
inline bool IsRetryable(const Error& e) {
  switch (e.code) {
    case ErrorCode::kConflict:
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kRejected:
    case ErrorCode::kInternal:
      return true;
    default:
      return false;
  }
}

const char* ErrorCodeName(ErrorCode code);

template <class T>
using Result = tl::expected<T, Error>;

using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace nc
