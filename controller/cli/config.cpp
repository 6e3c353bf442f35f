#include "controller/cli/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

namespace nc::cli {

namespace {

// What one invocation chooses (which device, which output, which snapshot) is a flag only: a
// `device:` or `clear: true` in a shared file would silently change every command.
constexpr const char* kNotLayered[] = {"config", "help",   "version",  "clear", "device",
                                       "from",   "list",   "snapshot", "role",  "subject",
                                       "ttl",    "output", "since",    "limit", "namespace"};

bool Layered(const CLI::Option* o) {
  if (o->get_lnames().empty()) return false;  // positionals and short-only
  for (const char* n : kNotLayered)
    if (o->get_lnames().front() == n) return false;
  return true;
}

/// Every layered option of every command: name -> (help, default, commands).
struct OptionInfo {
  std::string help;
  std::string default_value;
  bool flag = false;
  bool repeatable = false;  // a list in the file
  std::vector<std::string> commands;
};

void Collect(CLI::App& app, const std::string& prefix, std::map<std::string, OptionInfo>& out) {
  for (auto* sub : app.get_subcommands({})) {
    const std::string cmd = prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name();
    for (const auto* o : sub->get_options()) {
      if (!Layered(o)) continue;
      auto& info = out[o->get_lnames().front()];
      if (info.help.empty()) {
        info.help = o->get_description();
        info.default_value = o->get_default_str();
        info.flag = o->get_expected_min() == 0;
        info.repeatable = o->get_expected_max() > 1;
      }
      info.commands.push_back(cmd);
    }
    Collect(*sub, cmd, out);
  }
}

}  // namespace

std::string EnvName(const std::string& option) {
  std::string e = "NETCONVERGE_";
  for (char ch : option)
    e.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  return e;
}

Result<ConfigLayer> LoadConfigLayer(CLI::App& app, CLI::App& cmd, const std::string& config_flag) {
  ConfigLayer layer;
  std::string path = config_flag;
  if (path.empty())
    if (const char* e = std::getenv("NETCONVERGE_CONFIG"); e && *e) path = e;
  // key -> (values, line): one value, or a list for an option that repeats.
  std::map<std::string, std::pair<std::vector<std::string>, int>> file;
  std::set<std::string> repeatable;
  for (const auto* o : cmd.get_options())
    if (Layered(o) && o->get_expected_max() > 1) repeatable.insert(o->get_lnames().front());
  if (!path.empty()) {
    std::map<std::string, OptionInfo> known;
    Collect(app, "", known);
    YAML::Node root;
    try {
      root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
      return MakeError(ErrorCode::kInvalidArgument, "--config: cannot read " + path);
    } catch (const YAML::Exception& e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       path + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!root.IsNull() && !root.IsMap())
      return MakeError(ErrorCode::kInvalidArgument,
                       path + ": must be a map of option: value (see netconverge generate-config)");
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      const int line = kv.first.Mark().line + 1;
      if (!known.count(key))
        return MakeError(ErrorCode::kInvalidArgument,
                         path + ": line " + std::to_string(line) + ": unknown option '" + key +
                             "' (netconverge generate-config lists them all)");
      std::vector<std::string> values;
      if (kv.second.IsSequence() && repeatable.count(key)) {
        for (const auto& item : kv.second) {
          if (!item.IsScalar())
            return MakeError(ErrorCode::kInvalidArgument,
                             path + ": line " + std::to_string(item.Mark().line + 1) + ": " + key +
                                 ": each item must be a single value");
          values.push_back(item.Scalar());
        }
      } else if (kv.second.IsScalar()) {
        values.push_back(kv.second.Scalar());
      } else {
        return MakeError(ErrorCode::kInvalidArgument,
                         path + ": line " + std::to_string(line) + ": " + key +
                             (repeatable.count(key) ? ": must be a value or a list of values"
                                                    : ": must be a single value"));
      }
      file[key] = {std::move(values), line};
    }
  }
  for (const auto* o : cmd.get_options()) {
    if (!Layered(o) || o->count() > 0) continue;
    const std::string name = o->get_lnames().front();
    const std::string env = EnvName(name);
    if (const char* v = std::getenv(env.c_str()); v && *v) {
      layer.args.push_back("--" + name + "=" + v);
      layer.origins.push_back("--" + name + " from $" + env);
    } else if (auto f = file.find(name); f != file.end()) {
      for (const auto& value : f->second.first) layer.args.push_back("--" + name + "=" + value);
      layer.origins.push_back("--" + name + " from " + path + " line " +
                              std::to_string(f->second.second));
    }
  }
  return layer;
}

std::string GenerateConfig(CLI::App& app) {
  std::map<std::string, OptionInfo> all;
  Collect(app, "", all);
  std::ostringstream out;
  out << "# netconverge configuration: `netconverge <command> --config FILE` (or "
         "$NETCONVERGE_CONFIG).\n"
         "# Keys are the commands' long options; a command uses the keys it has and ignores the "
         "others.\n"
         "# Precedence: a flag, then the variable NETCONVERGE_<OPTION>, then this file, then the "
         "default.\n"
         "# Secrets do not belong here: the files named by api-keys-file, jwt-secret-file and "
         "notify-secret-file hold them.\n";
  for (const auto& [name, info] : all) {
    out << "\n# " << info.help << "\n#   used by: ";
    for (size_t i = 0; i < info.commands.size(); ++i) out << (i ? ", " : "") << info.commands[i];
    out << "; variable " << EnvName(name) << "\n";
    std::string value = info.flag ? (info.default_value.empty() ? "false" : info.default_value)
                                  : info.default_value;
    YAML::Emitter e;
    e << value;
    if (value.empty() && info.repeatable)
      out << "# " << name << ": []  # a list\n";
    else if (value.empty())
      out << "# " << name << ": \"\"\n";
    else
      out << name << ": " << e.c_str() << "\n";
  }
  return out.str();
}

}  // namespace nc::cli
