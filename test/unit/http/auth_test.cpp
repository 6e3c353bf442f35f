// The admin API's authentication: API keys (constant-time, by role) and HS256 JWTs, with the
// corpus of bad credentials every request must be refused for.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "controller/core/encoding.hpp"
#include "controller/http/auth.hpp"

using namespace nc;
using namespace nc::http;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";

struct Files {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("nc-auth-" + std::to_string(::getpid()));
  std::string keys, secret;
  Files(const std::string& keys_yaml =
            "keys:\n  - {name: ops, role: admin, key: admin-key-0123456789}\n"
            "  - {name: grafana, role: viewer, key: viewer-key-0123456789}\n") {
    std::filesystem::create_directories(dir);
    keys = (dir / "keys.yaml").string();
    secret = (dir / "secret").string();
    std::ofstream(keys) << keys_yaml;
    std::ofstream(secret) << kSecret << "\n";
  }
  ~Files() { std::filesystem::remove_all(dir); }
};

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Request With(const std::string& header, const std::string& value) {
  Request r;
  r.method = "POST";
  r.path = "/v1/admin/sync-vyos-config";
  if (!header.empty()) r.headers[header] = value;
  return r;
}

std::string Claims(const std::string& role, int64_t exp) {
  return "{\"sub\":\"alice\",\"role\":\"" + role + "\",\"exp\":" + std::to_string(exp) + "}";
}

}  // namespace

TEST_SUITE("unit/http-auth") {
  TEST_CASE("valid API keys and tokens give their role - admin may do what viewer may") {
    Files f;
    auto a = Authenticator::Load({f.keys, f.secret});
    REQUIRE(a);
    auto id = a->Identify(With("x-api-key", "admin-key-0123456789"));
    CHECK(id.role == Role::kAdmin);
    CHECK(id.subject == "key:ops");
    CHECK(a->Identify(With("x-api-key", "viewer-key-0123456789")).role == Role::kViewer);
    const std::string token = SignJwt(Claims("viewer", Now() + 60), kSecret);
    auto jid = a->Identify(With("authorization", "Bearer " + token));
    CHECK(jid.role == Role::kViewer);
    CHECK(jid.subject == "jwt:alice");
    CHECK_FALSE(a->Authorize(With("x-api-key", "admin-key-0123456789"), Role::kViewer).deny);
    CHECK_FALSE(a->Authorize(With("x-api-key", "admin-key-0123456789"), Role::kAdmin).deny);
    CHECK_FALSE(a->Authorize(With("authorization", "bearer " + token), Role::kViewer)
                    .deny);  // scheme is case-insensitive
  }

  TEST_CASE("the corpus of bad credentials: 401, or 403 for a valid identity of too low a role") {
    Files f;
    auto a = Authenticator::Load({f.keys, f.secret});
    REQUIRE(a);
    const std::string valid = SignJwt(Claims("admin", Now() + 60), kSecret);
    std::string tampered = valid;
    tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
    // The payload swapped for one that claims admin, keeping a viewer token's signature.
    const std::string viewer = SignJwt(Claims("viewer", Now() + 60), kSecret);
    const std::string forged_payload = viewer.substr(0, viewer.find('.') + 1) +
                                       core::EncodeBase64Url(Claims("admin", Now() + 60)) +
                                       viewer.substr(viewer.rfind('.'));
    const std::string none_alg = core::EncodeBase64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." +
                                 core::EncodeBase64Url(Claims("admin", Now() + 60)) + ".";
    struct Case {
      const char* what;
      std::string header, value;
      int status;
      const char* reason;
    };
    const std::vector<Case> corpus = {
        {"no credentials", "", "", 401, "credentials required"},
        {"wrong API key", "x-api-key", "admin-key-0123456780", 401, "invalid API key"},
        {"empty API key", "x-api-key", "", 401, "invalid API key"},
        {"a key's prefix", "x-api-key", "admin-key-", 401, "invalid API key"},
        {"key of the wrong role", "x-api-key", "viewer-key-0123456789", 403, "role viewer may not"},
        {"viewer token", "authorization", "Bearer " + viewer, 403, "role viewer may not"},
        {"expired JWT", "authorization", "Bearer " + SignJwt(Claims("admin", Now() - 1), kSecret),
         401, "expired"},
        {"JWT without exp", "authorization", "Bearer " + SignJwt("{\"role\":\"admin\"}", kSecret),
         401, "no exp"},
        {"JWT valid for ever (exp 1e300)", "authorization",
         "Bearer " + SignJwt("{\"role\":\"admin\",\"exp\":1e300}", kSecret), 401, "lives too long"},
        {"JWT valid for 31 days", "authorization",
         "Bearer " + SignJwt(Claims("admin", Now() + 31 * 24 * 3600), kSecret), 401,
         "lives too long"},
        {"JWT not valid yet", "authorization",
         "Bearer " + SignJwt("{\"role\":\"admin\",\"exp\":" + std::to_string(Now() + 600) +
                                 ",\"nbf\":" + std::to_string(Now() + 300) + "}",
                             kSecret),
         401, "nbf"},
        {"alg none", "authorization", "Bearer " + none_alg, 401, "must be HS256"},
        {"alg HS512 label", "authorization",
         "Bearer " + SignJwt(Claims("admin", Now() + 60), kSecret, "HS512"), 401, "must be HS256"},
        {"tampered signature", "authorization", "Bearer " + tampered, 401, "does not verify"},
        {"forged payload", "authorization", "Bearer " + forged_payload, 401, "does not verify"},
        {"wrong secret", "authorization",
         "Bearer " + SignJwt(Claims("admin", Now() + 60), "another-secret-of-32-bytes-or-more!!"),
         401, "does not verify"},
        {"role claim unknown", "authorization",
         "Bearer " + SignJwt(Claims("root", Now() + 60), kSecret), 401, "role claim"},
        {"malformed header: Basic", "authorization", "Basic YWRtaW46YWRtaW4=", 401, "Bearer <JWT>"},
        {"malformed header: bare token", "authorization", valid, 401, "Bearer <JWT>"},
        {"malformed token: two parts", "authorization", "Bearer abc.def", 401, "malformed"},
        {"malformed token: four parts", "authorization", "Bearer " + valid + ".x", 401,
         "malformed"},
        {"malformed token: not base64url", "authorization", "Bearer a+b.c/d.e=f", 401,
         "not base64url"},
        {"malformed token: header not JSON", "authorization",
         "Bearer " + core::EncodeBase64Url("not json") + "." + core::EncodeBase64Url("{}") + ".sig",
         401, "not JSON"},
    };
    for (const auto& c : corpus) {
      CAPTURE(c.what);
      auto deny = a->Authorize(With(c.header, c.value), Role::kAdmin).deny;
      REQUIRE(deny);
      CHECK(deny->status == c.status);
      CHECK(deny->body.find(c.reason) != std::string::npos);
      // Never echo what was presented.
      if (!c.value.empty()) CHECK(deny->body.find(c.value) == std::string::npos);
      CHECK(deny->body.find(kSecret) == std::string::npos);
      if (c.status == 401) {
        REQUIRE(deny->headers.size() == 1);
        CHECK(deny->headers[0].first == "WWW-Authenticate");
      }
    }
  }

  TEST_CASE(
      "key files and secrets are checked when loaded, naming the file and entry, never the "
      "secret") {
    auto bad = [](const std::string& yaml) {
      Files f(yaml);
      auto a = Authenticator::Load({f.keys, ""});
      REQUIRE_FALSE(a);
      CHECK(a.error().message.find(f.keys) == 0);
      return a.error().message;
    };
    CHECK(bad("keys:\n  - {name: ops, role: admin, key: short}\n")
              .find("keys[0].key: shorter than 16") != std::string::npos);
    CHECK(bad("keys:\n  - {name: ops, role: root, key: admin-key-0123456789}\n")
              .find("keys[0].role") != std::string::npos);
    CHECK(bad("keys:\n  - {name: a, role: admin, key: admin-key-0123456789}\n  - {name: a, role: "
              "viewer, key: viewer-key-0123456789}\n")
              .find("keys[1].name: 'a' appears twice") != std::string::npos);
    CHECK(bad("keys:\n  - {name: a, role: admin, sha256: abcd}\n")
              .find("keys[0].sha256: must be 64 hex digits") != std::string::npos);
    CHECK(bad("keys:\n  - {name: a, role: admin}\n").find("needs key or sha256") !=
          std::string::npos);
    CHECK(bad("nokeys: 1\n").find("keys: must be a list") != std::string::npos);
    // A SHA-256 entry keeps the key itself out of the file.
    Files hashed(
        "keys:\n  - {name: ci, role: viewer, sha256: "
        "\"8b2c7d4f6e2a2bd1d8f2a6ec3b5d64c7c1d7a8a1d63e9f0f0a3e1d9c0b7a6f51\"}\n");
    auto h = Authenticator::Load({hashed.keys, ""});
    REQUIRE(h);
    CHECK(h->Identify(With("x-api-key", "anything-at-all-12345")).role == Role::kNone);
    // The secret's length.
    Files f;
    std::ofstream(f.secret) << "too-short\n";
    auto s = Authenticator::Load({"", f.secret});
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("shorter than 32 bytes") != std::string::npos);
    CHECK(s.error().message.find("too-short") == std::string::npos);
  }

  TEST_CASE("with nothing configured every protected route is refused - open routes stay open") {
    Authenticator none;
    auto deny = none.Authorize(With("x-api-key", "anything"), Role::kViewer).deny;
    REQUIRE(deny);
    CHECK(deny->status == 401);
    CHECK_FALSE(none.Authorize(With("", ""), Role::kNone).deny);
  }

  TEST_CASE("base64url round-trips and rejects the standard alphabet and padding") {
    for (const std::string& s : std::vector<std::string>{
             "", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00\x01", 4)}) {
      auto d = core::DecodeBase64Url(core::EncodeBase64Url(s));
      REQUIRE(d);
      CHECK(*d == s);
    }
    CHECK_FALSE(core::DecodeBase64Url("ab+/"));
    CHECK_FALSE(core::DecodeBase64Url("YQ=="));
    CHECK_FALSE(core::DecodeBase64Url("Y"));   // a single char cannot encode a byte
    CHECK(core::DecodeBase64Url("YQ"));        // "a"
    CHECK_FALSE(core::DecodeBase64Url("YR"));  // the same byte with a padding bit set
  }
}
