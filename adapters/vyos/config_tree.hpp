// VyOS configuration tree and its text forms: config.boot (every era's quoting and comments;
// the 1.4+ writer style on output), `show configuration commands` set lines, and the JSON of
// the HTTP API's showConfig. Tag nodes (`rule 10 { ... }`) and multi-value leaves are kept as
// VyOS keeps them. A pure codec shared by the adapter, the importer and vyos-sim.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/core/result.hpp"

namespace nc::vyos {

/// VyOS orders children lexically-numerically ("2" before "10", "eth2" before "eth10").
struct NumericLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct ConfigNode {
  bool leaf = false;  // a leaf: `values` holds its value(s); none = valueless
  bool tag = false;   // children are the entries of a tag node (`rule 10 {`)
  std::vector<std::string> values;
  std::map<std::string, ConfigNode, NumericLess> children;
  std::string comment;

  const ConfigNode* Find(const std::vector<std::string>& path) const;
  ConfigNode* Find(const std::vector<std::string>& path);
  bool operator==(const ConfigNode&) const = default;
};

/// Parses config.boot text (1.2-1.5 syntax; the `//` version footer is ignored). Errors carry
/// the line number.
Result<ConfigNode> ParseConfigBoot(std::string_view text);
/// Renders in the style of VyOS 1.4+ `save`: 4-space indentation, all values double-quoted.
std::string RenderConfigBoot(const ConfigNode& root, std::string_view footer = {});
/// Renders `show configuration commands` lines (values single-quoted).
std::string RenderSetCommands(const ConfigNode& root);

/// Parses `show configuration commands` output (`set ...` lines, `comment` lines ignored).
/// `is_tag(path)` tells whether the node at `path` is a tag node, which set lines cannot show.
struct SetLine {
  std::vector<std::string> path;  // including the value as the last element when valued
  bool has_value = false;
};
Result<std::vector<SetLine>> ParseSetCommands(std::string_view text);

/// showConfig JSON (the API's `data`): tag and plain nodes become objects, a single value a
/// string, several values an array, a valueless leaf or empty node `{}`.
std::string ToJson(const ConfigNode& node);
/// The reverse: values become leaves, `{}` a valueless leaf.
Result<ConfigNode> FromJson(std::string_view json);

/// Quote-aware splitting of a set line into words ('x y', "x y" and bare words).
std::vector<std::string> SplitWords(std::string_view line);

}  // namespace nc::vyos
