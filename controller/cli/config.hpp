// The configuration layers of the command line (spec §7): a YAML file (`--config`, or
// $NETCONVERGE_CONFIG) whose keys are the commands' long options, each overridden by an
// environment variable NETCONVERGE_<OPTION> (upper case, '-' as '_'), which a flag overrides.
// Options that only make sense per invocation (--device, --output, --snapshot, ...) are flags only.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "controller/core/result.hpp"

namespace nc::cli {

struct ConfigLayer {
  std::vector<std::string> args;     // "--option=value" for each option taken from env or file
  std::vector<std::string> origins;  // "--store from NETCONVERGE_STORE", "--listen from F line 3"
};

/// For the selected command `cmd` of a parsed `app`: the options not given as flags, from the
/// environment and then from the file. Errors name the file, line and key (unknown keys, keys
/// that are not scalars).
Result<ConfigLayer> LoadConfigLayer(CLI::App& app, CLI::App& cmd, const std::string& config_flag);

/// A configuration file with every option of every command, its default, help and variable.
std::string GenerateConfig(CLI::App& app);

/// NETCONVERGE_<OPTION> for a long option name ("max-concurrent-devices").
std::string EnvName(const std::string& option);

}  // namespace nc::cli
