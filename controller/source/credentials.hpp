// Device credentials for standalone use: a YAML file named by `credentialsRef.file` with the
// keys apiKey, username, password, privateKey. The values never reach logs, the store or any
// response.
#pragma once

#include <string>

#include "controller/core/result.hpp"

namespace nc::source {

struct Credentials {
  std::string api_key;
  std::string username;
  std::string password;
  std::string private_key;
};

/// Errors name the file and the problem, never a value.
Result<Credentials> LoadCredentialsFile(const std::string& path);

}  // namespace nc::source
