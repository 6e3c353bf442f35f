// Base64 in both alphabets (RFC 4648 §4 for Kubernetes Secrets and kubeconfigs, §5 "base64url"
// for JSON Web Tokens). Pure.
#pragma once

#include <string>
#include <string_view>

#include "controller/core/result.hpp"

namespace nc::core {

/// Standard alphabet; '=' padding and line breaks are ignored.
Result<std::string> DecodeBase64(std::string_view in);
/// URL alphabet ('-', '_'), no padding allowed (JWS compact serialisation); any other character
/// is an error.
Result<std::string> DecodeBase64Url(std::string_view in);
std::string EncodeBase64Url(std::string_view in);

}  // namespace nc::core
