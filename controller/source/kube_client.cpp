#include "controller/source/kube_client.hpp"
#include "controller/core/json.hpp"

#include "controller/core/encoding.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <yaml-cpp/yaml.h>
#include <random>
#include "controller/core/backoff.hpp"

#include <sys/time.h>
#include <time.h>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace nc::kube {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

Result<KubeConfig> FromServer(const std::string& server, const std::string& where) {
  KubeConfig c;
  std::string rest = server;
  if (rest.rfind("https://", 0) != 0)
    return MakeError(ErrorCode::kInvalidArgument, where + ": server must be an https:// URL");
  rest = rest.substr(8);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  auto hp = transport::SplitHostPort(rest, 443);
  if (!hp) return tl::unexpected(hp.error());
  c.host = hp->first;
  c.port = hp->second;
  return c;
}

}  // namespace

std::string MicroTimeNow() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm tmv{};
  gmtime_r(&tv.tv_sec, &tmv);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tmv);
  char out[48];
  snprintf(out, sizeof out, "%s.%06ldZ", base, static_cast<long>(tv.tv_usec));
  return out;
}

namespace {
Result<KubeConfig> LoadKubeconfigDoc(const std::string& path, const YAML::Node& doc);
}  // namespace

Result<KubeConfig> LoadKubeconfig(const std::string& path) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, "kubeconfig " + path + ": cannot be read (line " +
                                                      std::to_string(e.mark.line + 1) + ")");
  }
  try {
    return LoadKubeconfigDoc(path, doc);
  } catch (const YAML::Exception& e) {  // a field of the wrong shape (`current-context: [a, b]`)
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubeconfig " + path + ": unexpected structure at line " +
                         std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

namespace {

Result<KubeConfig> LoadKubeconfigDoc(const std::string& path, const YAML::Node& doc) {
  const std::string current =
      doc["current-context"] ? doc["current-context"].as<std::string>() : "";
  auto find = [&](const char* list, const std::string& name) -> YAML::Node {
    if (doc[list])
      for (const auto& e : doc[list])
        if (e["name"] && e["name"].as<std::string>() == name) return e;
    return YAML::Node();
  };
  YAML::Node ctx = find("contexts", current);
  if (!ctx || !ctx["context"])
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubeconfig " + path + ": current-context '" + current + "' not found");
  const auto cluster = find("clusters", ctx["context"]["cluster"].as<std::string>(""));
  const auto user = find("users", ctx["context"]["user"].as<std::string>(""));
  if (!cluster || !cluster["cluster"]["server"])
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubeconfig " + path + ": the context's cluster has no server");
  auto c = FromServer(cluster["cluster"]["server"].as<std::string>(), "kubeconfig " + path);
  if (!c) return c;
  if (cluster["cluster"]["certificate-authority-data"]) {
    auto pem =
        core::DecodeBase64(cluster["cluster"]["certificate-authority-data"].as<std::string>());
    if (!pem)
      return MakeError(ErrorCode::kInvalidArgument,
                       "kubeconfig " + path + ": certificate-authority-data is not base64");
    c->ca_pem = *pem;
  } else if (cluster["cluster"]["certificate-authority"]) {
    auto ca = cluster["cluster"]["certificate-authority"].as<std::string>();
    if (!ca.empty() && ca[0] != '/') ca = Dir(path) + "/" + ca;  // relative to the kubeconfig
    c->ca_pem = ReadFile(ca);
    if (c->ca_pem.empty())
      return MakeError(ErrorCode::kInvalidArgument,
                       "kubeconfig " + path + ": cannot read certificate-authority " + ca);
  }
  if (user && user["user"]) {
    if (user["user"]["token"]) c->token = user["user"]["token"].as<std::string>();
    if (user["user"]["tokenFile"]) {
      c->token_file = user["user"]["tokenFile"].as<std::string>();
      if (!c->token_file.empty() && c->token_file[0] != '/')
        c->token_file = Dir(path) + "/" + c->token_file;
    }
  }
  if (ctx["context"]["namespace"]) c->ns = ctx["context"]["namespace"].as<std::string>();
  return c;
}

}  // namespace

Result<KubeConfig> InClusterConfig() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !port || !*host || !*port)
    return MakeError(ErrorCode::kFailedPrecondition,
                     "not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); give --kubeconfig");
  const std::string dir = "/var/run/secrets/kubernetes.io/serviceaccount/";
  KubeConfig c;
  c.host = host;
  c.port = std::atoi(port);
  c.token_file = dir + "token";
  c.ca_pem = ReadFile(dir + "ca.crt");
  if (c.ca_pem.empty())
    return MakeError(ErrorCode::kFailedPrecondition, "cannot read " + dir + "ca.crt");
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns)
    c.ns = ns;
  else if (auto ns_file = Trim(ReadFile(dir + "namespace")); !ns_file.empty())
    c.ns = ns_file;
  return c;
}

RateLimiter::RateLimiter(double qps, int burst)
    : qps_(qps),
      burst_(std::max(1, burst)),
      tokens_(burst_),
      last_(std::chrono::steady_clock::now()) {}

std::chrono::nanoseconds RateLimiter::Wait() {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  std::chrono::nanoseconds wait(0);
  {
    std::lock_guard lk(mu_);
    const auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * qps_);
    last_ = now;
    tokens_ -= 1;  // reserved: a negative balance is the queue of those waiting
    if (tokens_ < 0)
      wait = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(-tokens_ / qps_));
  }
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
  return wait;
}

KubeClient::KubeClient(KubeConfig config) : config_(std::move(config)) {
  transport::HttpsClientOptions o;
  o.user_agent = config_.user_agent;
  o.host = config_.host;
  o.port = config_.port;
  o.ca_pem = config_.ca_pem;
  o.accept = "application/json";
  o.authorization = [this] { return Authorization(); };
  auto c = transport::HttpsClient::Create(o);
  if (c) http_ = std::move(*c);
}

std::string KubeClient::Authorization() {
  std::lock_guard lk(token_mu_);
  if (!config_.token_file.empty() &&
      (token_.empty() ||
       std::chrono::steady_clock::now() - token_read_ > std::chrono::seconds(60))) {
    token_ = Trim(ReadFile(config_.token_file));
    token_read_ = std::chrono::steady_clock::now();
  }
  const std::string& t = config_.token_file.empty() ? config_.token : token_;
  return t.empty() ? "" : "Bearer " + t;
}

Result<transport::HttpResponse> KubeClient::Request(const std::string& method,
                                                    const std::string& path,
                                                    const std::string& content_type,
                                                    const std::string& body,
                                                    std::chrono::milliseconds timeout) {
  if (!http_)
    return MakeError(ErrorCode::kInvalidArgument,
                     "the API server's CA certificate cannot be loaded");
  const double throttled = Throttle();
  auto r = http_->Send(method, path, content_type, body, timeout, nullptr, method == "GET");
  Observe(method, r ? r->status : 0, throttled);
  if (r && r->status == 401) {
    std::lock_guard lk(token_mu_);
    token_.clear();  // re-read a rotated token file on the next request
  }
  return r;
}

void KubeClient::WaitTurn() {
  turn_waited_ = -1;
  const double waited = Throttle();
  turn_waited_ = waited;
}

double KubeClient::Throttle() {
  if (turn_waited_ >= 0) {
    const double waited = turn_waited_;
    turn_waited_ = -1;
    return waited;
  }
  if (!config_.shared || !config_.shared->limiter) return 0;
  return std::chrono::duration<double>(config_.shared->limiter->Wait()).count();
}

void KubeClient::Observe(const std::string& method, int status, double throttled) {
  if (config_.shared && config_.shared->observe) config_.shared->observe(method, status, throttled);
}

Result<int> KubeClient::Stream(const std::string& path, std::chrono::milliseconds timeout,
                               const std::function<bool(std::string_view)>& on_data) {
  if (!http_)
    return MakeError(ErrorCode::kInvalidArgument,
                     "the API server's CA certificate cannot be loaded");
  const double throttled = Throttle();  // a watch is one request to the limiter, as in client-go
  auto r = http_->Stream(path, timeout, on_data);
  Observe("WATCH", r ? *r : 0, throttled);
  return r;
}

void KubeClient::Cancel() {
  if (http_) http_->Cancel();
}

Reflector::Reflector(KubeConfig config, std::string path, Handler handler, int watch_timeout_s)
    : client_(std::move(config)),
      path_(std::move(path)),
      handler_(std::move(handler)),
      watch_timeout_s_(watch_timeout_s) {}

void Reflector::Stop() {
  stop_.Stop();
  client_.Cancel();
}

std::map<std::pair<std::string, std::string>, Reflector::Object> Reflector::Cache() {
  std::lock_guard lk(mu_);
  return cache_;
}

Reflector::Stats Reflector::stats() {
  std::lock_guard lk(mu_);
  return stats_;
}

Status Reflector::List() {
  // After 410 a consistent read (resourceVersion=""); otherwise data at least as new as we saw.
  const std::string rv = expired_ ? "" : last_rv_;
  auto r = client_.Request("GET", path_ + (rv.empty() ? "" : "?resourceVersion=" + rv));
  if (!r) return tl::unexpected(r.error());
  rapidjson::Document d;
  const bool parsed = core::ParseJson(d, r->body);
  if (r->status != 200 || !parsed || !d.IsObject() || !d.HasMember("items") ||
      !d["items"].IsArray())
    return MakeError(ErrorCode::kUnavailable, "list " + path_ + " answered " +
                                                  std::to_string(r->status) + ": " +
                                                  core::JsonStr(d, "message"));
  std::map<std::pair<std::string, std::string>, Object> fresh;
  for (const auto& item : d["items"].GetArray()) {
    const auto& meta = item["metadata"];
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    item.Accept(w);
    Object o{core::JsonStr(meta, "namespace"), core::JsonStr(meta, "name"),
             std::string(buf.GetString(), buf.GetSize()), core::JsonStr(meta, "resourceVersion")};
    fresh[{o.ns, o.name}] = std::move(o);
  }
  // Deliver only real differences against the cache: a re-list never repeats work.
  std::vector<std::pair<std::string, Object>> events;
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, o] : fresh) {
      auto it = cache_.find(k);
      if (it == cache_.end())
        events.emplace_back("ADDED", o);
      else if (it->second.resource_version != o.resource_version)
        events.emplace_back("MODIFIED", o);
    }
    for (const auto& [k, o] : cache_)
      if (!fresh.count(k)) events.emplace_back("DELETED", o);
    cache_ = std::move(fresh);
    last_rv_ = core::JsonStr(d["metadata"], "resourceVersion");
    expired_ = false;
    ++stats_.lists;
  }
  for (const auto& [type, o] : events) handler_(type, o);
  synced_ = true;
  return {};
}

Status Reflector::Watch() {
  std::string buffer;
  bool expired = false;
  Status failure;
  const std::string path = path_ +
                           "?watch=true&allowWatchBookmarks=true&resourceVersion=" + last_rv_ +
                           "&timeoutSeconds=" + std::to_string(watch_timeout_s_);
  {
    std::lock_guard lk(mu_);
    ++stats_.watches;
  }
  auto on_line = [&](const std::string& line) {
    rapidjson::Document e;
    if (!core::ParseJson(e, line) || !e.IsObject() || !e.HasMember("object")) return true;
    const std::string type = core::JsonStr(e, "type");
    const auto& obj = e["object"];
    if (type == "ERROR") {
      if (obj.HasMember("code") && obj["code"].IsInt() && obj["code"].GetInt() == 410)
        expired = true;
      else
        failure = MakeError(ErrorCode::kUnavailable,
                            "watch " + path_ + ": " + core::JsonStr(obj, "message"));
      return false;
    }
    const auto& meta = obj["metadata"];
    const std::string rv = core::JsonStr(meta, "resourceVersion");
    if (type == "BOOKMARK") {
      std::lock_guard lk(mu_);
      last_rv_ = rv;
      ++stats_.bookmarks;
      return true;
    }
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    obj.Accept(w);
    Object o{core::JsonStr(meta, "namespace"), core::JsonStr(meta, "name"),
             std::string(buf.GetString(), buf.GetSize()), rv};
    {
      std::lock_guard lk(mu_);
      last_rv_ = rv;
      if (type == "DELETED")
        cache_.erase({o.ns, o.name});
      else
        cache_[{o.ns, o.name}] = o;
    }
    handler_(type, o);
    return !stop_.stopped();
  };
  auto status =
      client_.Stream(path, std::chrono::seconds(watch_timeout_s_ + 30), [&](std::string_view data) {
        buffer.append(data);
        for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
          std::string line = buffer.substr(0, nl);
          buffer.erase(0, nl + 1);
          if (!on_line(line)) return false;
        }
        return !stop_.stopped();
      });
  if (!status) return tl::unexpected(status.error());
  if (*status == 410 || expired) {
    std::lock_guard lk(mu_);
    expired_ = true;
    ++stats_.relists_after_expired;
    return {};
  }
  if (*status != 200)
    return MakeError(ErrorCode::kUnavailable,
                     "watch " + path_ + " answered " + std::to_string(*status));
  return failure;
}

void Reflector::Run() {
  static constexpr core::BackoffPolicy kBackoff{800, 30'000, 0.1};
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  int failures = 0;
  bool need_list = true;
  while (!stop_.stopped()) {
    Status st;
    if (need_list) {
      st = List();
      if (st) need_list = false;
    } else {
      const bool resumed = stats().watches > 0;
      st = Watch();
      if (st && !expired_ && resumed && !stop_.stopped()) {
        std::lock_guard lk(mu_);
        ++stats_.resumed_watches;  // the next watch continues from the last resourceVersion
      }
      if (expired_) need_list = true;
    }
    if (st) {
      failures = 0;
      continue;
    }
    // client-go's reflector backoff: 800 ms doubling to 30 s, jittered.
    const int64_t delay = core::BackoffDelayMs(kBackoff, ++failures, jitter(rng));
    if (stop_.WaitFor(std::chrono::milliseconds(delay))) break;
  }
}

}  // namespace nc::kube
