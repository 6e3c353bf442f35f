// netconverge-bench: the benchmarks of spec §10 rows 1-3 against a vyos-sim process with a
// stated latency model. Every scenario runs in a forked child so that its peak RSS is its own;
// controller CPU is the child's (the emulator is another process). Prints a Markdown table of
// medians. Not part of `make test`: `make bench`.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "adapters/vyos/vyos_codec.hpp"
#include "controller/api/v1alpha1/yaml_codec.hpp"
#include "controller/core/allocate.hpp"
#include "controller/core/validate.hpp"
#include "controller/reconcilers/adapter_factory.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/source/directory_source.hpp"
#include "controller/store/sqlite_store.hpp"
#include "test/sim/common/ssh_server.hpp"
#include "transport/http/https_client.hpp"

namespace fs = std::filesystem;
using namespace nc;

namespace {

struct Model {
  double request_ms = 0.5;
  double op_ms = 0.02;
  double commit_ms = 50;
  double commit_per_rule_ms = 0.05;
};

struct Sample {
  double wall_ms = 0;
  double cpu_ms = 0;
  double plan_cpu_ms = 0;
  long requests = 0;
  long commits = 0;
  long writes = 0;
  long rss_kb = 0;
  bool ok = false;
  std::string error;
};

double CpuMs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

struct Env {
  fs::path dir;
  int port = 0;
  std::string ca;
};

std::unique_ptr<transport::HttpsClient> Client(const Env& env) {
  transport::HttpsClientOptions o;
  o.host = "127.0.0.1";
  o.port = env.port;
  o.ca_file = env.ca;
  return std::move(*transport::HttpsClient::Create(o));
}

std::string Control(const Env& env, const std::string& method, const std::string& path,
                    const std::string& body = "") {
  auto c = Client(env);
  auto r = c->Send(method, path, "application/json", body, std::chrono::minutes(5));
  return r ? r->body : "";
}

long StatField(const std::string& json, const std::string& key) {
  auto p = json.find("\"" + key + "\":");
  return p == std::string::npos ? -1 : std::stol(json.substr(p + key.size() + 3));
}

void ClearDevice(const Env& env) {
  Control(env, "POST", "/_sim/config", "delete nat destination\n");
}

// N ports across PortForwards of 10 ports each, as manifests text.
std::string Manifests(const Env& env, int n) {
  std::ostringstream y;
  y << "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1}\nspec:\n  "
       "platform: vyos\n"
    << "  address: 127.0.0.1:" << env.port
    << "\n  credentialsRef: {file: " << (env.dir / "creds.yaml").string()
    << "}\n  tls: {caFile: " << env.ca << "}\n  ownership: {ruleRange: 10000-99999}\n"
    << "  vyos: {maxRequestBytes: 268435456}\n";
  for (int vm = 0; vm * 10 < n; ++vm) {
    y << "---\napiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: vm" << vm
      << "}\nspec:\n"
      << "  deviceRef: edge1\n  vm: vm" << vm << "\n  internalAddress: 10." << (vm / 250) % 250
      << "." << vm % 250 << ".10\n  inboundInterface: eth0\n  ports:\n";
    for (int p = 0; p < 10 && vm * 10 + p < n; ++p)
      y << "    - {name: p" << p << ", protocol: tcp, externalPort: " << 1024 + vm * 10 + p
        << ", internalPort: " << 8000 + p << "}\n";
  }
  return y.str();
}

core::DesiredState Desired(const Env& env, int n) {
  auto decoded = api::DecodeManifests(Manifests(env, n), "bench.yaml");
  auto v = core::Validate(decoded.manifests, source::LoadServices());
  if (!v.problems.empty()) {
    std::cerr << "bench: " << v.problems[0].ToString() << "\n";
    std::exit(3);
  }
  return v.desired;
}

// Runs `fn` (returning text) in a child process; the text comes back through a pipe, and the
// child's resource usage (peak RSS) through `ru`.
template <class Fn>
std::string ChildText(Fn fn, rusage* ru) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::string text = fn();
    (void)!write(fds[1], text.data(), text.size());
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string buf;
  char tmp[4096];
  for (ssize_t k; (k = read(fds[0], tmp, sizeof tmp)) > 0;) buf.append(tmp, static_cast<size_t>(k));
  close(fds[0]);
  int status = 0;
  wait4(pid, &status, 0, ru);
  return buf;
}

// Runs `fn` in a child process; its Sample comes back with the child's peak RSS.
template <class Fn>
Sample InChild(Fn fn) {
  rusage ru{};
  const std::string buf = ChildText(
      [&] {
        Sample s = fn();
        std::ostringstream o;
        o << s.wall_ms << " " << s.cpu_ms << " " << s.plan_cpu_ms << " " << s.requests << " "
          << s.commits << " " << s.writes << " " << s.ok << " " << s.error;
        return o.str();
      },
      &ru);
  Sample s;
  std::istringstream in(buf);
  in >> s.wall_ms >> s.cpu_ms >> s.plan_cpu_ms >> s.requests >> s.commits >> s.writes >> s.ok;
  std::getline(in, s.error);
  s.rss_kb = ru.ru_maxrss;
  return s;
}

struct Harness {
  std::unique_ptr<store::SqliteStore> store;
  reconcilers::DefaultAdapterFactory factory;
  runtime::SystemClock clock;
  std::unique_ptr<reconcilers::DeviceReconciler> rec;
  explicit Harness(const Env& env, const std::string& name) {
    auto path = (env.dir / (name + ".db")).string();
    for (const char* s : {"", "-wal", "-shm"}) fs::remove(path + s);
    store =
        std::move(*store::SqliteStore::Open(path, store::SqliteStore::OpenMode::kRequireCurrent));
    auto log =
        std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    rec = std::make_unique<reconcilers::DeviceReconciler>(*store, factory, clock, log,
                                                          source::LoadServices());
  }
};

Sample Measure(const Env& env, const std::function<reconcilers::DeviceResult()>& pass) {
  Control(env, "POST", "/_sim/stats/reset");
  Sample s;
  const double c0 = CpuMs();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = pass();
  if (getenv("NC_BENCH_PHASES"))
    std::cerr << "phases (CPU us): observe " << r.observe_cpu_us << ", fingerprint "
              << r.fingerprint_cpu_us << ", plan " << r.plan_cpu_us << ", apply " << r.apply_cpu_us
              << ", record " << r.record_cpu_us << "\n";
  s.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  s.cpu_ms = CpuMs() - c0;
  s.plan_cpu_ms = static_cast<double>(r.plan_cpu_us) / 1000.0;
  auto stats = Control(env, "GET", "/_sim/stats");
  s.requests = StatField(stats, "requests");
  s.commits = StatField(stats, "commits");
  s.writes = StatField(stats, "configure") + StatField(stats, "config_file");
  s.ok = !r.error;
  if (r.error) s.error = r.error->message;
  return s;
}

Sample Converge(const Env& env, int n) {
  return InChild([&] {
    ClearDevice(env);
    auto desired = Desired(env, n);
    Harness h(env, "converge");
    return Measure(env, [&] {
      return h.rec->Reconcile(desired, "default/edge1", "bench",
                              reconcilers::DeviceReconciler::Mode::kApply);
    });
  });
}

Sample NoOp(const Env& env, int n, int passes, std::vector<Sample>* out) {
  // One child: converge once (not measured), then `passes` no-op passes, each measured.
  rusage ru{};
  const std::string buf = ChildText(
      [&] {
        ClearDevice(env);
        auto desired = Desired(env, n);
        desired.generation = 1;  // as the daemon's directory source numbers its versions
        Harness h(env, "noop");
        h.rec->Reconcile(desired, "default/edge1", "bench",
                         reconcilers::DeviceReconciler::Mode::kApply);
        std::ostringstream o;
        for (int i = 0; i < passes; ++i) {
          auto s = Measure(env, [&] {
            return h.rec->Reconcile(desired, "default/edge1", "poll",
                                    reconcilers::DeviceReconciler::Mode::kApply);
          });
          o << s.wall_ms << " " << s.cpu_ms << " " << s.plan_cpu_ms << " " << s.requests << " "
            << s.commits << " " << s.writes << " " << s.ok << "\n";
        }
        return o.str();
      },
      &ru);
  std::istringstream in(buf);
  Sample s;
  while (in >> s.wall_ms >> s.cpu_ms >> s.plan_cpu_ms >> s.requests >> s.commits >> s.writes >>
         s.ok) {
    s.rss_kb = ru.ru_maxrss;
    out->push_back(s);
  }
  return out->empty() ? Sample{} : out->front();
}

// The per-resource model of Terraform/Crossplane providers: one /configure (one commit) per rule.
Sample PerRule(const Env& env, int n) {
  return InChild([&] {
    ClearDevice(env);
    auto desired = Desired(env, n);
    std::ifstream kf(env.dir / "creds.yaml");
    const std::string key = "netconverge-demo-key";
    auto client = Client(env);
    Control(env, "POST", "/_sim/stats/reset");
    Sample s;
    const double c0 = CpuMs();
    const auto t0 = std::chrono::steady_clock::now();
    int number = 10000;
    s.ok = true;
    for (const auto& rule : desired.rules) {
      auto body = vyos::EncodeConfigure(key, vyos::RuleSetCommands(number++, rule.rule), 0);
      auto r =
          client->Send("POST", "/configure", "application/json", body, std::chrono::minutes(10));
      if (!r || r->status != 200) {
        s.ok = false;
        s.error = r ? r->body : r.error().message;
        break;
      }
    }
    s.wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    s.cpu_ms = CpuMs() - c0;
    auto stats = Control(env, "GET", "/_sim/stats");
    s.requests = StatField(stats, "requests");
    s.commits = StatField(stats, "commits");
    s.writes = StatField(stats, "configure");
    return s;
  });
}

Sample Median(std::vector<Sample> v) {
  if (v.empty()) return Sample{};
  auto med = [&](auto field) {
    std::vector<double> x;
    for (const auto& s : v) x.push_back(static_cast<double>(s.*field));
    std::sort(x.begin(), x.end());
    return x[x.size() / 2];
  };
  Sample m = v.front();
  m.wall_ms = med(&Sample::wall_ms);
  m.cpu_ms = med(&Sample::cpu_ms);
  m.plan_cpu_ms = med(&Sample::plan_cpu_ms);
  m.rss_kb = static_cast<long>(med(&Sample::rss_kb));
  for (const auto& s : v) m.ok = m.ok && s.ok;
  return m;
}

std::string Fmt(double v, int prec = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

}  // namespace

// The switch row: N VlanInterfaces (spread over 48 ports and 10 bridge domains) converged on a
// fresh switch-sim process over SSH, then a no-op pass. Returns the table rows.
struct SwitchModel {
  int command_ms = 1;
  int commit_ms = 200;
  double commit_per_interface_ms = 0.5;
};

std::vector<std::string> SwitchRows(const std::string& sim, int n, int runs, const SwitchModel& m) {
  const fs::path dir = fs::temp_directory_path() / ("nc-bench-sw-" + std::to_string(getpid()));
  fs::create_directories(dir / "manifests");
  auto host = sim::GenerateKeyFile((dir / "host_key").string());
  auto client = sim::GenerateKeyPair();
  if (!host || !client) return {"| switch: key generation failed | | | | | |"};
  std::ofstream(dir / "client.pub") << "ssh-ed25519 " << client->second << "\n";
  {
    std::ofstream creds(dir / "creds.yaml");
    creds << "username: admin\nprivateKey: |\n";
    std::stringstream key(client->first);
    for (std::string l; std::getline(key, l);) creds << "  " << l << "\n";
  }
  std::string vlans;
  for (int i = 0; i < n; ++i)
    vlans += "---\napiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: v" +
             std::to_string(i) + "}\nspec:\n  deviceRef: sw1\n  interface: ge100-0/0/" +
             std::to_string(i % 48) + "\n  vlan: " + std::to_string(1000 + i) +
             "\n  bridgeDomain: BD-" + std::to_string(i % 10) + "\n";
  std::vector<Sample> conv, noop;
  std::vector<long> conv_cmds, noop_cmds;
  for (int run = 0; run < runs; ++run) {
    fs::remove(dir / "port");
    pid_t pid = fork();
    if (pid == 0) {
      if (!freopen("/dev/null", "w", stdout)) _exit(126);
      const std::string pf = (dir / "port").string(), hk = (dir / "host_key").string(),
                        ak = (dir / "client.pub").string();
      execl(sim.c_str(), sim.c_str(), "--port-file", pf.c_str(), "--host-key", hk.c_str(),
            "--authorized-key", ak.c_str(), "--latency-command-ms",
            std::to_string(m.command_ms).c_str(), "--latency-commit-ms",
            std::to_string(m.commit_ms).c_str(), "--latency-commit-per-interface-ms",
            Fmt(m.commit_per_interface_ms, 3).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 100 && !fs::exists(dir / "port"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream(dir / "port") >> port;
    if (port == 0) return {"| switch: switch-sim did not start (" + sim + ") | | | | | |"};
    std::ofstream(dir / "known_hosts")
        << "[127.0.0.1]:" << port << " ssh-ed25519 " << *host << "\n";
    std::ofstream(dir / "manifests/all.yaml")
        << "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: sw1}\nspec:\n  "
           "platform: dnos\n  address: 127.0.0.1:"
        << port
        << "\n  credentialsRef: {file: ../creds.yaml}\n  ssh: {knownHosts: ../known_hosts}\n"
        << vlans;
    long cmds[2] = {0, 0};
    rusage ru{};
    const std::string buf = ChildText(
        [&] {
          auto v = source::ValidateDirectory((dir / "manifests").string(), source::LoadServices());
          Env e;
          e.dir = dir;
          Harness h(e, "switch");
          std::ostringstream o;
          for (int pass = 0; pass < 2; ++pass) {
            const double c0 = CpuMs();
            const auto t0 = std::chrono::steady_clock::now();
            auto r = h.rec->Reconcile(v.desired, "default/sw1", "bench",
                                      reconcilers::DeviceReconciler::Mode::kApply);
            const double wall =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
            o << wall << " " << CpuMs() - c0 << " " << r.commits << " " << r.operations.size()
              << " " << !r.error << " ";
          }
          return o.str();
        },
        &ru);
    std::istringstream in(buf);
    Sample a, b;
    in >> a.wall_ms >> a.cpu_ms >> a.commits >> cmds[0] >> a.ok >> b.wall_ms >> b.cpu_ms >>
        b.commits >> cmds[1] >> b.ok;
    a.rss_kb = b.rss_kb = ru.ru_maxrss;
    conv.push_back(a);
    noop.push_back(b);
    conv_cmds.push_back(cmds[0]);
    noop_cmds.push_back(cmds[1]);
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  fs::remove_all(dir);
  auto med = [](std::vector<long> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const Sample c = Median(conv), z = Median(noop);
  auto line = [&](const std::string& what, const Sample& s, long commands) {
    return "| " + what + " | " + std::to_string(n) + " | " + Fmt(s.wall_ms / 1000.0, 3) + " | " +
           std::to_string(commands) + " | " + std::to_string(s.commits) + " | " + Fmt(s.cpu_ms) +
           " | " + Fmt(s.rss_kb / 1024.0) + " | " + std::to_string(runs) + (s.ok ? "" : " FAILED") +
           " |";
  };
  return {"Latency model (switch-sim over SSH): " + std::to_string(m.command_ms) +
              " ms per command, " + std::to_string(m.commit_ms) +
              " ms per commit or commit check + " + Fmt(m.commit_per_interface_ms, 2) +
              " ms per interface in the configuration.",
          "",
          "| scenario | VLAN interfaces | wall s (median) | configuration commands sent | commits "
          "| controller CPU ms | peak RSS MiB | runs |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
          line("converge new VLAN interfaces + 10 bridge domains on one switch (one commit)", c,
               med(conv_cmds)),
          line("no-op pass over them", z, med(noop_cmds))};
}

int main(int argc, char** argv) {
  CLI::App app{"netconverge-bench: spec §10 rows 1-3 against vyos-sim"};
  std::string sim = "build/bin/vyos-sim";
  int runs = 5;
  int per_rule_runs = 3;
  int big = 10000;
  double scale = 1.0;
  Model m;
  app.add_option("--sim", sim, "vyos-sim binary")->capture_default_str();
  app.add_option("--runs", runs, "runs per converge scenario (median)")->capture_default_str();
  app.add_option("--per-rule-runs", per_rule_runs, "runs of the one-commit-per-rule scenario")
      ->capture_default_str();
  app.add_option("--big", big, "the large N")->capture_default_str();
  app.add_option("--latency-scale", scale, "multiplies the latency model")->capture_default_str();
  bool noop_only = false;
  bool plan_only = false;
  std::string switch_sim;
  int switch_n = 500;
  app.add_option("--switch-sim", switch_sim, "switch-sim binary: run only the switch scenario");
  app.add_option("--switch-interfaces", switch_n, "VLAN interfaces in the switch scenario")
      ->capture_default_str();
  app.add_flag("--plan-only", plan_only,
               "time allocation + planning of --big rules in-process (no device)");
  app.add_flag("--noop-only", noop_only, "only the no-op scenario (for profiling)");
  CLI11_PARSE(app, argc, argv);

  if (!switch_sim.empty()) {
    for (const auto& l : SwitchRows(switch_sim, switch_n, std::max(3, runs), SwitchModel{}))
      std::cout << l << "\n";
    return 0;
  }
  if (plan_only) {
    Env fake;
    fake.dir = fs::temp_directory_path();
    fake.port = 1;
    fake.ca = "/dev/null";
    auto desired = Desired(fake, big);
    const auto& dev = desired.devices.begin()->second;
    auto rules = desired.RulesFor(dev.Key());
    std::map<core::PortKey, int> none;
    std::map<int, core::NatRule> empty_device;
    std::map<int, core::AppliedRecord> no_records;
    auto services = source::LoadServices();
    for (const char* which : {"converge (empty device)", "no-op (device matches)"}) {
      std::vector<double> cpu;
      std::map<core::PortKey, int> allocs;
      std::map<int, core::NatRule> device;
      std::map<int, core::AppliedRecord> records;
      if (std::string(which).rfind("no-op", 0) == 0) {
        auto a = core::AllocateRuleNumbers({dev, rules, none, empty_device});
        allocs = a.added;
        for (size_t i = 0; i < rules.size(); ++i) {
          int n = a.numbers[i];
          device[n] = rules[i].rule;
          records[n] = {rules[i].resource(), rules[i].port, rules[i].rule};
        }
      }
      for (int i = 0; i < 20; ++i) {
        const double c0 = CpuMs();
        auto a = core::AllocateRuleNumbers({dev, rules, allocs, device});
        std::map<int, core::PortKey> allocated;
        for (const auto& [k, n] : allocs) allocated.emplace(n, k);
        core::PlanInput in{dev,       rules,    a.numbers, a.failed, device, records,
                           allocated, services, "",        {},       {}};
        auto plan = core::ComputePlan(in);
        cpu.push_back(CpuMs() - c0);
        if (plan.ports.size() != rules.size()) return 1;
      }
      std::sort(cpu.begin(), cpu.end());
      std::cout << "allocate + plan, " << which << ", " << big << " rules: median "
                << Fmt(cpu[cpu.size() / 2], 2) << " ms CPU\n";
    }
    return 0;
  }

  Env env;
  env.dir = fs::temp_directory_path() / ("nc-bench-" + std::to_string(getpid()));
  fs::create_directories(env.dir);
  std::ofstream(env.dir / "creds.yaml") << "apiKey: netconverge-demo-key\n";
  pid_t sim_pid = fork();
  if (sim_pid == 0) {
    std::string port_file = (env.dir / "port").string();
    execl(sim.c_str(), sim.c_str(), "--listen", "127.0.0.1:0", "--port-file", port_file.c_str(),
          "--cert-dir", env.dir.c_str(), "--body-limit", "268435456", "--latency-request-ms",
          Fmt(m.request_ms, 3).c_str(), "--latency-op-ms", Fmt(m.op_ms, 3).c_str(),
          "--latency-commit-ms", Fmt(m.commit_ms, 3).c_str(), "--latency-commit-per-rule-ms",
          Fmt(m.commit_per_rule_ms, 3).c_str(), "--latency-scale", Fmt(scale, 3).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 100 && !fs::exists(env.dir / "port"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::ifstream(env.dir / "port") >> env.port;
  env.ca = (env.dir / "ca.pem").string();
  if (env.port == 0) {
    std::cerr << "bench: vyos-sim did not start (" << sim << ")\n";
    return 1;
  }
  const bool tty = isatty(STDERR_FILENO);
  auto progress = [&](const std::string& what) {
    if (tty) std::cerr << "\r\033[K" << what << std::flush;
  };

  std::vector<std::string> rows;
  auto row = [&](const std::string& name, int n, const Sample& s, int count) {
    rows.push_back("| " + name + " | " + std::to_string(n) + " | " + Fmt(s.wall_ms / 1000.0, 3) +
                   " | " + std::to_string(s.requests) + " | " + std::to_string(s.writes) + " | " +
                   std::to_string(s.commits) + " | " + Fmt(s.cpu_ms) + " | " +
                   Fmt(s.plan_cpu_ms, 2) + " | " + Fmt(s.rss_kb / 1024.0) + " | " +
                   std::to_string(count) + (s.ok ? "" : " FAILED: " + s.error) + " |");
  };
  std::map<int, Sample> converge;
  if (noop_only) per_rule_runs = 0;
  for (int n : {1000, big}) {
    if (noop_only) break;
    std::vector<Sample> v;
    int count = n >= 10000 ? std::max(3, runs / 2) : runs;
    for (int i = 0; i < count; ++i) {
      progress("converge " + std::to_string(n) + " rules, run " + std::to_string(i + 1));
      v.push_back(Converge(env, n));
    }
    converge[n] = Median(v);
    row("converge new rules (netconverge, one commit)", n, converge[n], count);
  }
  std::vector<Sample> per;
  for (int i = 0; i < per_rule_runs; ++i) {
    progress("one commit per rule, 1000 rules, run " + std::to_string(i + 1));
    per.push_back(PerRule(env, 1000));
  }
  Sample per_rule;
  if (!per.empty()) {
    per_rule = Median(per);
    row("same 1,000 rules, one commit per rule (per-resource model)", 1000, per_rule,
        per_rule_runs);
  }
  std::vector<Sample> noop;
  progress("no-op passes over " + std::to_string(big) + " rules");
  NoOp(env, big, std::max(runs, 5), &noop);
  Sample noop_med = Median(noop);
  row("no-op pass", big, noop_med, static_cast<int>(noop.size()));
  progress("");
  if (tty) std::cerr << "\r\033[K";

  std::cout << "Latency model (vyos-sim): " << m.request_ms << " ms per request, " << m.op_ms
            << " ms per set/delete, " << m.commit_ms << " ms per commit + " << m.commit_per_rule_ms
            << " ms per NAT rule in the committed config; scale " << scale << ".\n\n";
  std::cout << "| scenario | N | wall s (median) | requests | writes | commits | controller CPU ms "
               "| plan CPU ms | peak RSS MiB | runs |\n";
  std::cout << "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& r : rows) std::cout << r << "\n";
  if (!per.empty())
    std::cout << "\nOne commit per rule vs netconverge at N = 1,000: "
              << Fmt(per_rule.wall_ms / converge[1000].wall_ms, 0) << "x slower.\n";
  kill(sim_pid, SIGTERM);
  waitpid(sim_pid, nullptr, 0);
  fs::remove_all(env.dir);
  return 0;
}
