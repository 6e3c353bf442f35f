// The Reflector (list + watch) against kube-sim over real HTTPS: every change delivered exactly
// once, through a dropped watch (resumed from the last resourceVersion) and a 410 Expired
// (re-list, reconciled against the cache), with bookmarks moving the resume point.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "controller/source/credentials.hpp"
#include "controller/source/kube_client.hpp"
#include "controller/source/kube_source.hpp"
#include "test/sim/common/https_server.hpp"
#include "test/sim/common/tls_cert.hpp"
#include "test/sim/kube/kube_sim.hpp"

using namespace nc;

namespace {

struct KubeHarness {
  sim::KubeSim sim;
  std::unique_ptr<sim::HttpsServer> server;
  kube::KubeConfig config;

  explicit KubeHarness(sim::KubeSimOptions o) : sim(o) {
    for (const auto& f :
         std::filesystem::directory_iterator(std::string(NC_SOURCE_DIR) + "/crds")) {
      std::ifstream in(f.path());
      std::stringstream ss;
      ss << in.rdbuf();
      REQUIRE(sim.LoadCrds(ss.str(), f.path().string()));
    }
    auto cert = sim::GenerateServerCert("kube-sim");
    REQUIRE(cert);
    sim::HttpsServerOptions so;
    so.cert_pem = cert->cert_pem;
    so.key_pem = cert->key_pem;
    server = std::make_unique<sim::HttpsServer>(
        so, [this](const sim::HttpRequest& r) { return sim.Handle(r); });
    REQUIRE(server->Start());
    config.host = "127.0.0.1";
    config.port = server->port();
    config.ca_pem = cert->ca_pem;
    config.token = o.token;
  }
  ~KubeHarness() {
    sim.Shutdown();
    server->Stop();
  }
  void Create(const std::string& name, int vlan) {
    kube::KubeClient c(config);
    auto r = c.Request(
        "POST", "/apis/netconverge.io/v1alpha1/namespaces/default/vlaninterfaces",
        "application/json",
        "{\"apiVersion\":\"netconverge.io/"
        "v1alpha1\",\"kind\":\"VlanInterface\",\"metadata\":{\"name\":\"" +
            name + "\"},\"spec\":{\"deviceRef\":\"sw1\",\"interface\":\"ge100-0/0/1\",\"vlan\":" +
            std::to_string(vlan) + "}}");
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 201, r->body);
  }
  void Post(const std::string& plural, const std::string& json) {
    kube::KubeClient c(config);
    auto r = c.Request("POST", "/apis/netconverge.io/v1alpha1/namespaces/default/" + plural,
                       "application/json", json);
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 201, r->body);
  }
  void Delete(const std::string& name) {
    kube::KubeClient c(config);
    auto r = c.Request("DELETE",
                       "/apis/netconverge.io/v1alpha1/namespaces/default/vlaninterfaces/" + name);
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
};

/// A Device named `name` (`meta_extra`: more metadata members, ending with a comma).
std::string Device(const std::string& name, const std::string& meta_extra = "") {
  return R"({"apiVersion":"netconverge.io/v1alpha1","kind":"Device","metadata":{)" + meta_extra +
         R"("name":")" + name +
         R"("},"spec":{"platform":"vyos","address":"127.0.0.1:18443","credentialsRef":{"name":"c"}}})";
}

template <class Pred>
bool WaitFor(Pred p, int ms = 5000) {
  for (int i = 0; i < ms / 20; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return p();
}

}  // namespace

TEST_SUITE("integration/kube") {
  TEST_CASE("reflector: each change once, across a dropped watch and a 410 Expired") {
    sim::KubeSimOptions o;
    o.bookmark_interval_ms = 200;
    KubeHarness h(o);
    h.Create("a", 10);
    std::mutex mu;
    std::vector<std::string> seen;  // "TYPE name rv"
    kube::Reflector r(h.config, "/apis/netconverge.io/v1alpha1/namespaces/default/vlaninterfaces",
                      [&](const std::string& type, const kube::Reflector::Object& obj) {
                        std::lock_guard lk(mu);
                        seen.push_back(type + " " + obj.name + " " + obj.resource_version);
                      });
    std::thread t([&] { r.Run(); });
    auto count = [&] {
      std::lock_guard lk(mu);
      return seen.size();
    };
    REQUIRE(WaitFor([&] { return r.Synced(); }));
    h.Create("b", 11);
    REQUIRE(WaitFor([&] { return count() == 2; }));
    CHECK(WaitFor([&] { return r.stats().bookmarks > 0; }));

    // The connection drops: the next watch resumes from the last resourceVersion.
    h.sim.DropWatches();
    h.Create("c", 12);
    REQUIRE(WaitFor([&] { return count() == 3; }));
    CHECK(r.stats().lists == 1);

    // The reflector's next watch waits (a partitioned server) while changes happen and the
    // history is compacted: 410, a re-list, and only the real differences.
    h.sim.PauseWatches(true);
    h.sim.DropWatches();
    h.Create("d", 13);
    h.Delete("a");
    h.sim.Compact();
    h.sim.PauseWatches(false);
    REQUIRE(WaitFor([&] { return count() == 5; }));
    // Done once the reflector has re-listed after the 410 and resumed watching.
    REQUIRE(WaitFor([&] {
      const auto s = r.stats();
      return s.relists_after_expired >= 1 && s.resumed_watches >= 1;
    }));
    r.Stop();
    t.join();
    const auto st = r.stats();
    CHECK(st.relists_after_expired >= 1);
    CHECK(st.lists >= 2);
    CHECK(st.resumed_watches >= 1);
    std::lock_guard lk(mu);
    std::vector<std::string> kinds;
    std::set<std::string> unique(seen.begin(), seen.end());
    CHECK(unique.size() == seen.size());  // nothing delivered twice
    CHECK(seen.size() == 5);
    for (const auto& s : seen) kinds.push_back(s.substr(0, s.find(' ', s.find(' ') + 1)));
    CHECK(kinds ==
          std::vector<std::string>{"ADDED a", "ADDED b", "ADDED c", "ADDED d", "DELETED a"});
    auto cache = r.Cache();
    CHECK(cache.size() == 3);
    CHECK(cache.count({"default", "a"}) == 0);
  }

  TEST_CASE(
      "status writes the API server refuses are logged with its reason, once per distinct "
      "failure") {
    // Issue 13, defect 7: every Kubernetes write's result was dropped, so a Role without
    // devices/status left the Device's status stale and nothing said why.
    KubeHarness h({});
    {
      kube::KubeClient c(h.config);
      auto r = c.Request(
          "POST", "/apis/netconverge.io/v1alpha1/namespaces/default/devices", "application/json",
          R"({"apiVersion":"netconverge.io/v1alpha1","kind":"Device","metadata":{"name":"edge1"},)"
          R"("spec":{"platform":"vyos","address":"127.0.0.1:18443","credentialsRef":{"name":"edge1-creds"}}})");
      REQUIRE(r);
      REQUIRE_MESSAGE(r->status == 201, r->body);
    }
    std::mutex mu;
    std::vector<std::string> logged;
    source::KubeSource src(h.config, {}, [](const std::vector<std::string>&) {});
    src.SetErrorLog([&](const std::string& line) {
      std::lock_guard lk(mu);
      logged.push_back(line);
    });
    src.Start();
    REQUIRE(WaitFor(
        [&] { return src.Synced() && src.Desired()->devices.count("default/edge1") == 1; }));
    auto log_lines = [&] {
      std::lock_guard lk(mu);
      return logged;
    };
    store::DeviceStatusRow row;
    row.device = "default/edge1";
    row.reachable = row.synced = true;
    row.transport = "https";

    h.sim.Deny("patch", "devices/status");
    src.ReportPass("default/edge1", row, {}, true);
    REQUIRE(src.Flush(std::chrono::seconds(10)));
    src.ReportPass("default/edge1", row, {}, true);  // the same failure again: not logged twice
    REQUIRE(src.Flush(std::chrono::seconds(10)));
    auto lines = log_lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("the status of devices/edge1") != std::string::npos);
    CHECK(lines[0].find("403") != std::string::npos);
    CHECK(lines[0].find("RBAC") != std::string::npos);
    // The API server's own words name the verb and the resource the Role lacks.
    CHECK(lines[0].find(R"(cannot patch resource "devices/status")") != std::string::npos);
    CHECK(h.sim.Get("netconverge.io", "devices", "default", "edge1").find("\"status\"") ==
          std::string::npos);

    // Allowed again: the write lands and the next failure is news again.
    h.sim.Allow("patch", "devices/status");
    src.ReportPass("default/edge1", row, {}, true);
    REQUIRE(src.Flush(std::chrono::seconds(10)));
    CHECK(h.sim.Get("netconverge.io", "devices", "default", "edge1")
              .find("\"transportInUse\":\"https\"") != std::string::npos);
    CHECK(log_lines().size() == 1);
    h.sim.Deny("patch", "devices/status");
    row.transport = "ssh";  // a status that changed (an unchanged one is not rewritten)
    src.ReportPass("default/edge1", row, {}, true);
    REQUIRE(src.Flush(std::chrono::seconds(10)));
    CHECK(log_lines().size() == 2);

    // Events too.
    h.sim.Deny("create", "events");
    store::Event ev;
    ev.device = "default/edge1";
    ev.type = "Warning";
    ev.reason = "DeviceRejected";
    ev.message = "x";
    src.PostEvents("default/edge1", {ev});
    REQUIRE(src.Flush(std::chrono::seconds(10)));
    lines = log_lines();
    REQUIRE(lines.size() == 3);
    CHECK(lines[2].find(R"(cannot create resource "events")") != std::string::npos);
    src.Stop();
  }

  TEST_CASE(
      "status writes wait for the rate limiter and coalesce per object - a status that moved only "
      "its lastObservedTime is not rewritten") {
    KubeHarness h({});
    h.config.shared = std::make_shared<kube::ClientShared>();
    h.config.shared->limiter = std::make_shared<kube::RateLimiter>(5, 1);
    std::atomic<int> patches{0};
    h.config.shared->observe = [&](const std::string& method, int, double) {
      if (method == "PATCH") ++patches;
    };
    h.Post("devices", Device("edge1"));
    source::KubeSource src(h.config, {}, [](const std::vector<std::string>&) {});
    src.Start();
    REQUIRE(WaitFor([&] { return src.Synced() && src.Desired()->devices.count("default/edge1"); }));
    // Take the bucket's token: the writer's first write now waits 0.2 s, long enough for five
    // passes' reports to arrive.
    kube::KubeClient other(h.config);
    REQUIRE(other.Request("GET", "/api/v1/namespaces/default/secrets/x"));
    store::DeviceStatusRow row;
    row.device = "default/edge1";
    row.reachable = row.synced = true;
    row.transport = "https";
    source::KubeSource::Queued q;
    for (int i = 1; i <= 5; ++i) {
      row.managed = i;
      q += src.ReportPass("default/edge1", row, {}, true);
    }
    REQUIRE(src.Flush(std::chrono::seconds(10)));
    CHECK(q.writes == 5);
    CHECK(q.coalesced == 4);
    CHECK(patches.load() == 1);  // five passes, one write: the newest
    CHECK(h.sim.Get("netconverge.io", "devices", "default", "edge1").find("\"managedObjects\":5") !=
          std::string::npos);

    // Once the watch brought our write back, the same status is not written again, nor one whose
    // lastObservedTime alone moved (a quiet poll); a real change is.
    REQUIRE(WaitFor([&] {
      const bool none = src.ReportPass("default/edge1", row, {}, true).writes == 0;
      return src.Flush(std::chrono::seconds(10)) && none;
    }));
    const int before = patches.load();
    row.last_observed_at = "2026-11-30T12:00:00Z";
    CHECK(src.ReportPass("default/edge1", row, {}, true).writes == 0);
    row.reachable = false;
    row.message = "connection refused";
    CHECK(src.ReportPass("default/edge1", row, {}, true).writes == 1);
    REQUIRE(src.Flush(std::chrono::seconds(10)));
    CHECK(patches.load() == before + 1);
    src.Stop();
  }

  TEST_CASE(
      "two shards: each keeps and reports only its devices - an invalid object is reported "
      "by its device's shard") {
    KubeHarness h({});
    // By hash edge1 is on shard 1 and edge2 on shard 0 (core/shard_test); edge3 pinned to 1.
    h.Post("devices", Device("edge1"));
    h.Post("devices", Device("edge2"));
    h.Post("devices", Device("edge3", R"("labels":{"netconverge.io/shard":"1"},)"));
    // Two PortForwards claiming one port of edge2 (shard 0's) are both invalid.
    for (const char* name : {"bad", "worse"})
      h.Post("portforwards",
             std::string(R"({"apiVersion":"netconverge.io/v1alpha1","kind":"PortForward",)") +
                 R"("metadata":{"name":")" + name +
                 R"("},"spec":{"deviceRef":"edge2","vm":"vm1","internalAddress":"192.168.1.1",)"
                 R"("inboundInterface":"eth0","ports":[{"name":"ssh","protocol":"tcp",)"
                 R"("externalPort":2201,"internalPort":22}]}})");
    std::vector<std::unique_ptr<source::KubeSource>> shards;
    for (int i : {0, 1}) {
      shards.push_back(std::make_unique<source::KubeSource>(
          h.config, core::ServiceTable{}, [](const std::vector<std::string>&) {}));
      shards.back()->SetShard({2, i});
      shards.back()->Start();
    }
    auto keys = [](const source::KubeSource& s) {
      std::set<std::string> out;
      const auto desired = s.Desired();  // held: a rebuild may publish a new one meanwhile
      for (const auto& [k, d] : desired->devices) out.insert(k);
      return out;
    };
    REQUIRE(WaitFor([&] { return keys(*shards[0]).size() + keys(*shards[1]).size() == 3; }));
    CHECK(keys(*shards[0]) == std::set<std::string>{"default/edge2"});
    CHECK(keys(*shards[1]) == std::set<std::string>{"default/edge1", "default/edge3"});
    // The invalid PortForward is shard 0's problem only.
    CHECK(shards[0]->Problems().size() >= 1);
    CHECK(shards[1]->Problems().empty());
    REQUIRE(WaitFor([&] {
      return h.sim.Get("netconverge.io", "portforwards", "default", "bad").find("InvalidSpec") !=
             std::string::npos;
    }));
    store::DeviceStatusRow row;
    row.reachable = row.synced = true;
    row.device = "default/edge3";
    shards[1]->ReportPass("default/edge3", row, {}, true);
    REQUIRE(shards[1]->Flush(std::chrono::seconds(10)));
    CHECK(h.sim.Get("netconverge.io", "devices", "default", "edge3").find("\"shard\":1") !=
          std::string::npos);
    for (auto& s : shards) s->Stop();
  }

  TEST_CASE("kubeconfig: server, CA data, token and namespace of the current context") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("nc-kc-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "kc") << "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n "
                                 "   server: https://127.0.0.1:6443\n"
                                 "    certificate-authority-data: aGVsbG8=\nusers:\n- name: u\n  "
                                 "user:\n    tokenFile: tok\n"
                                 "contexts:\n- name: x\n  context: {cluster: c, user: u, "
                                 "namespace: netops}\ncurrent-context: x\n";
    auto c = kube::LoadKubeconfig((dir / "kc").string());
    REQUIRE(c);
    CHECK(c->host == "127.0.0.1");
    CHECK(c->port == 6443);
    CHECK(c->ca_pem == "hello");
    CHECK(c->token_file == (dir / "tok").string());  // relative to the kubeconfig
    CHECK(c->ns == "netops");
    std::ofstream(dir / "bad") << "apiVersion: v1\nkind: Config\ncurrent-context: nope\n";
    auto bad = kube::LoadKubeconfig((dir / "bad").string());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("current-context 'nope' not found") != std::string::npos);
    std::filesystem::remove_all(dir);
  }
}

TEST_SUITE("source/files") {
  TEST_CASE(
      "a kubeconfig or credentials file of the wrong shape is an error naming the file, never a "
      "crash") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("nc-shapes-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto kc = (dir / "kubeconfig").string();
    std::ofstream(kc) << "apiVersion: v1\ncurrent-context: [a, b]\ncontexts: []\n";
    nc::Result<nc::kube::KubeConfig> k = nc::MakeError(nc::ErrorCode::kInternal, "not run");
    CHECK_NOTHROW(k = nc::kube::LoadKubeconfig(kc));
    REQUIRE_FALSE(k);
    CHECK(k.error().message.find(kc) != std::string::npos);
    const auto cr = (dir / "creds.yaml").string();
    std::ofstream(cr) << "? [apiKey]\n: secret-value\n";
    nc::Result<nc::source::Credentials> c = nc::MakeError(nc::ErrorCode::kInternal, "not run");
    CHECK_NOTHROW(c = nc::source::LoadCredentialsFile(cr));
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("plain string") != std::string::npos);
    CHECK(c.error().message.find("secret-value") == std::string::npos);
    std::filesystem::remove_all(dir);
  }
}
