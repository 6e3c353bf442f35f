#include "controller/core/encoding.hpp"

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

Result<std::string> DecodeBase64(std::string_view in) { return Decode(in, false); }
Result<std::string> DecodeBase64Url(std::string_view in) { return Decode(in, true); }

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

}  // namespace nc::core
