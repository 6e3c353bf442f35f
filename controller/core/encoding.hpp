// Base64 in both alphabets (RFC 4648 §4 for Kubernetes Secrets and kubeconfigs, §5 "base64url"
// for JSON Web Tokens), UTF-8 sequences, and text made safe to show: a device's or a client's
// bytes before they reach a log, a JSON answer or the store. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "controller/core/result.hpp"

namespace nc::core {

/// Standard alphabet; '=' padding and line breaks are ignored.
Result<std::string> DecodeBase64(std::string_view in);
/// URL alphabet ('-', '_'), no padding allowed (JWS compact serialisation); any other character
/// is an error.
Result<std::string> DecodeBase64Url(std::string_view in);
std::string EncodeBase64Url(std::string_view in);

/// The length of the well-formed UTF-8 sequence starting at text[i] (1 for ASCII), or 0 when the
/// bytes there are not one (a stray continuation byte, an overlong or truncated sequence).
size_t Utf8SequenceLength(std::string_view text, size_t i);

/// `text` as one line of valid UTF-8: control characters and bytes that are not UTF-8 become
/// \xNN, and beyond `max_bytes` it is cut (on a character boundary) and says how much was left
/// out; from 80 bytes up the result, marker included, is at most `max_bytes`. For echoing
/// anything a client or a device sent.
std::string PrintableText(std::string_view text, size_t max_bytes = 4096);

/// zlib's deflate of `raw` at its fastest level (the texts kept - operations, snapshots - repeat
/// themselves; level 1 already shrinks them about tenfold). Without a length header: the caller
/// keeps `raw.size()` for Inflate. Fails only for want of memory.
Result<std::string> Deflate(std::string_view raw);
/// The inverse of Deflate: `deflated` must inflate to exactly `raw_size` bytes.
Result<std::string> Inflate(std::string_view deflated, size_t raw_size);

/// `text` with every occurrence of each non-empty secret (at least 4 bytes) replaced by
/// "<redacted>": a device that echoes a request in its error must not carry its key into logs,
/// events, the store or an HTTP answer.
std::string RedactSecrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace nc::core
