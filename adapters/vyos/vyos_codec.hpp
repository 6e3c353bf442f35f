// Model <-> VyOS HTTP API translation for destination NAT: showConfig JSON and config.boot trees
// to NatRule (both eras of `inbound-interface`, string-or-array values, valueless `{}`), plans to
// `/configure` command lists (delete + every set of a changed rule, protocol always with ports),
// request bodies and the response envelope. Pure: strings in, values out.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/vyos/config_tree.hpp"
#include "adapters/vyos/schema.hpp"
#include "controller/core/model.hpp"
#include "controller/core/plan.hpp"

namespace nc::vyos {

struct Command {
  std::string op;  // set | delete
  std::vector<std::string> path;
  std::optional<std::string> value;
  bool operator==(const Command&) const = default;
};

/// "set nat destination rule 10001 protocol 'tcp'" (the CLI form, for plans, the audit log and the
/// SSH CLI). The value is single-quoted for VyOS's bash-based shell: a quote inside becomes '\''.
std::string ToCliLine(const Command& c);
/// ToCliLine(c) appended to `out` (no temporary per command).
void AppendCliLine(std::string& out, const Command& c);

/// A rule node (the children of `rule N`) as the model sees it.
core::NatRule NatRuleFromNode(const ConfigNode& rule);
/// All rules of a `nat destination` node (the content under that path).
std::map<int, core::NatRule> DestinationRules(const ConfigNode& nat_destination);
/// Destination rules from showConfig(["nat","destination"]) data JSON.
Result<std::map<int, core::NatRule>> DestinationRulesFromJson(std::string_view data_json);

/// A whole /retrieve showConfig(["nat","destination"]) answer (the envelope) parsed in one pass:
/// the rules, none for the "empty" error, kUnavailable with the device's text otherwise.
Result<std::map<int, core::NatRule>> ParseDestinationAnswer(std::string_view body);

/// How a version writes the inbound interface: 1.4 and later `inbound-interface name X`, 1.2/1.3
/// the leaf `inbound-interface X` (equuleus nat.xml.in).
enum class InterfaceSyntax { kName, kLeaf };

/// Every `set` that creates rule `number` as `rule` describes.
std::vector<Command> RuleSetCommands(int number, const core::NatRule& rule,
                                     InterfaceSyntax syntax = InterfaceSyntax::kName);
/// The commands of one change: delete (for updates and deletes) then the sets.
std::vector<Command> ChangeCommands(const core::RuleChange& change,
                                    InterfaceSyntax syntax = InterfaceSyntax::kName);

/// Command lists for a plan, each fitting `max_body_bytes` once encoded, never splitting one
/// rule's commands. Normally a single list (one commit); several only for plans larger than
/// the device accepts in one request.
std::vector<std::vector<Command>> BatchCommands(const core::Plan& plan, int64_t max_body_bytes,
                                                InterfaceSyntax syntax = InterfaceSyntax::kName);

/// The same batches as ranges [first, last) of plan.changes, so a caller can build one batch's
/// commands at a time (a 10,000-rule plan is about 70,000 commands).
std::vector<std::pair<size_t, size_t>> BatchRanges(const core::Plan& plan, int64_t max_body_bytes,
                                                   InterfaceSyntax syntax = InterfaceSyntax::kName);
/// The commands of plan.changes[first, last).
std::vector<Command> RangeCommands(const core::Plan& plan, std::pair<size_t, size_t> range,
                                   InterfaceSyntax syntax = InterfaceSyntax::kName);

/// The /configure body of plan.changes[first, last) - byte for byte EncodeConfigure of
/// RangeCommands - built one change at a time, so that a batch's commands are never all held
/// (a 10,000-rule batch is 70,000 of them). Each command's CLI line goes to `on_command`.
std::string EncodeConfigureRange(const std::string& key, const core::Plan& plan,
                                 std::pair<size_t, size_t> range, InterfaceSyntax syntax,
                                 int confirm_minutes,
                                 const std::function<void(const Command&)>& on_command);

/// The same body produced piece by piece for HttpTransport::SendStreamed: a 10,000-rule batch's
/// 7 MB of JSON is never held whole. Size() is its exact length (an encoding pass that only
/// counts), each command going to `on_command` (may be empty) as it is counted; Next() replaces
/// `piece` with the next part of at least `min_bytes` (the last may be shorter) and returns false
/// once all was given. The pieces joined are byte for byte EncodeConfigureRange's body.
class ConfigureStream {
 public:
  ConfigureStream(const std::string& key, const core::Plan& plan, std::pair<size_t, size_t> range,
                  InterfaceSyntax syntax, int confirm_minutes);
  ~ConfigureStream();
  ConfigureStream(const ConfigureStream&) = delete;
  ConfigureStream& operator=(const ConfigureStream&) = delete;
  size_t Size(const std::function<void(const Command&)>& on_command = {}) const;
  bool Next(std::string& piece, size_t min_bytes = size_t{64} * 1024);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

/// JSON bodies of the HTTP API (raw JSON encoding; `key` inside).
std::string EncodeConfigure(const std::string& key, const std::vector<Command>& commands,
                            int confirm_minutes);
std::string EncodeRetrieve(const std::string& key, const std::string& op,
                           const std::vector<std::string>& path);
std::string EncodeOp(const std::string& key, const std::string& op);

/// {"success", "data", "error"}. `data_json` is the raw JSON of `data`; `data_text` is set
/// when data is a string.
struct Envelope {
  bool success = false;
  std::string data_json;
  std::optional<std::string> data_text;
  std::string error;
};
Result<Envelope> ParseEnvelope(std::string_view body);

/// The version in `show version` output ("Version:          VyOS 1.4.1" -> "1.4.1"), or "".
std::string VersionFromShow(std::string_view show_version);
/// Major and minor of a VyOS version ("1.3.8", "1.4-rolling-2023...", "1.5-rolling-2025..."),
/// or {0, 0} when it has none (dated names such as "2025.11" give {2025, 11}).
std::pair<int, int> VersionNumber(const std::string& version);
/// Whether a showConfig answer is 1.5's "REST is not configured" 404 ({"detail":"Not Found"}).
bool IsRestOff(int status, std::string_view body);
/// What to tell an operator whose VyOS 1.5 serves no REST API.
std::string RestOffMessage();

/// Whether a version writes 1.2/1.3's `inbound-interface X` leaf (from `show version`'s number).
bool UsesLeafInterface(const std::string& version);
/// The rule number a VyOS error names ("... in rule 10003: ...", "[nat destination rule 10003
/// ...]").
std::optional<int> RuleNamedIn(std::string_view error);
/// Whether a VyOS error refused a value or path as it was set ("Set failed", "Value validation
/// failed", "Delete failed"), not the commit.
bool IsSetTimeError(std::string_view error);

/// Whether an error text is VyOS's commit-lock message.
bool IsLockedError(std::string_view error);
/// Whether a showConfig error means "nothing configured there".
bool IsEmptyPathError(std::string_view error);

}  // namespace nc::vyos
