#include "test/sim/kube/kube_sim.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include <time.h>

namespace nc::sim {

namespace {

/// Seconds since the epoch to the microsecond, for the audit log.
std::string AuditTime() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char out[32];
  std::snprintf(out, sizeof out, "%lld.%06lld", static_cast<long long>(us / 1'000'000),
                static_cast<long long>(us % 1'000'000));
  return out;
}

using rapidjson::Document;
using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

std::string Json(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

std::string Quote(const std::string& s) {
  Value v(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return Json(v);
}

std::string NowRfc3339(time_t t = time(nullptr)) {
  char buf[32];
  tm tmv{};
  gmtime_r(&t, &tmv);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  return buf;
}

time_t ParseRfc3339(const std::string& s) {
  tm tmv{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tmv)) return 0;
  return timegm(&tmv);
}

/// k8s.io/apimachinery duration.HumanDuration.
std::string HumanDuration(int64_t secs) {
  if (secs < -1) return "<invalid>";
  if (secs < 0) return "0s";
  if (secs < 120) return std::to_string(secs) + "s";
  const int64_t minutes = secs / 60;
  if (minutes < 10)
    return secs % 60 == 0 ? std::to_string(minutes) + "m"
                          : std::to_string(minutes) + "m" + std::to_string(secs % 60) + "s";
  if (minutes < 180) return std::to_string(minutes) + "m";
  const int64_t hours = minutes / 60;
  if (hours < 8)
    return minutes % 60 == 0 ? std::to_string(hours) + "h"
                             : std::to_string(hours) + "h" + std::to_string(minutes % 60) + "m";
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8)
    return hours % 24 == 0 ? std::to_string(hours / 24) + "d"
                           : std::to_string(hours / 24) + "d" + std::to_string(hours % 24) + "h";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  return std::to_string(hours / 24 / 365) + "y";
}

/// YAML to JSON, with plain scalars typed as YAML 1.2's core schema would (bool, null, numbers).
void FromYaml(const YAML::Node& n, Value& out, Alloc& a) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      out.SetObject();
      for (auto it = n.begin(); it != n.end(); ++it) {
        Value k(it->first.as<std::string>().c_str(), a);
        Value v;
        FromYaml(it->second, v, a);
        out.AddMember(k, v, a);
      }
      break;
    case YAML::NodeType::Sequence:
      out.SetArray();
      for (const auto& x : n) {
        Value v;
        FromYaml(x, v, a);
        out.PushBack(v, a);
      }
      break;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() != "!") {
        if (s == "true" || s == "True") return (void)out.SetBool(true);
        if (s == "false" || s == "False") return (void)out.SetBool(false);
        if (s == "null" || s == "~" || s.empty()) return (void)out.SetNull();
        char* end = nullptr;
        long long i = strtoll(s.c_str(), &end, 10);
        if (!s.empty() && *end == 0 &&
            (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-'))
          return (void)out.SetInt64(i);
        double d = strtod(s.c_str(), &end);
        if (!s.empty() && *end == 0 &&
            (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-'))
          return (void)out.SetDouble(d);
      }
      out.SetString(s.c_str(), a);
      break;
    }
    default:
      out.SetNull();
  }
}

const Value* Member(const Value& v, const char* k) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(k);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string Str(const Value& v, const char* k) {
  const Value* m = Member(v, k);
  return m && m->IsString() ? m->GetString() : "";
}

/// RFC 7386 JSON merge patch.
void MergePatch(Value& target, const Value& patch, Alloc& a) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, a);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (const auto& m : patch.GetObject()) {
    if (m.value.IsNull()) {
      target.RemoveMember(m.name.GetString());
      continue;
    }
    auto it = target.FindMember(m.name.GetString());
    if (it == target.MemberEnd()) {
      Value k(m.name, a);
      Value v;
      if (m.value.IsObject()) {
        v.SetObject();
        MergePatch(v, m.value, a);  // strips nulls inside, as RFC 7386 does
      } else {
        v.CopyFrom(m.value, a);
      }
      target.AddMember(k, v, a);
    } else {
      MergePatch(it->value, m.value, a);
    }
  }
}

struct Column {
  std::string name, type, format, json_path, description;
  int priority = 0;
};

struct Type {
  std::string group, version, plural, singular, kind, list_kind;
  bool namespaced = true;
  std::vector<std::string> short_names, categories;
  bool status = false;
  std::vector<Column> columns;
  std::shared_ptr<Document> schema;  // openAPIV3Schema, or null (built-ins)
  std::string GroupVersion() const { return group.empty() ? version : group + "/" + version; }
  std::string Key() const { return group + "/" + plural; }
  std::string Qualified() const { return group.empty() ? plural : plural + "." + group; }
};

/// JSONPath subset of printer columns: .a.b, [N], [?(@.k=='v')], backslash-escaped dots.
const Value* EvalPath(const Value& root, const std::string& path) {
  const Value* cur = &root;
  size_t i = 0;
  while (cur && i < path.size()) {
    if (path[i] == '.') {
      ++i;
      std::string key;
      while (i < path.size() && path[i] != '.' && path[i] != '[') {
        if (path[i] == '\\' && i + 1 < path.size()) ++i;
        key += path[i++];
      }
      cur = Member(*cur, key.c_str());
    } else if (path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string::npos) return nullptr;
      const std::string inner = path.substr(i + 1, close - i - 1);
      i = close + 1;
      if (!cur->IsArray()) return nullptr;
      if (inner.rfind("?(@.", 0) == 0) {
        const auto eq = inner.find("==");
        const std::string field = inner.substr(4, eq - 4);
        std::string want = inner.substr(eq + 2);
        want = want.substr(1, want.size() - 3);  // 'v')
        const Value* found = nullptr;
        for (const auto& item : cur->GetArray())
          if (Str(item, field.c_str()) == want) {
            found = &item;
            break;
          }
        cur = found;
      } else {
        const size_t n = static_cast<size_t>(std::atoi(inner.c_str()));
        cur = n < cur->Size() ? &(*cur)[static_cast<rapidjson::SizeType>(n)] : nullptr;
      }
    } else {
      return nullptr;
    }
  }
  return cur;
}

struct Problem {
  std::string field, message, reason = "FieldValueInvalid";
};

/// Validates (and defaults) `v` against a structural schema. Unknown fields are collected (and
/// pruned when `prune`).
void Validate(Value& v, const Value& s, const std::string& path, std::vector<Problem>& bad,
              std::vector<std::string>& unknown, bool prune, Alloc& a) {
  if (Member(s, "x-kubernetes-preserve-unknown-fields")) return;
  const std::string type = Str(s, "type");
  auto fail = [&](const std::string& msg) { bad.push_back({path, msg}); };
  if (Member(s, "x-kubernetes-int-or-string")) {
    if (!v.IsString() && !v.IsInt64()) return fail("Invalid value: must be an integer or a string");
    if (v.IsString() && Member(s, "pattern") &&
        !std::regex_match(std::string(v.GetString()), std::regex(Str(s, "pattern"))))
      fail("Invalid value: \"" + std::string(v.GetString()) + "\": spec must match " +
           Str(s, "pattern"));
    return;
  }
  if (type == "object") {
    if (!v.IsObject()) return fail("Invalid value: must be of type object");
    const Value* props = Member(s, "properties");
    if (const Value* req = Member(s, "required"))
      for (const auto& r : req->GetArray())
        if (!Member(v, r.GetString()))
          bad.push_back({path + "." + r.GetString(), "Required value", "FieldValueRequired"});
    if (!props) return;
    for (const auto& p : props->GetObject())  // defaults
      if (const Value* d = Member(p.value, "default"); d && !Member(v, p.name.GetString())) {
        Value k(p.name, a);
        Value dv(*d, a);
        v.AddMember(k, dv, a);
      }
    for (auto it = v.MemberBegin(); it != v.MemberEnd();) {
      const std::string k = it->name.GetString();
      const Value* ps = Member(*props, k.c_str());
      if (!ps) {
        unknown.push_back(path.empty() ? k : path + "." + k);
        if (prune) {
          it = v.EraseMember(it);
          continue;
        }
      } else if (!(path.empty() && k == "metadata")) {
        Validate(it->value, *ps, path.empty() ? k : path + "." + k, bad, unknown, prune, a);
      }
      ++it;
    }
  } else if (type == "array") {
    if (!v.IsArray()) return fail("Invalid value: must be of type array");
    if (const Value* mi = Member(s, "minItems"); mi && v.Size() < mi->GetUint())
      fail("Invalid value: must have at least " + std::to_string(mi->GetUint()) + " items");
    if (const Value* mx = Member(s, "maxItems"); mx && v.Size() > mx->GetUint())
      fail("Too many: must have at most " + std::to_string(mx->GetUint()) + " items");
    if (const Value* items = Member(s, "items"))
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
        Validate(v[i], *items, path + "[" + std::to_string(i) + "]", bad, unknown, prune, a);
  } else if (type == "string") {
    if (!v.IsString()) return fail("Invalid value: must be of type string");
    const std::string x = v.GetString();
    if (const Value* e = Member(s, "enum")) {
      bool ok = false;
      std::string list;
      for (const auto& opt : e->GetArray()) {
        ok |= opt.IsString() && x == opt.GetString();
        list += std::string(list.empty() ? "" : ", ") + "\"" +
                (opt.IsString() ? opt.GetString() : "") + "\"";
      }
      if (!ok)
        bad.push_back({path, "Unsupported value: \"" + x + "\": supported values: " + list,
                       "FieldValueNotSupported"});
    }
    if (Member(s, "pattern") && !std::regex_match(x, std::regex(Str(s, "pattern"))))
      fail("Invalid value: \"" + x + "\": " + path + " in body should match '" + Str(s, "pattern") +
           "'");
    if (const Value* ml = Member(s, "maxLength"); ml && x.size() > ml->GetUint())
      bad.push_back({path,
                     "Too long: may not be more than " + std::to_string(ml->GetUint()) + " bytes",
                     "FieldValueTooLong"});
    if (const Value* ml = Member(s, "minLength"); ml && x.size() < ml->GetUint())
      fail("Invalid value: \"\": should be at least " + std::to_string(ml->GetUint()) +
           " chars long");
  } else if (type == "integer") {
    if (!v.IsInt64()) return fail("Invalid value: must be of type integer");
    const int64_t x = v.GetInt64();
    if (const Value* m = Member(s, "minimum"); m && x < m->GetInt64())
      fail("Invalid value: " + std::to_string(x) + ": should be greater than or equal to " +
           std::to_string(m->GetInt64()));
    if (const Value* m = Member(s, "maximum"); m && x > m->GetInt64())
      fail("Invalid value: " + std::to_string(x) + ": should be less than or equal to " +
           std::to_string(m->GetInt64()));
  } else if (type == "boolean") {
    if (!v.IsBool()) fail("Invalid value: must be of type boolean");
  }
}

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const char* hex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += hex[rng() % 16];
  return s;
}

/// A Secret's stringData is write-only: the server merges it into data (base64) and drops it.
void FoldStringData(Document& d) {
  auto it = d.FindMember("stringData");
  if (it == d.MemberEnd() || !it->value.IsObject()) return;
  if (!d.HasMember("data") || !d["data"].IsObject()) {
    d.RemoveMember("data");
    d.AddMember("data", Value(rapidjson::kObjectType), d.GetAllocator());
  }
  for (const auto& m : d["stringData"].GetObject()) {
    if (!m.value.IsString()) continue;
    d["data"].RemoveMember(m.name.GetString());
    d["data"].AddMember(Value(m.name, d.GetAllocator()),
                        Value(Base64(m.value.GetString()).c_str(), d.GetAllocator()),
                        d.GetAllocator());
  }
  d.RemoveMember("stringData");
}

struct Event {
  int64_t rv;
  std::string type_key, ns, name, kind;  // kind: ADDED | MODIFIED | DELETED
  std::string json;
};

}  // namespace

std::string Base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

struct KubeSim::Impl {
  KubeSimOptions options;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Type> types;  // by group/plural
  std::map<std::string, std::map<std::pair<std::string, std::string>, std::string>>
      objects;  // type key -> (ns, name) -> JSON
  int64_t rv = 1;
  std::deque<Event> history;
  int64_t unavailable_through = 0;  // events with rv <= this are gone
  int drop_epoch = 0;
  bool shutdown = false;
  bool watches_paused = false;
  std::set<std::pair<std::string, std::string>> denied;  // (verb, resource[/subresource])
  std::atomic<int64_t> requests{0};

  void AddBuiltins() {
    auto add = [&](Type t) { types[t.Key()] = std::move(t); };
    add({"", "v1", "secrets", "secret", "Secret", "SecretList", true, {}, {}, false, {}, nullptr});
    add({"",
         "v1",
         "configmaps",
         "configmap",
         "ConfigMap",
         "ConfigMapList",
         true,
         {"cm"},
         {},
         false,
         {},
         nullptr});
    add({"coordination.k8s.io",
         "v1",
         "leases",
         "lease",
         "Lease",
         "LeaseList",
         true,
         {},
         {},
         false,
         {},
         nullptr});
    add({"events.k8s.io",
         "v1",
         "events",
         "event",
         "Event",
         "EventList",
         true,
         {"ev"},
         {},
         false,
         {},
         nullptr});
  }

  // ---- responses ----
  static HttpReply StatusReply(int code, const std::string& reason, const std::string& message,
                               const std::string& details = "") {
    HttpReply r;
    r.status = code;
    r.body =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":" +
        Quote(message) + ",\"reason\":\"" + reason + "\"" +
        (details.empty() ? "" : ",\"details\":" + details) + ",\"code\":" + std::to_string(code) +
        "}";
    return r;
  }
  static std::string Details(const Type& t, const std::string& name,
                             const std::string& causes = "") {
    return "{\"name\":" + Quote(name) + ",\"group\":" + Quote(t.group) +
           ",\"kind\":" + Quote(t.plural) + causes + "}";
  }
  static HttpReply Ok(std::string body, int code = 200) {
    HttpReply r;
    r.status = code;
    r.body = std::move(body);
    return r;
  }

  void Record(const Type& t, const std::string& ns, const std::string& name,
              const std::string& kind, const std::string& json) {
    history.push_back({rv, t.Key(), ns, name, kind, json});
    while (history.size() > options.history) {
      unavailable_through = history.front().rv;
      history.pop_front();
    }
    cv.notify_all();
  }

  // ---- discovery and OpenAPI ----
  std::string ResourceDiscovery(const Type& t) const {
    std::string s = "{\"resource\":\"" + t.plural + "\",\"singularResource\":\"" + t.singular +
                    "\",\"scope\":\"" + (t.namespaced ? "Namespaced" : "Cluster") +
                    "\",\"responseKind\":{\"group\":\"" + t.group + "\",\"version\":\"" +
                    t.version + "\",\"kind\":\"" + t.kind +
                    "\"},\"verbs\":[\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\","
                    "\"create\",\"update\",\"watch\"]";
    auto list = [](const std::vector<std::string>& v) {
      std::string out = "[";
      for (const auto& x : v) out += (out.size() > 1 ? "," : "") + Quote(x);
      return out + "]";
    };
    if (!t.short_names.empty()) s += ",\"shortNames\":" + list(t.short_names);
    if (!t.categories.empty()) s += ",\"categories\":" + list(t.categories);
    if (t.status)
      s += ",\"subresources\":[{\"subresource\":\"status\",\"responseKind\":{\"group\":\"" +
           t.group + "\",\"version\":\"" + t.version + "\",\"kind\":\"" + t.kind +
           "\"},\"verbs\":[\"get\",\"patch\",\"update\"]}]";
    return s + "}";
  }
  HttpReply Discovery(bool core) const {
    std::map<std::string, std::map<std::string, std::vector<const Type*>>> groups;
    for (const auto& [k, t] : types)
      if (t.group.empty() == core) groups[t.group][t.version].push_back(&t);
    std::string items;
    for (const auto& [g, versions] : groups) {
      std::string vs;
      for (const auto& [v, list] : versions) {
        std::string rs;
        for (const auto* t : list) rs += (rs.empty() ? "" : ",") + ResourceDiscovery(*t);
        vs += (vs.empty() ? "" : ",") + std::string("{\"version\":\"") + v +
              "\",\"freshness\":\"Current\",\"resources\":[" + rs + "]}";
      }
      items += (items.empty() ? "" : ",") + std::string("{\"metadata\":{\"name\":\"") + g +
               "\"},\"versions\":[" + vs + "]}";
    }
    HttpReply r =
        Ok("{\"kind\":\"APIGroupDiscoveryList\",\"apiVersion\":\"apidiscovery.k8s.io/"
           "v2\",\"metadata\":{},\"items\":[" +
           items + "]}");
    r.content_type = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    return r;
  }
  std::string OpenApiHash() const {
    return std::to_string(
        std::hash<std::string>{}(std::to_string(types.size()) + std::to_string(schema_gen)));
  }
  int schema_gen = 0;
  HttpReply OpenApiIndex() const {
    std::set<std::string> gvs;
    for (const auto& [k, t] : types)
      gvs.insert(t.group.empty() ? "api/v1" : "apis/" + t.GroupVersion());
    std::string paths;
    for (const auto& gv : gvs)
      paths += (paths.empty() ? "" : ",") + Quote(gv) + ":{\"serverRelativeURL\":\"/openapi/v3/" +
               gv + "?hash=" + OpenApiHash() + "\"}";
    return Ok("{\"paths\":{" + paths + "}}");
  }
  HttpReply OpenApiGroupVersion(const std::string& gv) const {
    std::string paths;
    for (const auto& [k, t] : types) {
      if ((t.group.empty() ? "api/v1" : "apis/" + t.GroupVersion()) != gv) continue;
      const std::string path = "/" + gv + "/namespaces/{namespace}/" + t.plural + "/{name}";
      paths += (paths.empty() ? "" : ",") + Quote(path) +
               ":{\"patch\":{\"x-kubernetes-group-version-kind\":{\"group\":\"" + t.group +
               "\",\"version\":\"" + t.version + "\",\"kind\":\"" + t.kind +
               "\"},\"parameters\":[{\"name\":\"fieldValidation\",\"in\":\"query\",\"schema\":{"
               "\"type\":\"string\"}},"
               "{\"name\":\"fieldManager\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}}],"
               "\"requestBody\":{\"content\":{"
               "\"application/merge-patch+json\":{\"schema\":{\"type\":\"object\"}},\"application/"
               "apply-patch+yaml\":{\"schema\":"
               "{\"type\":\"object\"}}}},\"responses\":{\"200\":{\"description\":\"OK\"}}}}";
    }
    if (paths.empty())
      return StatusReply(404, "NotFound", "the server could not find the requested resource");
    HttpReply r = Ok(
        "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"kube-sim\",\"version\":\"v1\"},\"paths\":{" +
        paths + "},\"components\":{\"schemas\":{}}}");
    r.headers.push_back({"Etag", "\"" + OpenApiHash() + "\""});
    return r;
  }

  // ---- tables ----
  std::string TableCell(const Column& c, const Value& obj) const {
    const Value* v = EvalPath(obj, c.json_path);
    if (!v || v->IsNull()) return "null";
    if (c.type == "date") {
      if (!v->IsString()) return "null";
      return Quote(
          HumanDuration(static_cast<int64_t>(time(nullptr) - ParseRfc3339(v->GetString()))));
    }
    if (c.type == "string") return v->IsString() ? Quote(v->GetString()) : Quote(Json(*v));
    return Json(*v);
  }
  std::string Table(const Type& t, const std::vector<const std::string*>& items) const {
    std::vector<Column> cols = t.columns;
    if (cols.empty()) cols.push_back({"Age", "date", "", ".metadata.creationTimestamp", "", 0});
    std::string defs =
        "{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\",\"description\":\"Name must be "
        "unique within a namespace.\",\"priority\":0}";
    for (const auto& c : cols)
      defs += ",{\"name\":" + Quote(c.name) + ",\"type\":" + Quote(c.type) +
              ",\"format\":" + Quote(c.format) + ",\"description\":" +
              Quote(c.description.empty()
                        ? "Custom resource definition column (in JSONPath format): " + c.json_path
                        : c.description) +
              ",\"priority\":" + std::to_string(c.priority) + "}";
    std::string rows;
    for (const auto* json : items) {
      Document d;
      d.Parse(json->c_str(), json->size());
      std::string cells = Quote(Str(*Member(d, "metadata"), "name"));
      for (const auto& c : cols) cells += "," + TableCell(c, d);
      rows += (rows.empty() ? "" : ",") + std::string("{\"cells\":[") + cells +
              "],\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/"
              "v1\",\"metadata\":" +
              Json(*Member(d, "metadata")) + "}}";
    }
    return "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/"
           "v1\",\"metadata\":{\"resourceVersion\":\"" +
           std::to_string(rv) + "\"},\"columnDefinitions\":[" + defs + "],\"rows\":[" + rows + "]}";
  }

  // ---- selectors ----
  static bool Matches(const Value& obj, const std::string& field_selector,
                      const std::string& label_selector) {
    const Value* meta = Member(obj, "metadata");
    if (!meta) return false;
    std::stringstream fs(field_selector);
    for (std::string term; std::getline(fs, term, ',');) {
      if (term.empty()) continue;
      const bool neg = term.find("!=") != std::string::npos;
      const auto eq = term.find(neg ? "!=" : "=");
      std::string key = term.substr(0, eq);
      std::string val = term.substr(eq + (neg ? 2 : (term.compare(eq, 2, "==") == 0 ? 2 : 1)));
      std::string have = key == "metadata.name"        ? Str(*meta, "name")
                         : key == "metadata.namespace" ? Str(*meta, "namespace")
                                                       : "";
      if ((have == val) == neg) return false;
    }
    const Value* labels = Member(*meta, "labels");
    std::stringstream ls(label_selector);
    for (std::string term; std::getline(ls, term, ',');) {
      if (term.empty()) continue;
      const bool neg = term.find("!=") != std::string::npos;
      const auto eq = term.find(neg ? "!=" : "=");
      if (eq == std::string::npos) {  // existence (or !key)
        const bool absent = term[0] == '!';
        const bool has = labels && Member(*labels, (absent ? term.substr(1) : term).c_str());
        if (has == absent) return false;
        continue;
      }
      const std::string key = term.substr(0, eq);
      const std::string val =
          term.substr(eq + (neg ? 2 : (term.compare(eq, 2, "==") == 0 ? 2 : 1)));
      const std::string have = labels ? Str(*labels, key.c_str()) : "";
      if ((have == val) == neg) return false;
    }
    return true;
  }
};

KubeSim::KubeSim(KubeSimOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->AddBuiltins();
}
KubeSim::~KubeSim() {
  Shutdown();
}

Status KubeSim::LoadCrds(const std::string& yaml_text, const std::string& file) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(yaml_text);
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, file + ": " + e.what());
  }
  std::lock_guard lk(impl_->mu);
  for (const auto& y : docs) {
    if (!y.IsMap()) continue;
    Document d;
    FromYaml(y, d, d.GetAllocator());
    if (Str(d, "kind") != "CustomResourceDefinition") continue;
    const Value* spec = Member(d, "spec");
    const Value* names = spec ? Member(*spec, "names") : nullptr;
    const Value* versions = spec ? Member(*spec, "versions") : nullptr;
    if (!names || !versions || !versions->IsArray())
      return MakeError(ErrorCode::kInvalidArgument,
                       file + ": a CRD without spec.names or spec.versions");
    for (const auto& v : versions->GetArray()) {
      Type t;
      t.group = Str(*spec, "group");
      t.version = Str(v, "name");
      t.plural = Str(*names, "plural");
      t.singular = Str(*names, "singular");
      t.kind = Str(*names, "kind");
      t.list_kind = Str(*names, "listKind").empty() ? t.kind + "List" : Str(*names, "listKind");
      t.namespaced = Str(*spec, "scope") != "Cluster";
      if (const Value* sn = Member(*names, "shortNames"))
        for (const auto& x : sn->GetArray()) t.short_names.push_back(x.GetString());
      if (const Value* c = Member(*names, "categories"))
        for (const auto& x : c->GetArray()) t.categories.push_back(x.GetString());
      if (const Value* sub = Member(v, "subresources"))
        t.status = Member(*sub, "status") != nullptr;
      if (const Value* cols = Member(v, "additionalPrinterColumns"))
        for (const auto& c : cols->GetArray())
          t.columns.push_back({Str(c, "name"), Str(c, "type"), Str(c, "format"), Str(c, "jsonPath"),
                               Str(c, "description"),
                               Member(c, "priority") ? Member(c, "priority")->GetInt() : 0});
      if (const Value* schema = Member(v, "schema"); schema && Member(*schema, "openAPIV3Schema")) {
        t.schema = std::make_shared<Document>();
        t.schema->CopyFrom(*Member(*schema, "openAPIV3Schema"), t.schema->GetAllocator());
      }
      if (t.plural.empty() || t.kind.empty() || t.version.empty())
        return MakeError(ErrorCode::kInvalidArgument,
                         file + ": a CRD version without plural, kind or name");
      impl_->types[t.Key()] = std::move(t);
    }
  }
  ++impl_->schema_gen;
  return {};
}

void KubeSim::DropWatches() {
  std::lock_guard lk(impl_->mu);
  ++impl_->drop_epoch;
  impl_->cv.notify_all();
}

void KubeSim::Compact() {
  std::lock_guard lk(impl_->mu);
  impl_->history.clear();
  impl_->unavailable_through = impl_->rv;
  ++impl_->drop_epoch;
  impl_->cv.notify_all();
}

void KubeSim::PauseWatches(bool paused) {
  std::lock_guard lk(impl_->mu);
  impl_->watches_paused = paused;
  impl_->cv.notify_all();
}

void KubeSim::Deny(const std::string& verb, const std::string& resource) {
  std::lock_guard lk(impl_->mu);
  impl_->denied.insert({verb, resource});
}

void KubeSim::Allow(const std::string& verb, const std::string& resource) {
  std::lock_guard lk(impl_->mu);
  impl_->denied.erase({verb, resource});
}

void KubeSim::Shutdown() {
  if (!impl_) return;
  std::lock_guard lk(impl_->mu);
  impl_->shutdown = true;
  impl_->cv.notify_all();
}

int64_t KubeSim::ResourceVersion() {
  std::lock_guard lk(impl_->mu);
  return impl_->rv;
}

int64_t KubeSim::Requests() {
  return impl_->requests.load();
}

std::string KubeSim::Get(const std::string& group, const std::string& plural, const std::string& ns,
                         const std::string& name) {
  std::lock_guard lk(impl_->mu);
  auto t = impl_->objects.find(group + "/" + plural);
  if (t == impl_->objects.end()) return "";
  auto o = t->second.find({ns, name});
  return o == t->second.end() ? "" : o->second;
}

HttpReply KubeSim::Handle(const HttpRequest& req) {
  ++impl_->requests;
  auto& I = *impl_;
  // Authentication: one bearer token, compared in constant time.
  const std::string want = "Bearer " + I.options.token;
  const std::string got = req.Header("authorization");
  unsigned char diff = got.size() == want.size() ? 0 : 1;
  for (size_t i = 0; i < want.size(); ++i)
    diff |= static_cast<unsigned char>(want[i] ^ (i < got.size() ? got[i] : 0));
  if (diff != 0) return Impl::StatusReply(401, "Unauthorized", "Unauthorized");

  // Path and query.
  std::string path = req.target;
  std::map<std::string, std::string> q;
  if (auto qm = path.find('?'); qm != std::string::npos) {
    std::stringstream qs(path.substr(qm + 1));
    path = path.substr(0, qm);
    for (std::string kv; std::getline(qs, kv, '&');) {
      auto eq = kv.find('=');
      q[UrlDecode(kv.substr(0, eq))] = eq == std::string::npos ? "" : UrlDecode(kv.substr(eq + 1));
    }
  }
  std::vector<std::string> seg;
  {
    std::stringstream ps(path);
    for (std::string s; std::getline(ps, s, '/');)
      if (!s.empty()) seg.push_back(s);
  }
  std::unique_lock lk(I.mu);
  if (req.method == "POST" && path == "/_sim/drop-watches") {
    lk.unlock();
    DropWatches();
    return Impl::Ok("{}");
  }
  if (req.method == "POST" && path == "/_sim/compact") {
    lk.unlock();
    Compact();
    return Impl::Ok("{}");
  }
  if (path == "/version")
    return Impl::Ok(
        "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0-kube-sim\",\"platform\":"
        "\"linux/amd64\"}");
  if (path == "/api") return I.Discovery(true);
  if (path == "/apis") return I.Discovery(false);
  if (path == "/openapi/v3") return I.OpenApiIndex();
  if (path.rfind("/openapi/v3/", 0) == 0) return I.OpenApiGroupVersion(path.substr(12));
  if (path == "/openapi/v2")
    return Impl::StatusReply(404, "NotFound", "the server could not find the requested resource");
  if (path == "/healthz" || path == "/readyz" || path == "/livez") return Impl::Ok("ok");

  // /api/v1/... or /apis/G/V/...
  size_t i = 0;
  std::string group, version;
  if (!seg.empty() && seg[0] == "api" && seg.size() >= 2) {
    version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    version = seg[2];
    i = 3;
  } else {
    return Impl::StatusReply(404, "NotFound", "the server could not find the requested resource");
  }
  std::string ns;
  if (i + 1 < seg.size() && seg[i] == "namespaces" && i + 2 < seg.size()) {
    ns = seg[i + 1];
    i += 2;
  }
  if (i >= seg.size())
    return Impl::StatusReply(404, "NotFound", "the server could not find the requested resource");
  auto tit = I.types.find(group + "/" + seg[i]);
  if (tit == I.types.end() || tit->second.version != version)
    return Impl::StatusReply(404, "NotFound", "the server could not find the requested resource");
  const Type& t = tit->second;
  const std::string name = i + 1 < seg.size() ? seg[i + 1] : "";
  const bool status_path = i + 2 < seg.size() && seg[i + 2] == "status";
  if (i + 2 < seg.size() && (!status_path || !t.status))
    return Impl::StatusReply(404, "NotFound", "the server could not find the requested resource");
  // RBAC's verb for the request, as the API server's authorizer derives it.
  const bool watching = q.count("watch") && q["watch"] != "0" && q["watch"] != "false";
  const std::string verb = req.method == "GET"      ? (!name.empty() ? "get"
                                                       : watching    ? "watch"
                                                                     : "list")
                           : req.method == "POST"   ? "create"
                           : req.method == "PUT"    ? "update"
                           : req.method == "PATCH"  ? "patch"
                           : req.method == "DELETE" ? "delete"
                                                    : req.method;
  const std::string resource = t.plural + (status_path ? "/status" : "");
  if (!I.options.audit_log.empty()) {
    std::ofstream(I.options.audit_log, std::ios::app)
        << verb << ' ' << (t.group.empty() ? "\"\"" : t.group) << ' ' << resource << ' '
        << (ns.empty() ? "-" : ns) << ' '
        << (req.Header("user-agent").empty()
                ? "-"
                : req.Header("user-agent").substr(0, req.Header("user-agent").find(' ')))
        << ' ' << (name.empty() ? "-" : name) << ' ' << AuditTime() << '\n';
  }
  if (I.denied.count({verb, resource})) {
    // The authorizer's message (k8s.io/apiserver's forbidden()), with the test's service account.
    const std::string who =
        "User \"system:serviceaccount:netconverge:netconverge\" cannot " + verb + " resource \"" +
        resource + "\" in API group \"" + t.group + "\"" +
        (ns.empty() ? " at the cluster scope" : " in the namespace \"" + ns + "\"");
    return Impl::StatusReply(
        403, "Forbidden",
        t.Qualified() + (name.empty() ? "" : " \"" + name + "\"") + " is forbidden: " + who,
        Impl::Details(t, name));
  }
  // dryRun=All: everything is checked and the would-be object returned, nothing is stored.
  if (q.count("dryRun") && q["dryRun"] != "All")
    return Impl::StatusReply(
        400, "BadRequest",
        "dryRun: Unsupported value: \"" + q["dryRun"] + "\": supported values: \"All\"");
  bool dry_run = q.count("dryRun") > 0;
  auto& store = I.objects[t.Key()];
  const bool table = req.Header("accept").find("as=Table") != std::string::npos;
  auto not_found = [&] {
    return Impl::StatusReply(404, "NotFound", t.Qualified() + " \"" + name + "\" not found",
                             Impl::Details(t, name));
  };
  const std::string fs = q.count("fieldSelector") ? q["fieldSelector"] : "";
  const std::string ls = q.count("labelSelector") ? q["labelSelector"] : "";

  // ---- reads ----
  if (req.method == "GET" && name.empty()) {
    const bool watch =
        q.count("watch") && q["watch"] != "0" && q["watch"] != "false" && q["watch"] != "False";
    if (!watch) {
      std::vector<const std::string*> items;
      std::string body;
      for (const auto& [key, json] : store) {
        if (!ns.empty() && key.first != ns) continue;
        Document d;
        d.Parse(json.c_str(), json.size());
        if (!Impl::Matches(d, fs, ls)) continue;
        items.push_back(&json);
        body += (body.empty() ? "" : ",") + json;
      }
      if (table) return Impl::Ok(I.Table(t, items));
      return Impl::Ok("{\"apiVersion\":\"" + t.GroupVersion() + "\",\"kind\":\"" + t.list_kind +
                      "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(I.rv) +
                      "\"},\"items\":[" + body + "]}");
    }
    // WATCH.
    const std::string from = q.count("resourceVersion") ? q["resourceVersion"] : "";
    const bool bookmarks = q.count("allowWatchBookmarks") && q["allowWatchBookmarks"] != "false";
    const int timeout_s = q.count("timeoutSeconds") ? std::atoi(q["timeoutSeconds"].c_str()) : 1800;
    HttpReply r;
    r.content_type = "application/json";
    const std::string type_key = t.Key();
    const std::string gv = t.GroupVersion();
    const std::string kind = t.kind;
    r.stream = [this, type_key, gv, kind, ns, fs, ls, from, bookmarks,
                timeout_s](const std::function<bool(const std::string&)>& write) {
      auto& W = *impl_;
      std::unique_lock wl(W.mu);
      while (W.watches_paused && !W.shutdown) W.cv.wait_for(wl, std::chrono::milliseconds(50));
      const int epoch = W.drop_epoch;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
      int64_t last = 0;
      std::vector<std::string> out;
      auto matches = [&](const std::string& json, const std::string& ens) {
        if (!ns.empty() && ens != ns) return false;
        Document d;
        d.Parse(json.c_str(), json.size());
        return Impl::Matches(d, fs, ls);
      };
      if (from.empty() || from == "0") {
        for (const auto& [key, json] : W.objects[type_key])
          if (matches(json, key.first))
            out.push_back("{\"type\":\"ADDED\",\"object\":" + json + "}\n");
        last = W.rv;
      } else {
        last = std::atoll(from.c_str());
        if (last < W.unavailable_through) {
          const std::string err =
              "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
              "\"metadata\":{},\"status\":"
              "\"Failure\",\"message\":\"too old resource version: " +
              from + " (" + std::to_string(W.unavailable_through + 1) +
              ")\",\"reason\":\"Expired\",\"code\":410}}\n";
          wl.unlock();
          write(err);
          return;
        }
      }
      auto next_bookmark = std::chrono::steady_clock::now() +
                           std::chrono::milliseconds(W.options.bookmark_interval_ms);
      while (true) {
        for (const auto& e : W.history)
          if (e.rv > last && e.type_key == type_key && matches(e.json, e.ns))
            out.push_back("{\"type\":\"" + e.kind + "\",\"object\":" + e.json + "}\n");
        if (!W.history.empty()) last = std::max(last, W.history.back().rv);
        if (bookmarks && std::chrono::steady_clock::now() >= next_bookmark) {
          out.push_back("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" + kind +
                        "\",\"apiVersion\":\"" + gv + "\",\"metadata\":{\"resourceVersion\":\"" +
                        std::to_string(W.rv) + "\"}}}\n");
          next_bookmark = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(W.options.bookmark_interval_ms);
        }
        if (!out.empty()) {
          auto batch = std::move(out);
          out.clear();
          wl.unlock();
          for (const auto& line : batch)
            if (!write(line)) return;
          wl.lock();
          continue;
        }
        if (W.shutdown || W.drop_epoch != epoch || std::chrono::steady_clock::now() >= deadline)
          return;
        W.cv.wait_for(wl, std::chrono::milliseconds(200));
        if (!write("")) return;  // notices a client that went away (an empty chunk is not sent)
      }
    };
    return r;
  }
  if (req.method == "GET") {
    auto it = store.find({ns, name});
    if (it == store.end()) return not_found();
    if (table) return Impl::Ok(I.Table(t, {&it->second}));
    return Impl::Ok(it->second);
  }

  // ---- writes ----
  const std::string validation = q.count("fieldValidation") ? q["fieldValidation"] : "Warn";
  std::vector<std::string> warnings;
  auto validate = [&](Document& d, bool strict_is_400,
                      const std::string& oname) -> std::optional<HttpReply> {
    if (Str(d, "apiVersion") != t.GroupVersion() || Str(d, "kind") != t.kind)
      return Impl::StatusReply(400, "BadRequest",
                               "the object's apiVersion/kind (" + Str(d, "apiVersion") + ", " +
                                   Str(d, "kind") + ") does not match " + t.GroupVersion() + ", " +
                                   t.kind);
    if (!t.schema) return std::nullopt;
    std::vector<Problem> bad;
    std::vector<std::string> unknown;
    Validate(d, *t.schema, "", bad, unknown, validation != "Strict", d.GetAllocator());
    if (!unknown.empty() && validation == "Strict") {
      std::string msg = t.kind + " in version \"" + t.version + "\" cannot be handled as a " +
                        t.kind + ": strict decoding error: ";
      for (size_t k = 0; k < unknown.size(); ++k)
        msg += (k ? ", " : "") + std::string("unknown field \"") + unknown[k] + "\"";
      if (strict_is_400) return Impl::StatusReply(400, "BadRequest", msg);
      bad.push_back({"patch", msg});
    }
    for (const auto& u : unknown) warnings.push_back("unknown field \"" + u + "\"");
    if (bad.empty()) return std::nullopt;
    std::string causes, msg = t.kind + "." + t.group + " \"" + oname + "\" is invalid: ";
    for (size_t k = 0; k < bad.size(); ++k) {
      causes += (k ? "," : "") + std::string("{\"reason\":\"") + bad[k].reason +
                "\",\"message\":" + Quote(bad[k].message) + ",\"field\":" + Quote(bad[k].field) +
                "}";
      msg += (k ? ", " : "") + bad[k].field + ": " + bad[k].message;
    }
    return Impl::StatusReply(422, "Invalid", msg,
                             Impl::Details(t, oname, ",\"causes\":[" + causes + "]"));
  };
  auto with_warnings = [&](HttpReply r) {
    for (const auto& w : warnings) r.headers.push_back({"Warning", "299 - " + Quote(w)});
    return r;
  };
  auto set_meta = [](Document& d, const char* key, const std::string& value) {
    Value& meta = d["metadata"];
    meta.RemoveMember(key);
    meta.AddMember(Value(key, d.GetAllocator()), Value(value.c_str(), d.GetAllocator()),
                   d.GetAllocator());
  };
  auto store_object = [&](Document& d, const std::string& event, const std::string& oname) {
    if (t.kind == "Secret") FoldStringData(d);
    if (dry_run) return Json(d);
    ++I.rv;
    set_meta(d, "resourceVersion", std::to_string(I.rv));
    const std::string json = Json(d);
    store[{ns, oname}] = json;
    I.Record(t, ns, oname, event, json);
    return json;
  };
  auto remove_object = [&](Document& d, const std::string& oname) {
    if (dry_run) return Json(d);
    ++I.rv;
    set_meta(d, "resourceVersion", std::to_string(I.rv));
    const std::string json = Json(d);
    store.erase({ns, oname});
    I.Record(t, ns, oname, "DELETED", json);
    return json;
  };

  if (req.Header("content-type").find("protobuf") != std::string::npos)
    return Impl::StatusReply(415, "UnsupportedMediaType",
                             "kube-sim serves JSON only (no protobuf)");
  if (req.method == "POST" && name.empty()) {
    Document d;
    d.Parse(req.body.c_str(), req.body.size());
    if (d.HasParseError() || !d.IsObject())
      return Impl::StatusReply(400, "BadRequest", "the body of the request was not valid JSON");
    if (!Member(d, "metadata") || !d["metadata"].IsObject())
      d.AddMember("metadata", Value(rapidjson::kObjectType), d.GetAllocator());
    std::string oname = Str(d["metadata"], "name");
    if (oname.empty() && !Str(d["metadata"], "generateName").empty())
      oname = Str(d["metadata"], "generateName") + RandomHex(5);
    if (oname.empty())
      return Impl::StatusReply(
          422, "Invalid",
          t.Qualified() +
              " \"\" is invalid: metadata.name: Required value: name or generateName is required");
    const std::string body_ns = Str(d["metadata"], "namespace");
    if (!body_ns.empty() && body_ns != ns)
      return Impl::StatusReply(
          400, "BadRequest",
          "the namespace of the provided object does not match the namespace sent on the request");
    if (store.count({ns, oname}))
      return Impl::StatusReply(409, "AlreadyExists",
                               t.Qualified() + " \"" + oname + "\" already exists",
                               Impl::Details(t, oname));
    if (auto bad = validate(d, true, oname)) return *bad;
    if (t.status) d.RemoveMember("status");
    set_meta(d, "name", oname);
    if (t.namespaced) set_meta(d, "namespace", ns);
    set_meta(d, "uid",
             RandomHex(8) + "-" + RandomHex(4) + "-" + RandomHex(4) + "-" + RandomHex(4) + "-" +
                 RandomHex(12));
    set_meta(d, "creationTimestamp", NowRfc3339());
    d["metadata"].RemoveMember("generation");
    d["metadata"].AddMember("generation", 1, d.GetAllocator());
    return with_warnings(Impl::Ok(store_object(d, "ADDED", oname), 201));
  }
  if (name.empty())
    return Impl::StatusReply(405, "MethodNotAllowed",
                             "the server does not allow this method on the requested resource");
  auto it = store.find({ns, name});

  if (req.method == "DELETE") {
    if (it == store.end()) return not_found();
    Document d;
    d.Parse(it->second.c_str(), it->second.size());
    Document opts;
    if (!req.body.empty()) opts.Parse(req.body.c_str(), req.body.size());
    // kubectl delete --dry-run=server sends DeleteOptions {"dryRun": ["All"]} in the body.
    if (opts.IsObject())
      if (const Value* dr = Member(opts, "dryRun"); dr && dr->IsArray())
        for (const auto& v : dr->GetArray())
          dry_run = dry_run || (v.IsString() && std::string(v.GetString()) == "All");
    if (opts.IsObject())
      if (const Value* pre = Member(opts, "preconditions")) {
        if (!Str(*pre, "resourceVersion").empty() &&
            Str(*pre, "resourceVersion") != Str(d["metadata"], "resourceVersion"))
          return Impl::StatusReply(
              409, "Conflict",
              "Operation cannot be fulfilled on " + t.Qualified() + " \"" + name +
                  "\": the ResourceVersion in the precondition does not match");
        if (!Str(*pre, "uid").empty() && Str(*pre, "uid") != Str(d["metadata"], "uid"))
          return Impl::StatusReply(409, "Conflict",
                                   "Operation cannot be fulfilled on " + t.Qualified() + " \"" +
                                       name + "\": the UID in the precondition does not match");
      }
    const Value* fins = Member(d["metadata"], "finalizers");
    if (fins && fins->IsArray() && fins->Size() > 0) {
      if (Str(d["metadata"], "deletionTimestamp").empty()) {
        set_meta(d, "deletionTimestamp", NowRfc3339());
        d["metadata"].RemoveMember("deletionGracePeriodSeconds");
        d["metadata"].AddMember("deletionGracePeriodSeconds", 0, d.GetAllocator());
        const int64_t gen =
            Member(d["metadata"], "generation") ? d["metadata"]["generation"].GetInt64() : 1;
        d["metadata"]["generation"].SetInt64(gen + 1);
        return Impl::Ok(store_object(d, "MODIFIED", name));
      }
      return Impl::Ok(it->second);
    }
    const std::string uid = Str(d["metadata"], "uid");
    remove_object(d, name);
    return Impl::Ok(
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\","
        "\"details\":{\"name\":" +
        Quote(name) + ",\"group\":" + Quote(t.group) + ",\"kind\":" + Quote(t.plural) +
        ",\"uid\":" + Quote(uid) + "}}");
  }

  if (req.method != "PUT" && req.method != "PATCH")
    return Impl::StatusReply(405, "MethodNotAllowed",
                             "the server does not allow this method on the requested resource");
  Document body;
  const std::string ctype =
      req.Header("content-type").substr(0, req.Header("content-type").find(';'));
  const bool apply = req.method == "PATCH" && ctype == "application/apply-patch+yaml";
  if (apply) {
    try {
      FromYaml(YAML::Load(req.body), body, body.GetAllocator());
    } catch (const YAML::Exception& e) {
      return Impl::StatusReply(400, "BadRequest", std::string("error decoding YAML: ") + e.what());
    }
    if (!q.count("fieldManager") || q["fieldManager"].empty())
      return Impl::StatusReply(422, "Invalid",
                               "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                               "value: is required for apply patch");
  } else {
    if (req.method == "PATCH" && ctype != "application/merge-patch+json")
      return Impl::StatusReply(
          415, "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: "
          "application/merge-patch+json, application/apply-patch+yaml");
    body.Parse(req.body.c_str(), req.body.size());
  }
  if (body.HasParseError() || !body.IsObject())
    return Impl::StatusReply(400, "BadRequest", "the body of the request was not a JSON object");
  if (it == store.end()) {
    if (!apply || status_path) return not_found();
    // Server-side apply creates a missing object.
    if (!Member(body, "metadata") || !body["metadata"].IsObject())
      body.AddMember("metadata", Value(rapidjson::kObjectType), body.GetAllocator());
    set_meta(body, "name", name);
    if (auto bad = validate(body, true, name)) return *bad;
    if (t.status) body.RemoveMember("status");
    if (t.namespaced) set_meta(body, "namespace", ns);
    set_meta(body, "uid",
             RandomHex(8) + "-" + RandomHex(4) + "-" + RandomHex(4) + "-" + RandomHex(4) + "-" +
                 RandomHex(12));
    set_meta(body, "creationTimestamp", NowRfc3339());
    body["metadata"].AddMember("generation", 1, body.GetAllocator());
    return with_warnings(Impl::Ok(store_object(body, "ADDED", name), 201));
  }
  Document old;
  old.Parse(it->second.c_str(), it->second.size());
  const std::string old_rv = Str(old["metadata"], "resourceVersion");
  const Value* body_meta = Member(body, "metadata");
  const std::string want_rv = body_meta ? Str(*body_meta, "resourceVersion") : "";
  if (req.method == "PUT" && want_rv.empty())
    return Impl::StatusReply(422, "Invalid",
                             t.Qualified() + " \"" + name +
                                 "\" is invalid: metadata.resourceVersion: Invalid value: 0: must "
                                 "be specified for an update");
  if (!want_rv.empty() && want_rv != old_rv)
    return Impl::StatusReply(409, "Conflict",
                             "Operation cannot be fulfilled on " + t.Qualified() + " \"" + name +
                                 "\": the object has been modified; please apply your changes to "
                                 "the latest version and try again",
                             Impl::Details(t, name));
  Document d;
  if (status_path) {
    // Only status changes through /status.
    d.CopyFrom(old, d.GetAllocator());
    const Value* st = Member(body, "status");
    if (req.method == "PUT") {
      d.RemoveMember("status");
      if (st) d.AddMember("status", Value(*st, d.GetAllocator()), d.GetAllocator());
    } else if (st) {
      if (!Member(d, "status"))
        d.AddMember("status", Value(rapidjson::kObjectType), d.GetAllocator());
      MergePatch(d["status"], *st, d.GetAllocator());
    }
  } else {
    if (req.method == "PUT") {
      d.CopyFrom(body, d.GetAllocator());
    } else {
      d.CopyFrom(old, d.GetAllocator());
      MergePatch(d, body, d.GetAllocator());
    }
    if (!Member(d, "metadata") || !d["metadata"].IsObject()) {
      d.RemoveMember("metadata");
      d.AddMember("metadata", Value(rapidjson::kObjectType), d.GetAllocator());
    }
    // The server keeps its own fields, and the status of a kind with a status subresource.
    for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation", "namespace", "name"}) {
      d["metadata"].RemoveMember(k);
      if (const Value* ov = Member(old["metadata"], k))
        d["metadata"].AddMember(Value(k, d.GetAllocator()), Value(*ov, d.GetAllocator()),
                                d.GetAllocator());
    }
    if (t.status) {
      d.RemoveMember("status");
      if (const Value* os = Member(old, "status"))
        d.AddMember("status", Value(*os, d.GetAllocator()), d.GetAllocator());
    }
    if (auto bad = validate(d, false, name)) return *bad;
  }
  // Finalizers may only be removed once deletion started.
  if (!Str(old["metadata"], "deletionTimestamp").empty()) {
    std::set<std::string> before;
    if (const Value* f = Member(old["metadata"], "finalizers"))
      for (const auto& x : f->GetArray()) before.insert(x.GetString());
    if (const Value* f = Member(d["metadata"], "finalizers"))
      for (const auto& x : f->GetArray())
        if (!before.count(x.GetString()))
          return Impl::StatusReply(422, "Invalid",
                                   t.Qualified() + " \"" + name +
                                       "\" is invalid: metadata.finalizers: Forbidden: no new "
                                       "finalizers can be added if the object is being deleted");
  }
  // generation follows everything but metadata (and status, behind a status subresource).
  auto content = [&](const Document& x) {
    Document c;
    c.CopyFrom(x, c.GetAllocator());
    c.RemoveMember("metadata");
    if (t.status) c.RemoveMember("status");
    return Json(c);
  };
  if (!status_path && content(d) != content(old)) {
    const int64_t gen =
        Member(old["metadata"], "generation") ? old["metadata"]["generation"].GetInt64() : 1;
    d["metadata"].RemoveMember("generation");
    d["metadata"].AddMember("generation", gen + 1, d.GetAllocator());
  }
  set_meta(d, "resourceVersion", old_rv);
  if (t.kind == "Secret") FoldStringData(d);
  if (Json(d) == it->second)
    return with_warnings(Impl::Ok(it->second));  // a no-op write: no new version, no event
  const Value* fins = Member(d["metadata"], "finalizers");
  if (!Str(d["metadata"], "deletionTimestamp").empty() &&
      (!fins || !fins->IsArray() || fins->Size() == 0))
    return with_warnings(Impl::Ok(remove_object(d, name)));
  return with_warnings(Impl::Ok(store_object(d, "MODIFIED", name)));
}

}  // namespace nc::sim
