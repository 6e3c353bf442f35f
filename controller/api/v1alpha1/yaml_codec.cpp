#include "controller/api/v1alpha1/yaml_codec.hpp"
#include "controller/core/encoding.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <optional>

#include <functional>
#include <set>
#include <sstream>
#include <unordered_map>

namespace nc::api {

namespace {

class Decoder {
 public:
  Decoder(std::string file, std::vector<Problem>& problems)
      : file_(std::move(file)), problems_(problems) {}

  SourcePos Pos(const YAML::Node& n) const {
    auto m = n.Mark();
    if (m.line < 0) return SourcePos{file_, 0, 0};
    return SourcePos{file_, m.line + 1 + line_offset_, m.column + 1};
  }

  LineColumn At(const YAML::Node& n) const {
    auto m = n.Mark();
    if (m.line < 0) return LineColumn{0, 0};
    return LineColumn{m.line + 1 + line_offset_, m.column + 1};
  }

  /// The line in the file where the document being decoded starts (documents are loaded one
  /// at a time, each from its own text).
  void SetLineOffset(int line) { line_offset_ = line; }

  void Problem(const YAML::Node& at, const std::string& field, const std::string& message) {
    problems_.push_back({Pos(at), kind_, object_, field, message});
    ++errors_;
  }

  void Begin(const std::string& kind, const std::string& object, FieldPositions* fields) {
    kind_ = kind;
    object_ = object;
    fields_ = fields;
    errors_ = 0;
  }
  int errors() const { return errors_; }

  /// Visits a mapping, calling `fields[key]` for known keys and reporting unknown ones.
  void Map(const YAML::Node& node, const std::string& path,
           const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>&
               fields) {
    if (!node.IsMap()) {
      Problem(node, path, "must be a mapping");
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {  // `? [a, b] : x`: a key that is not a name
        Problem(it->first, path, "a field name must be a plain string");
        continue;
      }
      std::string key = it->first.Scalar();
      std::string sub = path.empty() ? key : path + "." + key;
      auto f = fields.find(key);
      if (f == fields.end()) {
        Problem(it->first, sub, "unknown field");
        continue;
      }
      if (fields_) fields_->Set(Intern(sub), At(it->first));
      f->second(it->second, sub);
    }
  }

  void Str(const YAML::Node& n, const std::string& path, std::string* out) {
    if (!n.IsScalar()) {
      if (!n.IsNull()) Problem(n, path, "must be a string");
      return;
    }
    *out = n.Scalar();
  }
  void Bool(const YAML::Node& n, const std::string& path, std::optional<bool>* out) {
    const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
    if (s == "true" || s == "True")
      *out = true;
    else if (s == "false" || s == "False")
      *out = false;
    else
      Problem(n, path, "must be true or false");
  }
  void Int(const YAML::Node& n, const std::string& path, std::optional<int64_t>* out) {
    const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
    bool ok = !s.empty() && s.size() < 16;
    int64_t v = 0;
    for (char c : s) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) v = v * 10 + (c - '0');
    }
    if (ok)
      *out = v;
    else
      Problem(n, path, "'" + s + "' must be a whole number");
  }
  void StrMap(const YAML::Node& n, const std::string& path,
              std::map<std::string, std::string>* out) {
    if (!n.IsMap()) {
      if (!n.IsNull()) Problem(n, path, "must be a mapping of strings");
      return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) {
        Problem(it->first, path, "a key must be a plain string");
        continue;
      }
      if (!it->second.IsScalar()) {
        Problem(it->second, path + "." + it->first.Scalar(), "must be a string");
        continue;
      }
      (*out)[it->first.Scalar()] = it->second.Scalar();
    }
  }

  void Meta(const YAML::Node& n, ObjectMeta* meta) {
    Map(n, "metadata",
        {{"name", [&](auto& v, auto& p) { Str(v, p, &meta->name); }},
         {"namespace", [&](auto& v, auto& p) { Str(v, p, &meta->ns); }},
         {"labels", [&](auto& v, auto& p) { StrMap(v, p, &meta->labels); }},
         {"annotations", [&](auto& v, auto& p) { StrMap(v, p, &meta->annotations); }},
         {"generation",
          [&](auto& v, auto& p) {
            std::optional<int64_t> g;
            Int(v, p, &g);
            if (g) meta->generation = *g;
          }},
         // Fields a server adds; accepted so that `kubectl get -o yaml` output can be read back.
         {"uid", [](auto&, auto&) {}},
         {"resourceVersion", [](auto&, auto&) {}},
         {"creationTimestamp", [](auto&, auto&) {}},
         {"finalizers", [](auto&, auto&) {}},
         {"managedFields", [](auto&, auto&) {}}});
    if (meta->ns.empty()) meta->ns = "default";
  }

  void Device(const YAML::Node& spec, DeviceSpec* s) {
    Map(spec, "spec",
        {{"platform", [&](auto& v, auto& p) { Str(v, p, &s->platform); }},
         {"address", [&](auto& v, auto& p) { Str(v, p, &s->address); }},
         {"transport",
          [&](auto& v, auto& p) {
            Map(v, p,
                {{"primary", [&](auto& w, auto& q) { Str(w, q, &s->transport_primary); }},
                 {"fallback", [&](auto& w, auto& q) { Str(w, q, &s->transport_fallback); }}});
          }},
         {"credentialsRef",
          [&](auto& v, auto& p) {
            Map(v, p,
                {{"file", [&](auto& w, auto& q) { Str(w, q, &s->credentials_file); }},
                 {"name", [&](auto& w, auto& q) { Str(w, q, &s->credentials_secret); }}});
          }},
         {"tls",
          [&](auto& v, auto& p) {
            Map(v, p,
                {{"caFile", [&](auto& w, auto& q) { Str(w, q, &s->tls_ca_file); }},
                 {"caSecretRef", [&](auto& w, auto& q) { Str(w, q, &s->tls_ca_secret); }},
                 {"serverName", [&](auto& w, auto& q) { Str(w, q, &s->tls_server_name); }},
                 {"insecureSkipVerify",
                  [&](auto& w, auto& q) { Bool(w, q, &s->tls_insecure_skip_verify); }}});
          }},
         {"ssh",
          [&](auto& v, auto& p) {
            Map(v, p,
                {{"knownHosts", [&](auto& w, auto& q) { Str(w, q, &s->ssh_known_hosts); }},
                 {"hostKeyPolicy", [&](auto& w, auto& q) { Str(w, q, &s->ssh_host_key_policy); }},
                 {"commandTimeout", [&](auto& w, auto& q) { Str(w, q, &s->ssh_command_timeout); }},
                 {"port", [&](auto& w, auto& q) { Int(w, q, &s->ssh_port); }}});
          }},
         {"management", [&](auto& v, auto& p) { Str(v, p, &s->management); }},
         {"paused", [&](auto& v, auto& p) { Bool(v, p, &s->paused); }},
         {"pollInterval", [&](auto& v, auto& p) { Str(v, p, &s->poll_interval); }},
         {"commitConfirm",
          [&](auto& v, auto& p) {
            Map(v, p,
                {{"enabled", [&](auto& w, auto& q) { Bool(w, q, &s->commit_confirm_enabled); }},
                 {"timeout", [&](auto& w, auto& q) { Str(w, q, &s->commit_confirm_timeout); }}});
          }},
         {"saveAfterConfirm", [&](auto& v, auto& p) { Bool(v, p, &s->save_after_confirm); }},
         {"ownership",
          [&](auto& v, auto& p) {
            Map(v, p,
                {{"ruleRange", [&](auto& w, auto& q) { Str(w, q, &s->ownership_rule_range); }},
                 {"tag", [&](auto& w, auto& q) { Str(w, q, &s->ownership_tag); }}});
          }},
         {"vyos", [&](auto& v, auto& p) {
            Map(v, p,
                {{"maxRequestBytes", [&](auto& w, auto& q) { Int(w, q, &s->max_request_bytes); }},
                 {"requestTimeout", [&](auto& w, auto& q) { Str(w, q, &s->request_timeout); }}});
          }}});
  }

  void PortForward(const YAML::Node& spec, PortForwardSpec* s) {
    Map(spec, "spec",
        {{"deviceRef", [&](auto& v, auto& p) { Str(v, p, &s->device_ref); }},
         {"vm", [&](auto& v, auto& p) { Str(v, p, &s->vm); }},
         {"internalAddress", [&](auto& v, auto& p) { Str(v, p, &s->internal_address); }},
         {"inboundInterface", [&](auto& v, auto& p) { Str(v, p, &s->inbound_interface); }},
         {"destinationAddress", [&](auto& v, auto& p) { Str(v, p, &s->destination_address); }},
         {"onConflict", [&](auto& v, auto& p) { Str(v, p, &s->on_conflict); }},
         {"driftPolicy", [&](auto& v, auto& p) { Str(v, p, &s->drift_policy); }},
         {"deletionPolicy", [&](auto& v, auto& p) { Str(v, p, &s->deletion_policy); }},
         {"ports", [&](auto& v, auto& p) {
            if (!v.IsSequence()) {
              Problem(v, p, "must be a list");
              return;
            }
            s->ports.reserve(v.size());  // exactly: a fleet's manifests hold 100,000 of them
            for (size_t i = 0; i < v.size(); ++i) {
              const std::string ip = p + "[" + std::to_string(i) + "]";
              if (fields_) fields_->Set(Intern(ip), At(v[i]));
              PortSpec port;
              Map(v[i], ip,
                  {{"name", [&](auto& w, auto& q) { Str(w, q, &port.name); }},
                   {"protocol", [&](auto& w, auto& q) { Str(w, q, &port.protocol); }},
                   {"externalPort", [&](auto& w, auto& q) { Str(w, q, &port.external_port); }},
                   {"internalPort", [&](auto& w, auto& q) { Str(w, q, &port.internal_port); }},
                   {"sourceAddress", [&](auto& w, auto& q) { Str(w, q, &port.source_address); }},
                   {"description", [&](auto& w, auto& q) { Str(w, q, &port.description); }},
                   {"enabled", [&](auto& w, auto& q) { Bool(w, q, &port.enabled); }},
                   {"log", [&](auto& w, auto& q) { Bool(w, q, &port.log); }},
                   {"ruleNumber", [&](auto& w, auto& q) { Int(w, q, &port.rule_number); }}});
              s->ports.push_back(std::move(port));
            }
          }}});
  }

  void VlanInterface(const YAML::Node& spec, VlanInterfaceSpec* s) {
    Map(spec, "spec",
        {{"deviceRef", [&](auto& v, auto& p) { Str(v, p, &s->device_ref); }},
         {"interface", [&](auto& v, auto& p) { Str(v, p, &s->interface); }},
         {"vlan", [&](auto& v, auto& p) { Int(v, p, &s->vlan); }},
         {"subinterface", [&](auto& v, auto& p) { Int(v, p, &s->subinterface); }},
         {"l2Service", [&](auto& v, auto& p) { Bool(v, p, &s->l2_service); }},
         {"bridgeDomain", [&](auto& v, auto& p) { Str(v, p, &s->bridge_domain); }},
         {"adminState", [&](auto& v, auto& p) { Str(v, p, &s->admin_state); }},
         {"description", [&](auto& v, auto& p) { Str(v, p, &s->description); }},
         {"onConflict", [&](auto& v, auto& p) { Str(v, p, &s->on_conflict); }},
         {"driftPolicy", [&](auto& v, auto& p) { Str(v, p, &s->drift_policy); }},
         {"deletionPolicy", [&](auto& v, auto& p) { Str(v, p, &s->deletion_policy); }}});
  }

 private:
  std::string file_;
  std::vector<api::Problem>& problems_;
  std::string kind_;
  std::string object_;
  FieldPositions* fields_ = nullptr;
  int errors_ = 0;
  int line_offset_ = 0;
  std::unordered_map<std::string, FieldPositions::Path> paths_;  // one copy per path in a file

  FieldPositions::Path Intern(const std::string& path) {
    auto& p = paths_[path];
    if (!p) p = std::make_shared<const std::string>(path);
    return p;
  }
};

}  // namespace

namespace {

// Counts parse events and gives up past a budget. yaml-cpp 0.7's parser can produce events for
// ever on some malformed streams (fuzz_manifest found several); a counting pass that ends tells
// that LoadAll, the same parser, ends too.
class EventBudget : public YAML::EventHandler {
 public:
  struct Exhausted {};
  explicit EventBudget(size_t budget) : left_(budget) {}
  void OnDocumentStart(const YAML::Mark& mark) override {
    Tick();
    starts.push_back(mark.line);
  }
  void OnDocumentEnd() override { Tick(); }
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { Tick(); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { Tick(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Tick();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Tick();
  }
  void OnSequenceEnd() override { Tick(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Tick();
  }
  void OnMapEnd() override { Tick(); }

  std::vector<int> starts;  // the line of each document's first token

 private:
  void Tick() {
    if (left_-- == 0) throw Exhausted{};
  }
  size_t left_;
};

/// The documents of a file, each as its own text and the line it starts on, so that they are
/// loaded one at a time (a 10,000-object file as one yaml-cpp tree is about 40 MiB; one
/// document is a few KiB). Empty when the file must be loaded whole: a syntax error (LoadAll
/// reports it), directives (`%YAML`, `%TAG`: they belong to the next document), or document
/// starts it cannot cut at line boundaries.
struct DocumentText {
  std::string_view text;
  int line = 0;
};
struct Split {
  bool ends = true;  // false: the parser would not come to an end within the budget
  std::vector<DocumentText> documents;
};
Split SplitDocuments(std::string_view text, size_t budget) {
  Split out;
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  EventBudget counter(budget);
  try {
    while (parser.HandleNextDocument(counter)) {
    }
  } catch (const EventBudget::Exhausted&) {
    out.ends = false;
    return out;
  } catch (const YAML::Exception&) {
    return out;  // LoadAll stops at the same error, and reports it
  }
  if (text.starts_with('%') || text.find("\n%") != std::string_view::npos) return out;
  // Where each line starts (yaml-cpp counts lines at '\n').
  std::vector<size_t> line_start{0};
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') line_start.push_back(i + 1);
  const auto& starts = counter.starts;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int line = i == 0 ? 0 : starts[i];
    const int next = i + 1 < starts.size() ? starts[i + 1] : -1;
    if (line < 0 || static_cast<size_t>(line) >= line_start.size() || (next >= 0 && next <= line) ||
        (next >= 0 && static_cast<size_t>(next) >= line_start.size())) {
      out.documents.clear();
      return out;
    }
    const size_t from = line_start[static_cast<size_t>(line)];
    const size_t to = next < 0 ? text.size() : line_start[static_cast<size_t>(next)];
    out.documents.push_back({text.substr(from, to - from), line});
  }
  return out;
}

// Whether a document stays within `budget` nodes and kMaxDepth levels, counting each alias
// every time it is reached (as a decoder walking it would): a "billion laughs" document of
// nested aliases is refused after `budget` visits instead of being walked.
constexpr int kMaxDepth = 64;
// Also finds the first key written twice in one mapping (*duplicate: its position and text):
// YAML parsers silently keep the last, so `externalPort` given twice would lose one unseen.
struct Duplicate {
  YAML::Mark mark;
  std::string key;
};
bool Bounded(const YAML::Node& n, int depth, size_t& budget, std::optional<Duplicate>& duplicate) {
  if (depth > kMaxDepth || budget == 0) return false;
  --budget;
  if (n.IsMap()) {
    std::set<std::string> keys;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!duplicate && it->first.IsScalar() && !keys.insert(it->first.Scalar()).second)
        duplicate = Duplicate{it->first.Mark(), it->first.Scalar()};
      if (!Bounded(it->first, depth + 1, budget, duplicate) ||
          !Bounded(it->second, depth + 1, budget, duplicate))
        return false;
    }
  } else if (n.IsSequence()) {
    for (const auto& e : n)
      if (!Bounded(e, depth + 1, budget, duplicate)) return false;
  }
  return true;
}

// The file's size and bytes: manifests are printable UTF-8 (YAML 1.2, Kubernetes). Other bytes
// are refused here, with their place: yaml-cpp 0.7's LoadAll can loop for ever on some of them
// (found by fuzzing).
std::optional<Problem> CheckText(std::string_view text, const std::string& file) {
  if (text.size() > kMaxManifestBytes)
    return Problem{SourcePos{file, 1, 1}, "", "", "",
                   "the file is " + std::to_string(text.size()) +
                       " bytes; manifests are limited to " + std::to_string(kMaxManifestBytes) +
                       " bytes per file"};
  size_t line = 1, column = 1;
  for (size_t i = 0; i < text.size();) {
    const size_t n = core::Utf8SequenceLength(text, i);
    const auto u = static_cast<unsigned char>(text[i]);
    // YAML streams are printable: no C0 control but tab, line feed and carriage return, no
    // DEL (YAML 1.2, c-printable). yaml-cpp loops on some of these too.
    const bool control = n == 1 && ((u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0x7f);
    if (n == 0 || control) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", u);
      return Problem{SourcePos{file, static_cast<int>(line), static_cast<int>(column)}, "", "", "",
                     n == 0 ? std::string("the file is not UTF-8 text (byte ") + hex + ")"
                            : std::string("the file holds a control character (") + hex +
                                  "), which YAML does not allow"};
    }
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += n;
  }
  return std::nullopt;
}

std::string ScalarAt(const YAML::Node& doc, const char* key, const char* fallback = "") {
  return doc[key] && doc[key].IsScalar() ? doc[key].Scalar() : fallback;
}

std::string MetadataScalar(const YAML::Node& doc, const char* key, const char* fallback = "") {
  const YAML::Node meta = doc["metadata"];
  if (meta && meta.IsMap() && meta[key] && meta[key].IsScalar()) return meta[key].Scalar();
  return fallback;
}

/// Decodes the documents of one file into `out`, one object per document.
class DocumentDecoder {
 public:
  DocumentDecoder(const std::string& file, DecodeResult& out)
      : file_(file), out_(out), d_(file, out.problems) {}

  /// False when the file must not be read further (a node or depth limit was passed).
  bool Decode(const YAML::Node& doc) {
    std::optional<Duplicate> duplicate;
    if (!Bounded(doc, 0, budget_, duplicate)) {
      Add(doc.Mark(), "the file expands to more than " + std::to_string(kMaxManifestNodes) +
                          " YAML nodes or is nested deeper than " + std::to_string(kMaxDepth) +
                          " levels (aliases count each time they are used)");
      return false;
    }
    if (duplicate) {
      Add(duplicate->mark, "duplicate key '" + duplicate->key.substr(0, 64) +
                               "' in one mapping (YAML would keep only the last); write it once");
      return true;
    }
    if (doc.IsNull()) return true;
    if (!doc.IsMap()) {
      d_.Begin("", "", nullptr);
      d_.Problem(doc, "", "a manifest document must be a mapping with apiVersion and kind");
      return true;
    }
    Object(doc);
    return true;
  }

  void Add(const YAML::Mark& mark, std::string message) {
    out_.problems.push_back({SourcePos{file_, mark.line + 1 + line_offset_, mark.column + 1}, "",
                             "", "", std::move(message)});
  }

  /// The file line where the next document's own text starts.
  void SetLineOffset(int line) {
    line_offset_ = line;
    d_.SetLineOffset(line);
  }

 private:
  void Object(const YAML::Node& doc) {
    const std::string api_version = ScalarAt(doc, "apiVersion");
    const std::string kind = ScalarAt(doc, "kind");
    const std::string name = MetadataScalar(doc, "name");
    const std::string ns = MetadataScalar(doc, "namespace", "default");
    if (api_version.empty() || kind.empty()) {
      d_.Begin(kind, name.empty() ? "" : ns + "/" + name, nullptr);
      d_.Problem(doc, api_version.empty() ? "apiVersion" : "kind", "is required");
      return;
    }
    if (api_version.rfind("netconverge.io/", 0) != 0) return;  // not ours
    const std::string key = ns + "/" + name;
    if (api_version != kGroupVersion) {
      d_.Begin(kind, key, nullptr);
      d_.Problem(doc["apiVersion"], "apiVersion",
                 "'" + api_version + "' is not served; use " + kGroupVersion);
      return;
    }
    if (kind == "Device") {
      DeviceObject obj;
      Walk(doc, kind, key, obj, [&](const YAML::Node& spec) { d_.Device(spec, &obj.spec); });
      if (d_.errors() == 0) out_.manifests.devices.push_back(std::move(obj));
    } else if (kind == "PortForward") {
      PortForwardObject obj;
      Walk(doc, kind, key, obj, [&](const YAML::Node& spec) { d_.PortForward(spec, &obj.spec); });
      if (d_.errors() == 0) out_.manifests.port_forwards.push_back(std::move(obj));
    } else if (kind == "VlanInterface") {
      VlanInterfaceObject obj;
      Walk(doc, kind, key, obj, [&](const YAML::Node& spec) { d_.VlanInterface(spec, &obj.spec); });
      if (d_.errors() == 0) out_.manifests.vlan_interfaces.push_back(std::move(obj));
    } else {
      d_.Begin(kind, key, nullptr);
      d_.Problem(doc["kind"], "kind",
                 "'" + kind + "' is not a kind of " + kGroupVersion +
                     " (Device, PortForward, VlanInterface)");
    }
  }

  // The top level of one object: metadata and spec decoded, status ignored, the rest unknown.
  template <typename Obj, typename SpecFn>
  void Walk(const YAML::Node& doc, const std::string& kind, const std::string& key, Obj& obj,
            SpecFn&& spec_fn) {
    d_.Begin(kind, key, &obj.fields);
    obj.pos = d_.Pos(doc);
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (!it->first.IsScalar()) {
        d_.Problem(it->first, "", "a field name must be a plain string");
        continue;
      }
      const std::string field = it->first.Scalar();
      if (field == "apiVersion" || field == "kind" || field == "status")
        continue;  // status is written by the controller, ignored on input
      if (field == "metadata")
        d_.Meta(it->second, &obj.meta);
      else if (field == "spec")
        spec_fn(it->second);
      else
        d_.Problem(it->first, field, "unknown field");
    }
    if (!doc["metadata"]) d_.Problem(doc, "metadata.name", "is required");
    if (!doc["spec"]) d_.Problem(doc, "spec", "is required");
  }

  const std::string& file_;
  DecodeResult& out_;
  Decoder d_;
  size_t budget_ = kMaxManifestNodes;  // for the whole file
  int line_offset_ = 0;
};

}  // namespace

DecodeResult DecodeManifests(std::string_view text, const std::string& file) {
  DecodeResult out;
  if (auto problem = CheckText(text, file)) {
    out.problems.push_back(std::move(*problem));
    return out;
  }
  // Events of a file within the node limit are at most about twice its nodes; more means a
  // stream yaml-cpp would never finish.
  const Split split = SplitDocuments(text, 4 * kMaxManifestNodes);
  if (!split.ends) {
    out.problems.push_back(
        {SourcePos{file, 1, 1}, "", "", "",
         "the YAML parser does not come to an end on this file (malformed YAML it cannot recover "
         "from); check it with a YAML linter"});
    return out;
  }
  if (!split.documents.empty()) {
    // One document's tree at a time. Each text was parsed above as part of the file; should
    // one not load alone as it did there, the file is loaded whole instead.
    DecodeResult each;
    DocumentDecoder decoder(file, each);
    bool whole = true;
    for (const auto& d : split.documents) {
      YAML::Node doc;
      try {
        doc = YAML::Load(std::string(d.text));
      } catch (const YAML::Exception&) {
        whole = false;
        break;
      }
      decoder.SetLineOffset(d.line);
      try {
        if (!decoder.Decode(doc)) break;
      } catch (const YAML::Exception& e) {
        decoder.Add(e.mark, "unexpected YAML structure: " + e.msg);
      }
    }
    if (whole) return each;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    out.problems.push_back({SourcePos{file, e.mark.line + 1, e.mark.column + 1}, "", "", "",
                            "YAML syntax error: " + e.msg});
    return out;
  }
  DocumentDecoder decoder(file, out);
  for (const auto& doc : docs) {
    try {
      if (!decoder.Decode(doc)) break;
    } catch (const YAML::Exception& e) {
      // A structure the decoder did not expect must be a problem of this file, never a crash.
      decoder.Add(e.mark, "unexpected YAML structure: " + e.msg);
    }
  }
  return out;
}

}  // namespace nc::api
