#include "controller/source/kube_source.hpp"
#include "controller/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sys/time.h>
#include <time.h>

#include <utility>

#include "controller/api/v1alpha1/yaml_codec.hpp"
#include "controller/core/conditions.hpp"
#include "controller/core/encoding.hpp"
#include "controller/core/json_writer.hpp"
#include "controller/runtime/clock.hpp"

namespace nc::source {

namespace {

using rapidjson::Document;
using rapidjson::Value;

std::string Json(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

/// An object without what changes on every write that is not ours to act on (status,
/// resourceVersion, managedFields).
std::string Signature(const std::string& json) {
  Document d;
  if (!core::ParseJson(d, json) || !d.IsObject()) return json;
  d.RemoveMember("status");
  if (d.HasMember("metadata") && d["metadata"].IsObject()) {
    d["metadata"].RemoveMember("resourceVersion");
    d["metadata"].RemoveMember("managedFields");
  }
  return Json(d);
}

bool HasFinalizer(const Value& meta) {
  if (const Value* f = core::JsonMember(meta, "finalizers"); f && f->IsArray())
    for (const auto& x : f->GetArray())
      if (x.IsString() && std::string(x.GetString()) == kFinalizer) return true;
  return false;
}

/// The merge patch that sets the finalizers of `meta` with ours added (or removed); null when
/// none is left.
std::string FinalizersPatch(const Value& meta, bool ours) {
  std::vector<std::string> keep;
  if (const Value* f = core::JsonMember(meta, "finalizers"); f && f->IsArray())
    for (const auto& x : f->GetArray())
      if (x.IsString() && std::string(x.GetString()) != kFinalizer)
        keep.emplace_back(x.GetString());
  if (ours) keep.emplace_back(kFinalizer);
  core::JsonWriter w;
  w.Object().Key("metadata").Object().Key("finalizers");
  if (keep.empty()) {
    w.Null();
  } else {
    w.Array();
    for (const auto& k : keep) w.String(k);
    w.End();
  }
  return w.End().End().str();
}

/// status.conditions with lastTransitionTime kept from `old` where the status did not flip.
void WriteConditions(core::JsonWriter& w, const std::vector<core::Condition>& conds,
                     const Value* old_status, int64_t generation) {
  w.Key("conditions").Array();
  for (const auto& c : conds) {
    std::string when = runtime::FormatUtc(std::chrono::system_clock::now());
    if (old_status)
      if (const Value* oc = core::JsonMember(*old_status, "conditions"); oc && oc->IsArray())
        for (const auto& o : oc->GetArray())
          if (core::JsonStr(o, "type") == c.type && core::JsonStr(o, "status") == c.status &&
              !core::JsonStr(o, "lastTransitionTime").empty())
            when = core::JsonStr(o, "lastTransitionTime");
    w.Object()
        .Str("type", c.type)
        .Str("status", c.status)
        .Str("reason", c.reason)
        .Str("message", c.message);
    w.Str("lastTransitionTime", when).Num("observedGeneration", generation).End();
  }
  w.End();
}

}  // namespace

KubeSource::KubeSource(kube::KubeConfig config, core::ServiceTable services,
                       std::function<void(const std::vector<std::string>&)> on_change)
    : config_(std::move(config)),
      services_(std::move(services)),
      on_change_(std::move(on_change)),
      client_(config_),
      write_client_(config_) {
  for (auto [kind, plural] :
       {std::pair{"Device", "devices"}, std::pair{"PortForward", "portforwards"},
        std::pair{"VlanInterface", "vlaninterfaces"}}) {
    Kind k;
    k.kind = kind;
    k.plural = plural;
    k.reflector = std::make_unique<kube::Reflector>(
        config_, Path(plural),
        [this, kind = std::string(kind)](const std::string& type,
                                         const kube::Reflector::Object& obj) {
          // Our own status writes come back as MODIFIED events: they refresh the cached object but
          // do not rebuild the desired state, which depends on everything but status.
          const std::string id = kind + "/" + obj.ns + "/" + obj.name;
          const std::string signature = type == "DELETED" ? std::string() : Signature(obj.json);
          std::lock_guard lk(mu_);
          if (type == "DELETED") {
            objects_.erase(id);
            signatures_.erase(id);
            dirty_ = true;
          } else {
            objects_[id] = obj.json;
            if (auto& s = signatures_[id]; s != signature) {
              s = signature;
              dirty_ = true;
            }
          }
          cv_.notify_all();
        });
    kinds_.push_back(std::move(k));
  }
}

KubeSource::~KubeSource() {
  Stop();
}

std::string KubeSource::Path(const std::string& plural, const std::string& name) const {
  return "/apis/netconverge.io/v1alpha1/namespaces/" + config_.ns + "/" + plural +
         (name.empty() ? "" : "/" + name);
}

void KubeSource::Start() {
  write_thread_ = std::thread([this] { DrainWrites(); });
  for (auto& k : kinds_) k.thread = std::thread([r = k.reflector.get()] { r->Run(); });
  builder_ = std::thread([this] {
    while (!stop_) {
      {
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, std::chrono::milliseconds(200), [&] { return dirty_ || stop_.load(); });
        if (stop_ || !dirty_ || !Synced()) continue;
        dirty_ = false;
      }
      Rebuild();
    }
  });
}

void KubeSource::Stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  for (auto& k : kinds_) k.reflector->Stop();
  for (auto& k : kinds_)
    if (k.thread.joinable()) k.thread.join();
  if (builder_.joinable()) builder_.join();
  // The last passes' status goes out before the process ends (bounded: a hung API server must
  // not hold a stop).
  (void)Flush(std::chrono::seconds(5));
  {
    std::lock_guard lk(write_mu_);
    writes_stop_ = true;
    pending_.clear();  // what did not go within the flush is rewritten by the next process
    write_order_.clear();
  }
  write_cv_.notify_all();
  if (write_thread_.joinable()) write_thread_.join();
}

KubeSource::Queued KubeSource::Enqueue(PendingWrite w, bool coalesce) {
  if (!writer_) return {};
  Queued q{1, 0};
  {
    std::lock_guard lk(write_mu_);
    std::string key = coalesce ? w.path : "#" + std::to_string(++write_seq_);
    if (auto it = pending_.find(key); it != pending_.end()) {
      it->second = std::move(w);  // keeps its place in the queue; the newer content goes
      q.coalesced = 1;
    } else {
      pending_.emplace(key, std::move(w));
      write_order_.push_back(std::move(key));
    }
  }
  write_cv_.notify_all();
  return q;
}

void KubeSource::DrainWrites() {
  std::unique_lock lk(write_mu_);
  for (;;) {
    write_cv_.wait(lk, [this] { return writes_stop_ || !write_order_.empty(); });
    if (write_order_.empty()) return;  // stopping, nothing left
    // The turn first, then the pick: what waited for the rate limiter meanwhile was coalesced,
    // and the write that goes carries the newest status.
    ++writing_;
    lk.unlock();
    write_client_.WaitTurn();
    lk.lock();
    --writing_;
    if (write_order_.empty()) continue;  // dropped meanwhile (a standby)
    const std::string key = std::move(write_order_.front());
    write_order_.pop_front();
    auto node = pending_.extract(key);
    ++writing_;
    lk.unlock();
    if (writer_ && !node.empty()) Write(node.mapped());  // a standby sends nothing
    lk.lock();
    --writing_;
    write_cv_.notify_all();
  }
}

bool KubeSource::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lk(write_mu_);
  return write_cv_.wait_for(lk, timeout, [this] { return write_order_.empty() && writing_ == 0; });
}

void KubeSource::SetWriter(bool writer) {
  writer_ = writer;
  if (!writer) {
    std::lock_guard lk(write_mu_);
    pending_.clear();
    write_order_.clear();
  }
  std::lock_guard lk(mu_);
  dirty_ = true;  // a new leader adds what a standby left out
  cv_.notify_all();
}

bool KubeSource::Synced() const {
  for (const auto& k : kinds_)
    if (!k.reflector->Synced()) return false;
  return true;
}

std::shared_ptr<const core::DesiredState> KubeSource::Desired() const {
  std::lock_guard lk(mu_);
  return desired_;
}

std::vector<api::Problem> KubeSource::Problems() const {
  std::lock_guard lk(mu_);
  return problems_;
}

namespace {

/// What the codec reads of a Kubernetes object: the manifest fields (server-set metadata is not
/// part of it).
std::string CleanManifest(const Document& d) {
  const auto& meta = d["metadata"];
  core::JsonWriter clean;
  clean.Object()
      .Str("apiVersion", core::JsonStr(d, "apiVersion"))
      .Str("kind", core::JsonStr(d, "kind"));
  clean.Key("metadata")
      .Object()
      .Str("name", core::JsonStr(meta, "name"))
      .Str("namespace", core::JsonStr(meta, "namespace"));
  for (const char* m : {"labels", "annotations", "generation"})
    if (const Value* v = core::JsonMember(meta, m)) clean.Key(m).Copy(*v);
  clean.End();
  if (const Value* spec = core::JsonMember(d, "spec")) clean.Key("spec").Copy(*spec);
  clean.End();
  return clean.str();
}

std::string PluralOf(const std::string& kind) {
  return kind == "Device" ? "devices" : kind == "PortForward" ? "portforwards" : "vlaninterfaces";
}

}  // namespace

/// Everything one Rebuild gathers from the caches before it publishes.
struct KubeSource::Snapshot {
  api::Manifests all;
  std::vector<api::Problem> problems;
  std::map<std::string, std::string> objects;  // "Kind/ns/name" -> JSON
  std::map<std::string, std::string> invalid;  // "Kind/ns/name" -> problem text
  std::map<std::string, std::string> held;     // device key -> why
  std::vector<std::pair<std::string, std::string>> need_finalizer;  // (plural, name)
  std::map<std::string, std::string> finalizer_json;                // "plural/name" -> patch
  std::set<std::string> orphaned;
  std::map<std::string, std::string> device_of;     // "Kind/ns/name" -> its device's key
  std::map<std::string, std::string> shard_labels;  // device key -> its label's text
};

void KubeSource::Collect(const Kind& k, const std::string& ns, const std::string& name,
                         const std::string& json, Snapshot& snap) {
  Document d;
  if (!core::ParseJson(d, json) || !core::JsonMember(d, "metadata")) return;
  const auto& meta = d["metadata"];
  const std::string id = k.kind + "/" + ns + "/" + name;
  snap.objects[id] = json;
  if (k.kind == "Device") {
    snap.device_of[id] = ns + "/" + name;
    if (const Value* labels = core::JsonMember(meta, "labels"))
      if (const Value* l = core::JsonMember(*labels, core::kShardLabel); l && l->IsString())
        snap.shard_labels[ns + "/" + name] = l->GetString();
  } else if (const Value* spec = core::JsonMember(d, "spec");
             spec && !core::JsonStr(*spec, "deviceRef").empty()) {
    snap.device_of[id] = ns + "/" + core::JsonStr(*spec, "deviceRef");
  }
  if (!core::JsonStr(meta, "deletionTimestamp").empty()) {  // being deleted: no longer desired
    if (const Value* spec = core::JsonMember(d, "spec");
        spec && core::JsonStr(*spec, "deletionPolicy") == "Orphan")
      snap.orphaned.insert(ns + "/" + name);
    return;
  }
  if (k.kind != "Device" && !HasFinalizer(meta)) {
    snap.need_finalizer.emplace_back(k.plural, name);
    snap.finalizer_json[k.plural + "/" + name] = FinalizersPatch(meta, true);
  }
  auto decoded = api::DecodeManifests(CleanManifest(d), "kube:" + id);
  if (!decoded.problems.empty()) {
    std::string text;
    for (const auto& p : decoded.problems) text += (text.empty() ? "" : "; ") + p.ToString();
    snap.invalid[id] = text;
    snap.problems.insert(snap.problems.end(), decoded.problems.begin(), decoded.problems.end());
    if (const Value* spec = core::JsonMember(d, "spec");
        spec && !core::JsonStr(*spec, "deviceRef").empty())
      snap.held[ns + "/" + core::JsonStr(*spec, "deviceRef")] =
          k.kind + " " + ns + "/" + name + " is invalid";
    return;
  }
  auto& all = snap.all;
  for (auto& x : decoded.manifests.devices) all.devices.push_back(std::move(x));
  for (auto& x : decoded.manifests.port_forwards) all.port_forwards.push_back(std::move(x));
  for (auto& x : decoded.manifests.vlan_interfaces) all.vlan_interfaces.push_back(std::move(x));
}

void KubeSource::Rebuild() {
  Snapshot snap;
  for (auto& k : kinds_)
    for (const auto& [key, obj] : k.reflector->Cache())
      Collect(k, key.first, key.second, obj.json, snap);
  auto v = core::Validate(snap.all, services_);
  for (const auto& p : v.problems) {
    auto& text = snap.invalid[p.kind + "/" + p.object];
    text += (text.empty() ? "" : "; ") + p.ToString();
    snap.problems.push_back(p);
    for (const auto& pf : snap.all.port_forwards)
      if ("PortForward" == p.kind && pf.meta.Key() == p.object)
        snap.held[pf.meta.ns + "/" + pf.spec.device_ref] = p.kind + " " + p.object + " is invalid";
    for (const auto& vi : snap.all.vlan_interfaces)
      if ("VlanInterface" == p.kind && vi.meta.Key() == p.object)
        snap.held[vi.meta.ns + "/" + vi.spec.device_ref] = p.kind + " " + p.object + " is invalid";
  }
  auto desired = std::make_shared<core::DesiredState>(std::move(v.desired));
  for (const auto& [dev, why] : snap.held)
    desired->held_deletes[dev] = why + "; deletions are held until it is fixed";
  desired->orphaned = snap.orphaned;
  for (auto& p : core::KeepShard(*desired, shard_)) {
    auto& text = snap.invalid[p.kind + "/" + p.object];
    text += (text.empty() ? "" : "; ") + p.ToString();
    snap.problems.push_back(std::move(p));
  }
  if (shard_.sharded()) {  // another shard's problems are its own to report
    std::erase_if(snap.problems, [&](const api::Problem& p) {
      return !p.kind.empty() && !Owned(snap, p.kind + "/" + p.object);
    });
    std::erase_if(snap.invalid, [&](const auto& e) { return !Owned(snap, e.first); });
  }
  std::map<std::string, std::string> newly_invalid;
  const std::vector<std::string> changed = Publish(desired, snap, newly_invalid);
  if (writer_) WriteBack(snap, newly_invalid);
  if (!changed.empty() && on_change_) on_change_(changed);
}

std::vector<std::string> KubeSource::Publish(const std::shared_ptr<core::DesiredState>& desired,
                                             const Snapshot& snap,
                                             std::map<std::string, std::string>& newly_invalid) {
  std::vector<std::string> changed;
  std::lock_guard lk(mu_);
  desired->generation = ++generation_;
  std::map<std::string, uint64_t> fps;
  for (const auto& [key, dev] : desired->devices) {
    uint64_t fp = core::Fingerprint(dev, desired->RulesFor(key)) ^
                  (core::Fingerprint(dev, desired->VlansFor(key)) * 31);
    if (auto h = desired->held_deletes.find(key); h != desired->held_deletes.end())
      fp ^= std::hash<std::string>{}(h->second);
    for (const auto& o : desired->orphaned) fp ^= std::hash<std::string>{}("orphan:" + o);
    fps[key] = fp;
    if (!device_fingerprints_.count(key) || device_fingerprints_[key] != fp) changed.push_back(key);
  }
  device_fingerprints_ = std::move(fps);
  by_device_.clear();
  for (const auto& [id, device] : snap.device_of)
    if (id.rfind("Device/", 0) != 0) by_device_[device].push_back(id);
  desired_ = desired;
  problems_ = snap.problems;
  for (const auto& [id, text] : snap.invalid)
    if (auto it = invalid_.find(id); it == invalid_.end() || it->second != text)
      newly_invalid[id] = text;
  invalid_ = snap.invalid;
  objects_ = snap.objects;
  return changed;
}

bool KubeSource::Owned(const Snapshot& snap, const std::string& id) const {
  if (!shard_.sharded()) return true;
  auto d = snap.device_of.find(id);
  const std::string device = d == snap.device_of.end() ? std::string() : d->second;
  auto l = snap.shard_labels.find(device);
  const int shard =
      core::ShardOfKey(device, l == snap.shard_labels.end() ? nullptr : &l->second, shard_.count);
  return shard_.ReportsFor(shard);
}

// Writes queued outside the lock: events on newly invalid objects, finalizers on new rule
// resources, conditions on invalid objects (the caller filtered `invalid` to this shard).
void KubeSource::WriteBack(const Snapshot& snap,
                           const std::map<std::string, std::string>& newly_invalid) {
  for (const auto& [id, text] : newly_invalid) {
    if (!Owned(snap, id)) continue;
    const auto s1 = id.find('/');
    const auto s2 = id.find('/', s1 + 1);
    PostEvent(id.substr(0, s1), id.substr(s1 + 1, s2 - s1 - 1), id.substr(s2 + 1), "Warning",
              "InvalidSpec", text + " (nothing is deleted while it is invalid)");
  }
  // A finalizer asked for is asked again only if it has not shown up in the cache within 30 s
  // (a refused or lost write): the writes wait for the rate limiter, and every rebuild meanwhile
  // would otherwise ask again.
  const auto now = std::chrono::steady_clock::now();
  std::map<std::string, std::chrono::steady_clock::time_point> asked;
  for (const auto& [plural, name] : snap.need_finalizer) {
    const std::string kind = plural == "portforwards" ? "PortForward" : "VlanInterface";
    const std::string id = kind + "/" + config_.ns + "/" + name;
    if (!Owned(snap, id)) continue;
    if (auto it = finalizer_asked_.find(id);
        it != finalizer_asked_.end() && now - it->second < std::chrono::seconds(30)) {
      asked.insert(*it);
      continue;
    }
    if (Enqueue({"PATCH", Path(plural, name), "application/merge-patch+json",
                 snap.finalizer_json.at(plural + "/" + name),
                 "the finalizer of " + plural + "/" + name},
                true)
            .writes > 0)
      asked[id] = now;
  }
  finalizer_asked_ = std::move(asked);
  for (const auto& [id, text] : snap.invalid) {
    const auto slash1 = id.find('/');
    const auto slash2 = id.find('/', slash1 + 1);
    Document d;
    if (auto it = snap.objects.find(id); it != snap.objects.end())
      (void)core::ParseJson(d, it->second);  // null if not JSON: checked below
    const Value* old = d.IsObject() ? core::JsonMember(d, "status") : nullptr;
    const int64_t gen = d.IsObject() && core::JsonMember(d["metadata"], "generation")
                            ? d["metadata"]["generation"].GetInt64()
                            : 0;
    core::JsonWriter status;
    status.Object().Num("observedGeneration", gen);
    WriteConditions(
        status, {{"Ready", "False", "InvalidSpec", text}, {"Synced", "False", "InvalidSpec", text}},
        old, gen);
    PatchStatus(PluralOf(id.substr(0, slash1)), id.substr(slash2 + 1), status.End().str());
  }
}

void KubeSource::Write(const PendingWrite& w) {
  // 10 s, not the client's 30: a stop waits for the write in flight.
  auto r =
      write_client_.Request(w.method, w.path, w.content_type, w.body, std::chrono::seconds(10));
  std::string error;
  if (!r)
    error = r.error().message;
  else if (r->status >= 300 && r->status != 404) {  // 404: the object went away meanwhile
    error = "the API server answered " + std::to_string(r->status) +
            (r->status == 403   ? " (RBAC: the Role does not allow it)"
             : r->status == 409 ? " (conflict; written again next pass)"
                                : "");
    // The Status object's message says which verb, resource and rule.
    Document status;
    if (core::ParseJson(status, r->body) && status.IsObject() &&
        core::JsonMember(status, "message") && status["message"].IsString())
      error += ": " + core::PrintableText(status["message"].GetString(), 512);
  }
  if (error.empty()) {
    last_write_error_.clear();
    return;
  }
  const std::string line = "cannot write " + w.what + ": " + error;
  if (line != last_write_error_ && error_log_) error_log_(line);
  last_write_error_ = line;
}

KubeSource::Queued KubeSource::PatchStatus(const std::string& plural, const std::string& name,
                                           const std::string& json_status) {
  core::JsonWriter patch;
  patch.Object().Key("status").Raw(json_status).End();
  return Enqueue({"PATCH", Path(plural, name) + "/status", "application/merge-patch+json",
                  patch.str(), "the status of " + plural + "/" + name},
                 true);
}

KubeSource::Queued KubeSource::PostEvent(const std::string& kind, const std::string& ns,
                                         const std::string& name, const std::string& type,
                                         const std::string& reason, const std::string& note) {
  if (!writer_) return {};
  std::string uid;
  {
    std::lock_guard lk(mu_);
    if (auto it = objects_.find(kind + "/" + ns + "/" + name); it != objects_.end()) {
      Document d;
      (void)core::ParseJson(d, it->second);  // null if not JSON: checked below
      if (d.IsObject() && core::JsonMember(d, "metadata"))
        uid = core::JsonStr(d["metadata"], "uid");
    }
  }
  const std::string when = kube::MicroTimeNow();
  core::JsonWriter body;
  body.Object().Str("apiVersion", "events.k8s.io/v1").Str("kind", "Event");
  body.Key("metadata").Object().Str("generateName", name + ".");
  if (shard_.sharded())
    body.Key("annotations").Object().Str(core::kShardLabel, std::to_string(shard_.index)).End();
  body.End();
  body.Str("eventTime", when)
      .Str("reportingController", "netconverge.io/controller")
      .Str("reportingInstance", instance_);
  body.Str("action", "Reconcile")
      .Str("reason", reason)
      .Str("type", type)
      .Str("note", note.substr(0, 1024));
  body.Key("regarding")
      .Object()
      .Str("apiVersion", "netconverge.io/v1alpha1")
      .Str("kind", kind)
      .Str("namespace", ns)
      .Str("name", name);
  if (!uid.empty()) body.Str("uid", uid);
  body.End().End();
  return Enqueue({"POST", "/apis/events.k8s.io/v1/namespaces/" + ns + "/events", "application/json",
                  body.str(), "an event (" + reason + ")"},
                 false);
}

KubeSource::Queued KubeSource::PostEvents(const std::string& device,
                                          const std::vector<store::Event>& events) {
  Queued q;
  const auto slash = device.find('/');
  for (const auto& e : events) {
    std::string kind = "Device", ns = device.substr(0, slash), name = device.substr(slash + 1);
    if (!e.resource.empty()) {
      const auto rs = e.resource.find('/');
      ns = e.resource.substr(0, rs);
      name = e.resource.substr(rs + 1);
      std::lock_guard lk(mu_);
      kind = objects_.count("VlanInterface/" + e.resource) ? "VlanInterface" : "PortForward";
    }
    q += PostEvent(kind, ns, name, e.type, e.reason, e.message);
  }
  return q;
}

Result<Credentials> KubeSource::SecretCredentials(const core::Device& device) {
  Result<transport::HttpResponse> r = MakeError(ErrorCode::kInternal, "");
  {
    std::lock_guard lk(client_mu_);
    r = client_.Request(
        "GET", "/api/v1/namespaces/" + device.ns + "/secrets/" + device.credentials_secret);
  }
  const std::string what = "Secret " + device.ns + "/" + device.credentials_secret;
  if (!r) return MakeError(r.error().code, what + ": " + r.error().message);
  if (r->status == 404) return MakeError(ErrorCode::kNotFound, what + " not found");
  if (r->status != 200)
    return MakeError(ErrorCode::kPermissionDenied,
                     what + ": the API server answered " + std::to_string(r->status));
  Document d;
  (void)core::ParseJson(d, r->body);  // null if not JSON: then no key is found below
  Credentials c;
  const Value* data = d.IsObject() ? core::JsonMember(d, "data") : nullptr;
  const Value* string_data = d.IsObject() ? core::JsonMember(d, "stringData") : nullptr;
  for (auto [key, out] :
       {std::pair{"apiKey", &c.api_key}, std::pair{"username", &c.username},
        std::pair{"password", &c.password}, std::pair{"privateKey", &c.private_key}}) {
    if (data && !core::JsonStr(*data, key).empty()) {
      auto decoded = core::DecodeBase64(core::JsonStr(*data, key));
      if (!decoded)
        return MakeError(ErrorCode::kInvalidArgument, what + ": data." + key + " is not base64");
      *out = *decoded;
    } else if (string_data) {
      *out = core::JsonStr(*string_data, key);
    }
  }
  return c;
}

namespace {

int64_t GenerationOf(const Document& d) {
  return d.IsObject() && core::JsonMember(d["metadata"], "generation")
             ? d["metadata"]["generation"].GetInt64()
             : int64_t{0};
}

/// The status of a Device after a pass: Ready, Reachable and Synced, then each standing
/// condition the adapter reports (e.g. UnconfirmedCommits), True with its message.
std::string DeviceStatusJson(const store::DeviceStatusRow& row, const Document& d,
                             const core::ShardSpec& shard) {
  const int64_t gen = GenerationOf(d);
  core::JsonWriter w;
  w.Object().Num("observedGeneration", gen);
  WriteConditions(w,
                  core::DeviceConditions({row.reachable, row.synced, row.message, row.conditions}),
                  core::JsonMember(d, "status"), gen);
  w.Str("transportInUse", row.transport)
      .Flag("fallbackActive", row.fallback_active)
      .Str("platformVersion", row.platform_version);
  w.StrOrNull("lastObservedTime", row.last_observed_at)
      .StrOrNull("lastAppliedTime", row.last_applied_at);
  w.Num("managedObjects", row.managed).Num("driftedObjects", row.drifted);
  if (shard.sharded()) w.Num("shard", shard.index);
  // The phase the last pass ran under and the operator's override (`netconverge phase` /
  // `fallback`): value, who, when; null (removed) when there is none.
  w.StrOrNull("management", row.management).Flag("paused", row.paused);
  const auto& o = row.override_;
  if (o && (!o->management.empty() || !o->fallback.empty())) {
    w.Key("override").Object();
    if (!o->management.empty()) w.Str("management", o->management);
    if (!o->fallback.empty()) w.Str("fallback", o->fallback);
    w.Str("by", o->updated_by).Str("time", o->updated_at).End();
  } else {
    w.Key("override").Null();
  }
  return w.End().str();
}

/// The status of a PortForward or VlanInterface from the rows of its objects.
std::string ResourceStatusJson(const std::vector<const store::PortStatusRow*>& rows,
                               const store::DeviceStatusRow& device, const Document& d,
                               bool port_forward) {
  std::vector<core::ObjectHealth> objects;
  objects.reserve(rows.size());
  for (const auto* p : rows)
    objects.push_back(
        {p->port, core::ParsePortState(p->state).value_or(core::PortState::kPending), p->message});
  const auto health =
      core::ResourceConditions(objects, device.reachable, device.message, port_forward);
  const int64_t gen = GenerationOf(d);
  core::JsonWriter w;
  w.Object().Num("observedGeneration", gen);
  WriteConditions(w, health.conditions, core::JsonMember(d, "status"), gen);
  w.Str("message", health.message);
  if (port_forward) {
    w.Num("rules", health.in_force).Key("ports").Array();
    for (const auto* p : rows) {
      w.Object()
          .Str("name", p->port)
          .Num("ruleNumber", p->rule_number)
          .Str("state", p->state)
          .Str("message", p->message);
      if (!p->last_applied_at.empty()) w.Str("lastAppliedTime", p->last_applied_at);
      w.End();
    }
    w.End();
  } else if (!rows.empty()) {
    w.Str("subinterface", rows[0]->port).Str("state", rows[0]->state);
    if (!rows[0]->last_applied_at.empty()) w.Str("lastAppliedTime", rows[0]->last_applied_at);
  }
  return w.End().str();
}

/// Whether the status `want` (as written: a merge patch) equals the object's status `have`,
/// but for the member `ignored` when given.
bool SameStatus(const Value* have, const std::string& want, const char* ignored = nullptr) {
  if (!have || !have->IsObject()) return false;
  Document a, b;
  if (!core::ParseJson(a, want) || !a.IsObject()) return false;
  // A merge patch's null removes the member: the stored status has none of them.
  std::vector<std::string> nulls;
  for (const auto& m : std::as_const(a).GetObject())  // const: C++20-unambiguous !=
    if (m.value.IsNull()) nulls.emplace_back(m.name.GetString(), m.name.GetStringLength());
  for (const auto& n : nulls) a.RemoveMember(n.c_str());
  b.CopyFrom(*have, b.GetAllocator());
  if (ignored) {
    a.RemoveMember(ignored);
    b.RemoveMember(ignored);
  }
  return a == b;
}

}  // namespace

KubeSource::Queued KubeSource::ReportDevice(const std::string& device, const std::string& json,
                                            const store::DeviceStatusRow& row) {
  // Kubernetes' own advice (node heartbeats moved to Leases): a status is not a heartbeat. A
  // quiet poll moves only lastObservedTime; that is written every 5 minutes, not every poll.
  static constexpr auto kHeartbeat = std::chrono::minutes(5);
  Document d;
  (void)core::ParseJson(d, json);  // null if not JSON: checked below
  std::string status = DeviceStatusJson(row, d, shard_);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(mu_);
    auto it = device_status_at_.find(device);
    if (it != device_status_at_.end() && now - it->second < kHeartbeat &&
        SameStatus(core::JsonMember(d, "status"), status, "lastObservedTime"))
      return {};
    device_status_at_[device] = now;
  }
  return PatchStatus("devices", device.substr(device.find('/') + 1), status);
}

KubeSource::Queued KubeSource::ReportPass(const std::string& device,
                                          const store::DeviceStatusRow& row,
                                          const std::vector<store::PortStatusRow>& ports,
                                          bool pass_ok) {
  Queued q;
  // The Device and its resources only (the index), not every object of the namespace.
  std::vector<std::pair<std::string, std::string>> objects;  // id -> JSON
  std::set<std::string> invalid;
  {
    std::lock_guard lk(mu_);
    auto take = [&](const std::string& id) {
      if (auto it = objects_.find(id); it != objects_.end()) {
        objects.emplace_back(id, it->second);
        if (invalid_.count(id)) invalid.insert(id);
      }
    };
    take("Device/" + device);
    if (auto it = by_device_.find(device); it != by_device_.end())
      for (const auto& id : it->second) take(id);
  }
  const std::string ns = device.substr(0, device.find('/'));
  for (const auto& [id, json] : objects) {
    if (invalid.count(id)) continue;
    if (id.rfind("Device/", 0) == 0) {
      q += ReportDevice(device, json, row);
      continue;
    }
    const bool pf = id.rfind("PortForward/", 0) == 0;
    Document d;
    (void)core::ParseJson(d, json);  // null if not JSON: checked below
    if (!d.IsObject() || !core::JsonMember(d, "metadata")) continue;
    const auto& meta = d["metadata"];
    const std::string name = core::JsonStr(meta, "name");
    if (!core::JsonStr(meta, "deletionTimestamp").empty()) {
      if (HasFinalizer(meta))
        q += ReleaseFinalizer(pf ? "portforwards" : "vlaninterfaces", name, ns + "/" + name,
                              FinalizersPatch(meta, false), ports, pass_ok);
      continue;
    }
    const std::string resource = ns + "/" + name;
    std::vector<const store::PortStatusRow*> rows;
    for (const auto& p : ports)
      if (p.resource == resource) rows.push_back(&p);
    const std::string status = ResourceStatusJson(rows, row, d, pf);
    // Unchanged status, no write: no MODIFIED event, no hot loop.
    if (SameStatus(core::JsonMember(d, "status"), status)) continue;
    q += PatchStatus(pf ? "portforwards" : "vlaninterfaces", name, status);
  }
  return q;
}

KubeSource::Queued KubeSource::ReleaseFinalizer(const std::string& plural, const std::string& name,
                                                const std::string& resource,
                                                const std::string& patch,
                                                const std::vector<store::PortStatusRow>& ports,
                                                bool pass_ok) {
  // Being deleted: its rules went with this pass; release our finalizer.
  const bool gone = std::none_of(ports.begin(), ports.end(),
                                 [&](const auto& p) { return p.resource == resource; });
  if (!pass_ok || !gone) return {};
  return Enqueue({"PATCH", Path(plural, name), "application/merge-patch+json", patch,
                  "the release of the finalizer of " + plural + "/" + name},
                 true);
}

}  // namespace nc::source
