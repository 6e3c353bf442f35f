#include "controller/core/encoding.hpp"

#include <zlib.h>

namespace nc::core {

namespace {

Result<std::string> Decode(std::string_view in, bool url) {
  auto val = [url](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
  };
  std::string out;
  int bits = 0;
  unsigned buf = 0;
  for (char c : in) {
    if (!url && (c == '=' || c == '\n' || c == '\r' || c == ' ')) continue;
    const int v = val(c);
    if (v < 0) return MakeError(ErrorCode::kInvalidArgument, url ? "not base64url" : "not base64");
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  if (url && bits >= 6) return MakeError(ErrorCode::kInvalidArgument, "not base64url (bad length)");
  // Canonical only: the unused low bits of the last character must be zero, so that one token
  // has one spelling (a changed padding bit is a changed token, not the same one).
  if (url && bits > 0 && (buf & ((1u << bits) - 1)) != 0)
    return MakeError(ErrorCode::kInvalidArgument, "not base64url (non-zero padding bits)");
  return out;
}

}  // namespace

Result<std::string> DecodeBase64(std::string_view in) {
  return Decode(in, false);
}
Result<std::string> DecodeBase64Url(std::string_view in) {
  return Decode(in, true);
}

std::string EncodeBase64Url(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buf >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buf << (6 - bits)) & 0x3f]);
  return out;
}

size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto u = static_cast<unsigned char>(text[i]);
  if (u < 0x80) return 1;
  const size_t len = u >= 0xf0 && u < 0xf5   ? 4
                     : u >= 0xe0 && u < 0xf0 ? 3
                     : u >= 0xc2 && u < 0xe0 ? 2
                                             : 0;
  if (len == 0 || i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return 0;
  const auto u1 = static_cast<unsigned char>(text[i + 1]);
  if ((u == 0xe0 && u1 < 0xa0) || (u == 0xf0 && u1 < 0x90) || (u == 0xf4 && u1 >= 0x90) ||
      (u == 0xed && u1 >= 0xa0))
    return 0;  // overlong, beyond U+10FFFF, or a surrogate
  return len;
}

std::string PrintableText(std::string_view text, size_t max_bytes) {
  static const char kHex[] = "0123456789abcdef";
  // Escapes into `out` until `budget` bytes; returns how much of `text` fit.
  auto render = [&](std::string& out, size_t budget) {
    size_t i = 0;
    while (i < text.size()) {
      const auto u = static_cast<unsigned char>(text[i]);
      const size_t len = Utf8SequenceLength(text, i);
      const size_t need = len == 1 && u >= 0x20 && u != 0x7f ? 1 : len > 1 ? len : 4;
      if (out.size() + need > budget) break;
      if (need == 4 && len <= 1) {
        out += "\\x";
        out += kHex[u >> 4];
        out += kHex[u & 15];
        ++i;
      } else {
        out.append(text.substr(i, len));
        i += len;
      }
    }
    return i;
  };
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 16);
  if (render(out, max_bytes) == text.size()) return out;
  // Cut: the marker counts toward the limit too ("... (N more bytes)", at most 37 bytes).
  constexpr size_t kMarker = 40;
  out.clear();
  const size_t used = render(out, max_bytes >= 2 * kMarker ? max_bytes - kMarker : max_bytes / 2);
  out += "... (" + std::to_string(text.size() - used) + " more bytes)";
  return out;
}

std::string RedactSecrets(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.size() < 4) continue;  // too short to tell from ordinary text
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 10))
      text.replace(at, secret.size(), "<redacted>");
  }
  return text;
}

Result<std::string> Deflate(std::string_view raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                Z_BEST_SPEED) != Z_OK)
    return MakeError(ErrorCode::kInternal, "deflate failed (out of memory)");
  out.resize(size);
  out.shrink_to_fit();
  return out;
}

Result<std::string> Inflate(std::string_view deflated, size_t raw_size) {
  std::string out(raw_size, '\0');
  auto size = static_cast<uLongf>(raw_size);
  if (uncompress(reinterpret_cast<Bytef*>(out.data()), &size,
                 reinterpret_cast<const Bytef*>(deflated.data()),
                 static_cast<uLong>(deflated.size())) != Z_OK ||
      size != raw_size)
    return MakeError(ErrorCode::kInternal, "damaged deflate data");
  return out;
}

}  // namespace nc::core
