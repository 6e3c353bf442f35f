#include "controller/source/leader_election.hpp"
#include "controller/core/json.hpp"

#include <rapidjson/document.h>

#include <cstdlib>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

namespace nc::kube {

namespace {

std::string Str(const rapidjson::Value& v, const char* k) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(k);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

}  // namespace

LeaderElector::LeaderElector(KubeConfig config, LeaderElectionConfig options) : client_(std::move(config)), options_(std::move(options)) {
  if (options_.identity.empty()) {
    const char* pod = std::getenv("POD_NAME");
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    options_.identity = std::string(pod && *pod ? pod : host) + "_" + std::to_string(getpid());
  }
}

LeaderElector::~LeaderElector() {
  stop_renewing_ = true;
  if (renewer_.joinable()) renewer_.join();
}

bool LeaderElector::TryAcquireOrRenew() {
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" + client_.config().ns + "/leases";
  const std::string now = MicroTimeNow();
  const int64_t duration_s = std::max<int64_t>(1, options_.lease_duration.count() / 1000);
  auto r = client_.Request("GET", path + "/" + options_.lease_name);
  if (!r) return false;
  if (r->status == 404) {
    const std::string body = "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"" + options_.lease_name +
                             "\"},\"spec\":{\"holderIdentity\":\"" + options_.identity + "\",\"leaseDurationSeconds\":" +
                             std::to_string(duration_s) + ",\"acquireTime\":\"" + now + "\",\"renewTime\":\"" + now +
                             "\",\"leaseTransitions\":0}}";
    auto c = client_.Request("POST", path, "application/json", body);
    return c && c->status == 201;
  }
  if (r->status != 200) return false;
  rapidjson::Document d;
  if (!core::ParseJson(d, r->body) || !d.IsObject()) return false;
  const auto& spec = d.HasMember("spec") ? d["spec"] : d;
  const std::string holder = Str(spec, "holderIdentity");
  const std::string renew = Str(spec, "renewTime");
  const std::string rv = Str(d["metadata"], "resourceVersion");
  const auto steady = std::chrono::steady_clock::now();
  if (holder + "|" + renew != observed_record_) {  // the record moved: restart the expiry clock
    observed_record_ = holder + "|" + renew;
    observed_at_ = steady;
  }
  const bool mine = holder == options_.identity;
  if (!mine && !holder.empty() && steady < observed_at_ + options_.lease_duration) return false;  // held by a live leader
  int64_t transitions = spec.HasMember("leaseTransitions") && spec["leaseTransitions"].IsInt64() ? spec["leaseTransitions"].GetInt64() : 0;
  if (!mine) ++transitions;
  const std::string acquire = mine ? Str(spec, "acquireTime") : now;
  const std::string body = "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"" + options_.lease_name +
                           "\",\"resourceVersion\":\"" + rv + "\"},\"spec\":{\"holderIdentity\":\"" + options_.identity +
                           "\",\"leaseDurationSeconds\":" + std::to_string(duration_s) + ",\"acquireTime\":\"" + acquire +
                           "\",\"renewTime\":\"" + now + "\",\"leaseTransitions\":" + std::to_string(transitions) + "}}";
  auto u = client_.Request("PUT", path + "/" + options_.lease_name, "application/json", body);
  if (!u || u->status != 200) return false;  // 409: someone else wrote first this round
  observed_record_ = options_.identity + "|" + now;
  observed_at_ = steady;
  return true;
}

bool LeaderElector::Acquire(const std::atomic<bool>& stop) {
  while (!stop) {
    if (TryAcquireOrRenew()) {
      leading_ = true;
      return true;
    }
    for (auto waited = std::chrono::milliseconds(0); waited < options_.retry_period && !stop; waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void LeaderElector::KeepRenewing(std::function<void()> on_lost) {
  renewer_ = std::thread([this, on_lost = std::move(on_lost)] {
    auto last_renew = std::chrono::steady_clock::now();
    while (!stop_renewing_) {
      for (auto waited = std::chrono::milliseconds(0); waited < options_.retry_period && !stop_renewing_; waited += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (stop_renewing_) break;
      if (TryAcquireOrRenew()) {
        last_renew = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_renew > options_.renew_deadline) {
        leading_ = false;
        on_lost();
        return;
      }
    }
  });
}

void LeaderElector::Release() {
  stop_renewing_ = true;
  if (renewer_.joinable()) renewer_.join();
  if (!leading_) return;
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" + client_.config().ns + "/leases/" + options_.lease_name;
  (void)client_.Request("PATCH", path, "application/merge-patch+json",
                        "{\"spec\":{\"holderIdentity\":null,\"leaseDurationSeconds\":1,\"renewTime\":\"" + MicroTimeNow() + "\"}}");
  leading_ = false;
}

}  // namespace nc::kube
