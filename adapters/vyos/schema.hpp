// The part of the VyOS configuration schema that netconverge and vyos-sim use: `nat
// destination|source rule N` with every node and value syntax of VyOS 1.4/1.5, plus the few
// system nodes a demo config needs. It decides which path elements are tag values, which
// leaves take several values, and validates values with VyOS's own error texts. Pure.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/core/result.hpp"
#include "controller/core/values.hpp"

namespace nc::vyos {

enum class NodeKind { kNode, kTag, kLeaf, kMultiLeaf, kValueless };

struct SchemaNode {
  NodeKind kind = NodeKind::kNode;
  std::string validator;  // for leaves: the value syntax; for tags: the tag value syntax
  std::map<std::string, SchemaNode> children;
};

/// The schema root.
const SchemaNode& Schema();

/// A path resolved against the schema: which elements are tag values and where the value is.
struct ResolvedPath {
  std::vector<std::string> node_path;  // path up to and including the leaf or node
  std::optional<std::string> value;    // the value, when the path names a leaf value
  const SchemaNode* node = nullptr;
  std::vector<bool> is_tag_value;  // per element of node_path
};

/// Resolves `path` (optionally with the value as its last element, as the API allows) and
/// `value`. Errors are VyOS's texts: "Configuration path: [...] is not valid", value validation
/// messages with "Value validation failed".
Result<ResolvedPath> ResolveSetPath(const std::vector<std::string>& path,
                                    const std::optional<std::string>& value,
                                    const core::ServiceTable& services);

/// Resolves a path for delete/show/exists (values optional, no value validation).
Result<ResolvedPath> ResolvePath(const std::vector<std::string>& path);

struct ConfigNode;

/// `set path [value]` on a tree, as a commit would do it (schema-checked, values validated):
/// a single-value leaf is replaced, a multi-value leaf gains the value, tag nodes accumulate.
Status ApplySet(ConfigNode& root, const std::vector<std::string>& path,
                const std::optional<std::string>& value, const core::ServiceTable& services);

/// "a b c" joined path as VyOS prints it in messages.
std::string JoinPath(const std::vector<std::string>& path);

}  // namespace nc::vyos
