#include "controller/manager/leader_election.hpp"
#include "controller/core/json.hpp"
#include "controller/core/json_writer.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cstdlib>

namespace nc::kube {

std::string DefaultIdentity() {
  const char* pod = std::getenv("POD_NAME");
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(pod && *pod ? pod : host) + "_" + std::to_string(getpid());
}

LeaderElector::LeaderElector(KubeConfig config, LeaderElectionConfig options)
    : client_(std::move(config)), options_(std::move(options)) {
  if (options_.identity.empty()) options_.identity = DefaultIdentity();
}

LeaderElector::~LeaderElector() {
  stop_renewing_.Stop();
  if (renewer_.joinable()) renewer_.join();
}

bool LeaderElector::Fail(const std::string& why) {
  if (why != last_error_ && options_.on_error) options_.on_error(why);
  last_error_ = why;
  return false;
}

namespace {

/// The Lease object as JSON (RapidJSON's writer: the identity is escaped, whatever it holds).
std::string LeaseJson(const std::string& name, const std::string& rv, const std::string& holder,
                      int64_t duration_s, const std::string& acquire, const std::string& renew,
                      int64_t transitions) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  str("apiVersion", "coordination.k8s.io/v1");
  str("kind", "Lease");
  w.Key("metadata");
  w.StartObject();
  str("name", name);
  if (!rv.empty()) str("resourceVersion", rv);
  w.EndObject();
  w.Key("spec");
  w.StartObject();
  str("holderIdentity", holder);
  w.Key("leaseDurationSeconds");
  w.Int64(duration_s);
  str("acquireTime", acquire);
  str("renewTime", renew);
  w.Key("leaseTransitions");
  w.Int64(transitions);
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

bool LeaderElector::TryAcquireOrRenew(std::chrono::steady_clock::time_point deadline) {
  const std::string path =
      "/apis/coordination.k8s.io/v1/namespaces/" + client_.config().ns + "/leases";
  const std::string now = MicroTimeNow();
  const int64_t duration_s = std::max<int64_t>(1, options_.lease_duration.count() / 1000);
  // What is left of the round's time, for the next call; nothing left is a failed round.
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  if (left().count() <= 0)
    return Fail("lease " + options_.lease_name + ": no time left in this round");
  auto r = client_.Request("GET", path + "/" + options_.lease_name, "", "", left());
  if (!r) return Fail("lease " + options_.lease_name + ": " + r.error().message);
  if (r->status == 404) {
    if (left().count() <= 0)
      return Fail("lease " + options_.lease_name + ": no time left to create it");
    auto c = client_.Request(
        "POST", path, "application/json",
        LeaseJson(options_.lease_name, "", options_.identity, duration_s, now, now, 0), left());
    if (!c) return Fail("lease " + options_.lease_name + ": create: " + c.error().message);
    if (c->status != 201 && c->status != 409)
      return Fail("lease " + options_.lease_name + ": create answered " +
                  std::to_string(c->status) +
                  (c->status == 403 ? " (RBAC: the service account may not create leases)" : ""));
    return c->status == 201;
  }
  if (r->status != 200)
    return Fail("lease " + options_.lease_name + ": get answered " + std::to_string(r->status) +
                (r->status == 403 ? " (RBAC: the service account may not read leases)" : ""));
  rapidjson::Document d;
  if (!core::ParseJson(d, r->body) || !d.IsObject())
    return Fail("lease " + options_.lease_name + ": the answer is not a Lease");
  const auto& spec = d.HasMember("spec") ? d["spec"] : d;
  const std::string holder = core::JsonStr(spec, "holderIdentity");
  const std::string renew = core::JsonStr(spec, "renewTime");
  const std::string rv =
      d.HasMember("metadata") ? core::JsonStr(d["metadata"], "resourceVersion") : "";
  const auto steady = std::chrono::steady_clock::now();
  if (holder + "|" + renew != observed_record_) {  // the record moved: restart the expiry clock
    observed_record_ = holder + "|" + renew;
    observed_at_ = steady;
  }
  const bool mine = holder == options_.identity;
  if (!mine && !holder.empty() && steady < observed_at_ + options_.lease_duration) {
    last_error_.clear();
    return false;  // held by a live leader: not an error
  }
  int64_t transitions = spec.HasMember("leaseTransitions") && spec["leaseTransitions"].IsInt64()
                            ? spec["leaseTransitions"].GetInt64()
                            : 0;
  if (!mine) ++transitions;
  const std::string acquire = mine ? core::JsonStr(spec, "acquireTime") : now;
  if (left().count() <= 0)
    return Fail("lease " + options_.lease_name + ": no time left to update it");
  auto u = client_.Request(
      "PUT", path + "/" + options_.lease_name, "application/json",
      LeaseJson(options_.lease_name, rv, options_.identity, duration_s, acquire, now, transitions),
      left());
  if (!u) return Fail("lease " + options_.lease_name + ": update: " + u.error().message);
  if (u->status == 409) return false;  // someone else wrote first this round
  if (u->status != 200)
    return Fail("lease " + options_.lease_name + ": update answered " + std::to_string(u->status) +
                (u->status == 403 ? " (RBAC: the service account may not update leases)" : ""));
  last_error_.clear();
  observed_record_ = options_.identity + "|" + now;
  observed_at_ = steady;
  return true;
}

bool LeaderElector::Acquire(const runtime::StopSignal& stop) {
  while (!stop.stopped()) {
    if (TryAcquireOrRenew(std::chrono::steady_clock::now() + options_.renew_deadline)) {
      leading_ = true;
      return true;
    }
    if (stop.WaitFor(options_.retry_period)) break;
  }
  return false;
}

void LeaderElector::KeepRenewing(std::function<void()> on_lost) {
  renewer_ = std::thread([this, on_lost = std::move(on_lost)] {
    auto last_renew = std::chrono::steady_clock::now();
    while (!stop_renewing_.WaitFor(options_.retry_period)) {
      // The round may take at most what is left of the renew deadline: past it this process no
      // longer leads, whatever a late answer would have said.
      if (TryAcquireOrRenew(last_renew + options_.renew_deadline)) {
        last_renew = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_renew >= options_.renew_deadline) {
        leading_ = false;
        on_lost();
        return;
      }
    }
  });
}

void LeaderElector::Release() {
  stop_renewing_.Stop();
  if (renewer_.joinable()) renewer_.join();
  if (!leading_) return;
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" + client_.config().ns +
                           "/leases/" + options_.lease_name;
  // Best effort, bounded: if it fails the lease simply expires for the next leader.
  core::JsonWriter patch;
  patch.Object().Key("spec").Object().Key("holderIdentity").Null().Num("leaseDurationSeconds", 1);
  patch.Str("renewTime", MicroTimeNow()).End().End();
  auto r = client_.Request("PATCH", path, "application/merge-patch+json", patch.str(),
                           options_.retry_period);
  if (!r || r->status != 200)
    Fail("lease " + options_.lease_name + ": hand-over failed; it expires instead");
  leading_ = false;
}

}  // namespace nc::kube
