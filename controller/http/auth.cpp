#include "controller/http/auth.hpp"
#include "controller/core/json.hpp"
#include "controller/core/json_writer.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include <strings.h>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "controller/core/encoding.hpp"

namespace nc::http {

namespace {

std::string Sha256(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

/// Equal-length comparison whose time does not depend on where the strings differ.
bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kInvalidArgument, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<Role> ParseRole(const std::string& s) {
  if (s == "admin") return Role::kAdmin;
  if (s == "viewer") return Role::kViewer;
  return std::nullopt;
}

Result<std::string> FromHex(const std::string& hex) {
  if (hex.size() % 2) return MakeError(ErrorCode::kInvalidArgument, "odd length");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return MakeError(ErrorCode::kInvalidArgument, "not hex");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

Response Deny(int status, const std::string& message) {
  Response r = JsonError(status, message);
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"netconverge\"");
  return r;
}

constexpr size_t kMinKeyLength = 16;
constexpr size_t kMinSecretLength = 32;
constexpr std::chrono::seconds kMaxTokenLifetime{30 * 24 * 3600};

}  // namespace

const char* ToString(Role r) {
  switch (r) {
    case Role::kAdmin:
      return "admin";
    case Role::kViewer:
      return "viewer";
    case Role::kNone:
      break;
  }
  return "none";
}

Result<Authenticator> Authenticator::Load(const AuthOptions& o) {
  Authenticator a;
  if (!o.api_keys_file.empty()) {
    auto text = ReadFile(o.api_keys_file);
    if (!text) return tl::unexpected(text.error());
    auto bad = [&](const std::string& where, const std::string& why) {
      return MakeError(ErrorCode::kInvalidArgument, o.api_keys_file + ": " + where + ": " + why);
    };
    YAML::Node root;
    try {
      root = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      // yaml-cpp's message quotes no content beyond the position; still, name only the position.
      return bad("line " + std::to_string(e.mark.line + 1), "not YAML");
    }
    if (!root["keys"] || !root["keys"].IsSequence())
      return bad("keys", "must be a list of {name, role, key | sha256}");
    std::set<std::string> names;
    for (size_t i = 0; i < root["keys"].size(); ++i) {
      const auto& k = root["keys"][i];
      const std::string where = "keys[" + std::to_string(i) + "]";
      if (!k.IsMap()) return bad(where, "must be a map {name, role, key | sha256}");
      const std::string name = k["name"] ? k["name"].as<std::string>("") : "";
      if (name.empty()) return bad(where + ".name", "required");
      if (!names.insert(name).second) return bad(where + ".name", "'" + name + "' appears twice");
      auto role = ParseRole(k["role"] ? k["role"].as<std::string>("") : "");
      if (!role) return bad(where + ".role", "must be admin or viewer");
      Key key{name, *role, ""};
      if (k["key"] && k["sha256"]) return bad(where, "give key or sha256, not both");
      if (k["key"]) {
        const auto plain = k["key"].as<std::string>("");
        if (plain.size() < kMinKeyLength)
          return bad(where + ".key", "shorter than " + std::to_string(kMinKeyLength) +
                                         " characters (use e.g. `openssl rand -hex 24`)");
        key.sha256 = Sha256(plain);
      } else if (k["sha256"]) {
        auto raw = FromHex(k["sha256"].as<std::string>(""));
        if (!raw || raw->size() != SHA256_DIGEST_LENGTH)
          return bad(where + ".sha256", "must be 64 hex digits");
        key.sha256 = *raw;
      } else {
        return bad(where, "needs key or sha256");
      }
      a.keys_.push_back(std::move(key));
    }
  }
  if (!o.jwt_secret_file.empty()) {
    auto secret = LoadJwtSecret(o.jwt_secret_file);
    if (!secret) return tl::unexpected(secret.error());
    a.jwt_secret_ = std::move(*secret);
  }
  return a;
}

Identity Authenticator::VerifyJwt(const std::string& token,
                                  std::chrono::system_clock::time_point now) const {
  if (jwt_secret_.empty()) return {Role::kNone, "", "bearer tokens are not enabled on this server"};
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string::npos ? std::string::npos : token.find('.', d1 + 1);
  if (d2 == std::string::npos || token.find('.', d2 + 1) != std::string::npos)
    return {Role::kNone, "", "malformed bearer token (want header.payload.signature)"};
  auto header = core::DecodeBase64Url(std::string_view(token).substr(0, d1));
  auto payload = core::DecodeBase64Url(std::string_view(token).substr(d1 + 1, d2 - d1 - 1));
  auto signature = core::DecodeBase64Url(std::string_view(token).substr(d2 + 1));
  if (!header || !payload || !signature)
    return {Role::kNone, "", "malformed bearer token (not base64url)"};
  rapidjson::Document h;
  if (!core::ParseJson(h, *header) || !h.IsObject())
    return {Role::kNone, "", "malformed bearer token (header is not JSON)"};
  // The algorithm is fixed, never taken from the token: "none", RS256 with an HMAC key and the
  // like are refused before any signature check.
  if (!h.HasMember("alg") || !h["alg"].IsString() || std::string(h["alg"].GetString()) != "HS256")
    return {Role::kNone, "", "bearer token algorithm must be HS256"};
  if (!ConstantTimeEqual(HmacSha256(jwt_secret_, std::string_view(token).substr(0, d2)),
                         *signature))
    return {Role::kNone, "", "bearer token signature does not verify"};
  rapidjson::Document p;
  if (!core::ParseJson(p, *payload) || !p.IsObject())
    return {Role::kNone, "", "bearer token payload is not a JSON object"};
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (!p.HasMember("exp") || !p["exp"].IsNumber())
    return {Role::kNone, "", "bearer token has no exp claim"};
  if (p["exp"].GetDouble() <= static_cast<double>(secs))
    return {Role::kNone, "", "bearer token expired"};
  // A token valid for ever (exp=1e300) is a leaked key that cannot be revoked short of rotating
  // the secret: tokens may live at most kMaxTokenLifetime from now.
  if (p["exp"].GetDouble() > static_cast<double>(secs + kMaxTokenLifetime.count()))
    return {Role::kNone, "", "bearer token lives too long (exp more than 30 days ahead)"};
  if (p.HasMember("nbf") &&
      (!p["nbf"].IsNumber() || p["nbf"].GetDouble() > static_cast<double>(secs)))
    return {Role::kNone, "", "bearer token not valid yet (nbf)"};
  std::optional<Role> role;
  if (p.HasMember("role") && p["role"].IsString()) role = ParseRole(p["role"].GetString());
  if (!role) return {Role::kNone, "", "bearer token role claim must be admin or viewer"};
  std::string sub = p.HasMember("sub") && p["sub"].IsString() ? p["sub"].GetString() : "jwt";
  return {*role, "jwt:" + sub, ""};
}

Identity Authenticator::Identify(const Request& r,
                                 std::chrono::system_clock::time_point now) const {
  if (auto k = r.headers.find("x-api-key"); k != r.headers.end()) {
    if (keys_.empty()) return {Role::kNone, "", "API keys are not enabled on this server"};
    // Every configured key is compared, match or not: the time taken does not say which matched.
    const std::string presented = Sha256(k->second);
    const Key* match = nullptr;
    for (const auto& key : keys_)
      if (ConstantTimeEqual(presented, key.sha256) && !match) match = &key;
    if (!match) return {Role::kNone, "", "invalid API key"};
    return {match->role, "key:" + match->name, ""};
  }
  if (auto a = r.headers.find("authorization"); a != r.headers.end()) {
    const std::string& v = a->second;
    if (v.size() < 7 || strncasecmp(v.c_str(), "Bearer ", 7) != 0)
      return {Role::kNone, "", "Authorization must be `Bearer <JWT>`"};
    return VerifyJwt(v.substr(7), now);
  }
  return {Role::kNone, "", "credentials required: send X-API-Key or Authorization: Bearer <JWT>"};
}

Authenticator::Decision Authenticator::Authorize(const Request& r, Role needed) const {
  if (needed == Role::kNone) return {};
  if (!configured())
    return {Deny(401,
                 "no API keys or JWT secret are configured on this server (auth.apiKeysFile, "
                 "auth.jwtSecretFile)"),
            {}};
  Identity id = Identify(r);
  if (id.role == Role::kNone) return {Deny(401, id.error), id};
  if (static_cast<int>(id.role) < static_cast<int>(needed))
    return {Deny(403, std::string("role ") + ToString(id.role) + " may not " + r.method + " " +
                          r.path + " (needs " + ToString(needed) + ")"),
            id};
  return {std::nullopt, id};
}

Result<std::string> LoadJwtSecret(const std::string& path) {
  auto secret = ReadFile(path);
  if (!secret) return tl::unexpected(secret.error());
  if (!secret->empty() && secret->back() == '\n') secret->pop_back();
  if (secret->size() < kMinSecretLength)
    return MakeError(ErrorCode::kInvalidArgument, path + ": the JWT secret is shorter than " +
                                                      std::to_string(kMinSecretLength) +
                                                      " bytes (HS256 needs 256 bits)");
  return secret;
}

std::string SignJwt(const std::string& claims_json, const std::string& secret,
                    const std::string& alg) {
  core::JsonWriter header;
  header.Object().Str("alg", alg).Str("typ", "JWT").End();
  const std::string signing_input =
      core::EncodeBase64Url(header.str()) + "." + core::EncodeBase64Url(claims_json);
  return signing_input + "." + core::EncodeBase64Url(HmacSha256(secret, signing_input));
}

}  // namespace nc::http
