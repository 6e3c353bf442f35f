#include "controller/source/credentials.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace nc::source {

Result<Credentials> LoadCredentialsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return MakeError(ErrorCode::kInvalidArgument, "credentials file " + path + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  YAML::Node doc;
  try {
    doc = YAML::Load(ss.str());
  } catch (const YAML::Exception& e) {
    // The message may quote file content; give the position only.
    return MakeError(ErrorCode::kInvalidArgument, "credentials file " + path +
                                                      ": YAML syntax error at line " +
                                                      std::to_string(e.mark.line + 1));
  }
  if (!doc.IsMap())
    return MakeError(ErrorCode::kInvalidArgument,
                     "credentials file " + path + " must be a mapping");
  Credentials c;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it->first.IsScalar())
      return MakeError(ErrorCode::kInvalidArgument,
                       "credentials file " + path + ": every key must be a plain string");
    const std::string key = it->first.Scalar();
    std::string* field = key == "apiKey"       ? &c.api_key
                         : key == "username"   ? &c.username
                         : key == "password"   ? &c.password
                         : key == "privateKey" ? &c.private_key
                                               : nullptr;
    if (!field)  // never echoed: a key written where its value belongs ({s3cret}) would be the
                 // secret itself
      return MakeError(
          ErrorCode::kInvalidArgument,
          "credentials file " + path + ": line " + std::to_string(it->first.Mark().line + 1) +
              ": an unknown key (apiKey, username, password and privateKey are known)");
    if (!it->second.IsScalar())
      return MakeError(ErrorCode::kInvalidArgument,
                       "credentials file " + path + ": " + key + " must be a string");
    *field = it->second.Scalar();
  }
  return c;
}

}  // namespace nc::source
