// Authentication and authorisation of the admin HTTP API (spec §6): API keys with a role each,
// compared in constant time, and HS256 JSON Web Tokens with `exp` and a `role` claim. Roles are
// ordered: admin may do what viewer may. Nothing here logs or returns a credential.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "controller/core/result.hpp"
#include "controller/http/admin_server.hpp"

namespace nc::http {

enum class Role { kNone = 0, kViewer = 1, kAdmin = 2 };
const char* ToString(Role r);

struct AuthOptions {
  /// YAML: `keys: [{name: ops, role: admin, key: "..."} | {name: ..., role: viewer, sha256:
  /// "<hex>"}]`.
  std::string api_keys_file;
  /// The HS256 secret, the file's bytes (one trailing newline dropped); at least 32 bytes.
  std::string jwt_secret_file;
};

/// Who made a request, or why not.
struct Identity {
  Role role = Role::kNone;
  std::string subject;  // the key's name or the token's `sub`: safe to log
  std::string error;    // when role is kNone: why, safe to return and log
};

class Authenticator {
 public:
  /// Reads the files. Errors name the file and the entry (never the secret).
  static Result<Authenticator> Load(const AuthOptions& options);
  Authenticator() = default;

  /// Identity from `X-API-Key` or `Authorization: Bearer`; kNone with a reason otherwise.
  Identity Identify(const Request& r, std::chrono::system_clock::time_point now =
                                          std::chrono::system_clock::now()) const;
  struct Decision {
    std::optional<Response> deny;  // the 401/403 to send; unset when allowed
    Identity identity;             // who asked (role kNone for an open route or a refusal)
  };
  /// Whether `r` may do what needs `needed`; the credentials are verified once.
  Decision Authorize(const Request& r, Role needed) const;

  bool configured() const { return !keys_.empty() || !jwt_secret_.empty(); }
  size_t key_count() const { return keys_.size(); }
  bool jwt_enabled() const { return !jwt_secret_.empty(); }

 private:
  struct Key {
    std::string name;
    Role role;
    std::string sha256;  // of the key, 32 raw bytes
  };
  Identity VerifyJwt(const std::string& token, std::chrono::system_clock::time_point now) const;

  std::vector<Key> keys_;
  std::string jwt_secret_;
};

/// Reads an HS256 secret file (one trailing newline dropped); errors name the file, never the
/// secret, and refuse fewer than 32 bytes.
Result<std::string> LoadJwtSecret(const std::string& path);

/// Signs claims (a JSON object) as an HS256 JWT: for `netconverge token` and tests.
std::string SignJwt(const std::string& claims_json, const std::string& secret,
                    const std::string& alg = "HS256");

}  // namespace nc::http
