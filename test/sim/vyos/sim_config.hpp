// vyos-sim's own model of a VyOS configuration: the tree, its three text forms (config.boot,
// `show configuration commands`, the API's showConfig JSON), the part of the schema the emulator
// serves (NAT rules of each version, the API service, a few system nodes) and the value checks
// of that schema, written from VyOS's own definitions (../shared/data/vyos-1x/schema/:
// interface-definitions, validators, conf_mode/nat.py) and ipaddrcheck's source. It shares no
// code with netconverge on purpose: it is the witness netconverge's own codec and validator are
// compared against, so a mistake copied to both sides would hide itself.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "test/sim/common/sim_result.hpp"

namespace nc::sim::vy {

/// VyOS's order of children: digit runs compare as numbers ("2" < "10", "eth2" < "eth10").
struct NaturalLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct Node {
  enum class Kind { kNode, kTag, kLeaf };
  Kind kind = Kind::kNode;          // kTag: the children are the tag's values, each a kNode
  std::vector<std::string> values;  // a leaf's values (none: a valueless leaf)
  std::map<std::string, Node, NaturalLess> kids;

  const Node* At(const std::vector<std::string>& path) const;
  bool operator==(const Node&) const = default;
};

/// config.boot of any era (1.2's unquoted values and `/* */` footer, 1.4+'s quoting).
Result<Node> ParseBoot(std::string_view text);
/// config.boot as VyOS 1.4+ `save` writes it, with the version footer.
std::string RenderBoot(const Node& root, std::string_view release);
/// The same curly syntax without the footer (configuration mode's `show`).
std::string RenderCurly(const Node& root);
/// `show configuration commands`: one `set` line per leaf value, values in single quotes.
std::string RenderCommands(const Node& root);
/// showConfig's `data`: nodes and tags as objects, one value as a string, several as a list,
/// a valueless leaf as {}.
std::string RenderJson(const Node& n);
/// A JSON string as Python's json.dumps writes it (ensure_ascii: code points as \uXXXX).
std::string JsonQuote(const std::string& s);
/// Quote-aware words of a command line ('a b', "a b", bare).
std::vector<std::string> Words(std::string_view line);

/// /etc/services as VyOS's validators read it (validators/port-multi, validators/port-range).
struct Services {
  std::set<std::string> multi;  // port-multi: first column and every later word (comments too)
  std::set<std::string> range;  // port-range: the first column only
  std::set<std::string> named;  // what nftables resolves at commit: names and real aliases
};
Services ReadServices(const std::string& path = "/etc/services");

enum class Version { k13, k14, k15 };
std::optional<Version> ParseVersion(std::string_view s);

/// The schema of one VyOS version, and the session operations on a tree.
class Schema {
 public:
  Schema(Version version, Services services);

  /// `set path [value]` (the value may also be the last path element). Errors are VyOS's texts:
  /// "Configuration path: [...] is not valid", or a value check's output and "Value validation
  /// failed".
  Status Set(Node& root, std::vector<std::string> path,
             const std::optional<std::string>& value) const;
  /// `delete path [value]`. A missing node is an error only when `strict`.
  Status Delete(Node& root, std::vector<std::string> path, const std::optional<std::string>& value,
                bool strict) const;
  /// Whether a path names a node the schema knows (for showConfig's two "empty" answers).
  bool Known(const std::vector<std::string>& path) const;
  /// The commit checks of conf_mode/nat.py `verify()` and the nftables dry run of `generate()`.
  std::optional<std::string> CommitCheck(const Node& root) const;
  /// A tree from set lines (`show configuration commands`): lines the schema knows are set
  /// through it; others are kept in `foreign` verbatim (the emulator models only NAT and a few
  /// service nodes).
  Result<Node> LoadCommands(std::string_view text, std::vector<std::string>* foreign) const;
  /// What this version's migration does to an older config.boot at load: 1.2/1.3's
  /// `inbound-interface eth0` and early 1.4's `inbound-interface interface-name eth0` become
  /// `inbound-interface name eth0` from 1.4 on.
  void Migrate(Node& root) const;

  /// Value checks, exposed for the emulator's own tests.
  std::optional<std::string> CheckValue(const std::string& check, const std::string& value) const;

  Version version() const { return version_; }
  struct Def;

 private:
  Version version_;
  Services services_;
  const Def* root_;
};

}  // namespace nc::sim::vy
