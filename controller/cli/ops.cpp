// The seed's migration-ctl operations (spec §7): `phase` and `fallback` (operator overrides kept
// in the store and honoured by every pass until cleared), `test-device` (probe a device the way a
// pass would reach it) and `generate-config` (in cli.cpp, from the option table itself).
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <rapidjson/writer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>

#include "adapters/device_adapter.hpp"
#include "controller/cli/common.hpp"
#include "controller/core/encoding.hpp"
#include "controller/http/auth.hpp"
#include "controller/reconcilers/adapter_factory.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/source/directory_source.hpp"
#include "transport/http/https_client.hpp"

namespace nc::cli {

namespace {

std::string Who() {
  const char* u = std::getenv("USER");
  if (u && *u) return core::PrintableText(u, 64);
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "uid " + std::to_string(::geteuid());
}

/// The devices this command may name: declared in the manifests (when the directory loads)
/// or known to the store. `declared` receives the declared ones.
std::set<std::string> KnownDevices(const std::string& manifests, store::SqliteStore& st,
                                   core::DesiredState* declared) {
  std::set<std::string> known;
  if (::access(manifests.c_str(), F_OK) == 0) {
    auto v = source::ValidateDirectory(manifests, source::LoadServices());
    for (const auto& [k, _] : v.desired.devices) known.insert(k);
    if (declared) *declared = v.desired;
  }
  if (auto rows = st.DeviceStatuses())
    for (const auto& r : *rows) known.insert(r.device);
  return known;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "none" : out;
}

/// c.device as a key, if the manifests or the store know it; else says which are known.
std::optional<std::string> KnownDeviceKey(const Common& c, store::SqliteStore& st,
                                          core::DesiredState* declared) {
  const std::string key = QualifiedName(c.device);
  auto known = KnownDevices(c.manifests, st, declared);
  if (known.count(key)) return key;
  std::cerr << "netconverge: no device '" << c.device << "' in " << c.manifests << " or in "
            << c.store << " (known: " << Join(known) << ")\n";
  return std::nullopt;
}

}  // namespace

int CmdRelease(const Common& c) {
  if (!StoreExists(c.store)) return 1;
  auto st = OpenStore(c.store, false);
  if (!st) return 1;
  core::DesiredState declared;
  const auto found = KnownDeviceKey(c, *st, &declared);
  if (!found) return 1;
  const std::string& key = *found;
  const char* user = std::getenv("USER");
  const std::string who = std::string("cli:") + (user && *user ? user : "unknown");
  const store::Event e =
      reconcilers::DeletionsReleasedEvent(key, who, runtime::SystemClock().UtcIso());
  if (auto r = st->AddEvents({e}); !r) {
    std::cerr << "netconverge: " << r.error().message << "\n";
    return 1;
  }
  std::cout << "released: " << key
            << "'s held deletions proceed on its next pass (a running daemon's next poll, or "
            << "netconverge apply)\n";
  return 0;
}

int CmdOverride(const Common& c, const std::string& what, const std::string& value, bool clear) {
  auto st = OpenStore(c.store, false);
  if (!st) return 1;
  core::DesiredState declared;
  const auto found = KnownDeviceKey(c, *st, &declared);
  if (!found) return 1;
  const std::string& key = *found;
  auto all = st->Overrides();
  if (!all) {
    std::cerr << "netconverge: " << all.error().message << "\n";
    return 1;
  }
  store::DeviceOverride o =
      all->count(key) ? all->at(key) : store::DeviceOverride{key, "", "", "", ""};
  o.updated_at = runtime::FormatUtc(std::chrono::system_clock::now());
  o.updated_by = CliActor();
  std::string message;
  if (what == "phase") {
    static const std::map<std::string, std::string> kPhases = {
        {"observe", "Observe"}, {"create-update", "CreateUpdate"}, {"full", "Full"}};
    if (clear) {
      o.management.clear();
      message = "management phase override cleared by " + Who() +
                ": the manifest's spec.management applies";
    } else {
      o.management = kPhases.at(value);
      message = "management phase set to " + o.management + " by " + Who() + " (netconverge phase)";
    }
  } else {
    auto d = declared.devices.find(key);
    if (!clear && d != declared.devices.end() && d->second.IsSwitch()) {
      std::cerr
          << "netconverge: " << key
          << " is a switch: its only transport is the SSH CLI, there is no fallback to toggle\n";
      return 1;
    }
    if (clear) {
      o.fallback.clear();
      message = "fallback override cleared by " + Who() +
                ": the manifest's spec.transport.fallback applies";
    } else {
      o.fallback = value == "on" ? "ssh-cli" : "none";
      message = "fallback set to " + o.fallback + " by " + Who() + " (netconverge fallback)";
    }
  }
  store::Event audit{0,        o.updated_at,
                     key,      "",
                     "Normal", what == "phase" ? "PhaseOverridden" : "FallbackOverridden",
                     message,  0};
  if (auto r = st->SetOverride(o, audit); !r) {
    std::cerr << "netconverge: " << r.error().message << "\n";
    return 1;
  }
  std::cout << key << ": " << message << "\n";
  if (!clear)
    std::cout << "  it overrides the manifest until `netconverge " << what << " " << c.device
              << " --clear`; a running daemon uses it from the device's next pass\n";
  return 0;
}

/// Prints the store's overrides under the status tables (nothing when there are none).
void PrintOverrides(store::SqliteStore& st, const std::string& device) {
  auto all = st.Overrides();
  if (!all || all->empty()) return;
  std::vector<std::vector<std::string>> rows{
      {"DEVICE", "PHASE OVERRIDE", "FALLBACK OVERRIDE", "SET"}};
  for (const auto& [k, o] : *all)
    if (device.empty() || k == QualifiedName(device))
      rows.push_back({k, o.management.empty() ? "-" : o.management,
                      o.fallback.empty() ? "-" : o.fallback, o.updated_at});
  if (rows.size() == 1) return;
  std::cout << "\n";
  PrintTable(rows);
}

}  // namespace nc::cli

namespace nc::cli {

namespace {

/// A TCP connect with a deadline: "" when it connected, else why not.
std::string TcpConnect(const std::string& host, int port, std::chrono::milliseconds timeout,
                       double* ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return "cannot resolve " + host + ": " + ::gai_strerror(rc);
  std::string why = "no address";
  const auto t0 = std::chrono::steady_clock::now();
  for (auto* ai = res; ai; ai = ai->ai_next) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc == 0) {
        why = "no answer within " + std::to_string(timeout.count()) +
              " ms (filtered, or the host is down)";
        ::close(fd);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc == 0) {
      *ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ::close(fd);
      ::freeaddrinfo(res);
      return "";
    }
    why = errno == ECONNREFUSED ? "connection refused (nothing listens on that port)"
                                : std::string(std::strerror(errno));
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return why;
}

}  // namespace

int CmdToken(const TokenOptions& o) {
  auto ttl = core::ParseDurationMs(o.ttl);
  if (!ttl || *ttl <= 0 || *ttl > int64_t{30} * 24 * 3600 * 1000) {
    std::cerr << "netconverge token: --ttl: "
              << (ttl ? "must be positive and at most 720h (the API refuses longer)"
                      : ttl.error().message)
              << "\n";
    return 1;
  }
  // The daemon's own reading of the file: the same length rule, the same newline handling.
  auto secret = http::LoadJwtSecret(o.secret_file);
  if (!secret) {
    std::cerr << "netconverge token: " << secret.error().message << "\n";
    return 1;
  }
  const auto exp =
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch() + std::chrono::milliseconds(*ttl))
          .count();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("sub");
  w.String(o.subject.c_str());
  w.Key("role");
  w.String(o.role.c_str());
  w.Key("exp");
  w.Int64(exp);
  w.EndObject();
  std::cout << http::SignJwt(buf.GetString(), *secret) << "\n";
  return 0;
}

namespace {

/// test-device's findings as JSON or as a table.
void PrintChecks(const std::string& output, const std::string& key, const core::Device& device,
                 const std::vector<DiagnosticCheck>& checks, bool failed) {
  const char* platform = device.IsSwitch() ? "dnos" : "vyos";
  if (output == "json") {
    JsonText buf;
    Json w(buf);
    w.StartObject();
    JStr(w, "device", key);
    JStr(w, "platform", platform);
    JStr(w, "address", device.address);
    w.Key("ok");
    w.Bool(!failed);
    w.Key("checks");
    w.StartArray();
    for (const auto& ch : checks) {
      w.StartObject();
      JStr(w, "name", ch.name);
      JStr(w, "state", ch.state);
      JStr(w, "detail", ch.detail);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return;
  }
  std::cout << key << " (" << platform << ", " << device.transport_primary << " " << device.address
            << ")\n";
  std::vector<std::vector<std::string>> rows;
  rows.reserve(checks.size());
  for (const auto& ch : checks) rows.push_back({"  " + ch.state, ch.name, ch.detail});
  PrintTable(rows);
  std::cout << (failed ? "FAILED: see the checks above\n" : "all checks passed\n");
}

}  // namespace

int CmdTestDevice(const Common& c, const std::string& timeout_text) {
  auto timeout = core::ParseDurationMs(timeout_text);
  if (!timeout || *timeout <= 0) {
    std::cerr << "netconverge test-device: --timeout: "
              << (timeout ? "must be positive" : timeout.error().message) << "\n";
    return 1;
  }
  auto services = source::LoadServices();
  auto desired = LoadStrict(c.manifests, services);
  if (!desired) return 1;
  auto keys = SelectDevices(*desired, c.device);
  if (keys.size() != 1) {
    std::cerr << "netconverge: no device '" << c.device << "' in " << c.manifests << "\n";
    return 1;
  }
  core::Device device = desired->devices.at(keys[0]);
  device.request_timeout_ms = *timeout;
  device.ssh_command_timeout_ms = *timeout;
  std::vector<DiagnosticCheck> checks;
  bool failed = false;
  auto add = [&](DiagnosticCheck ch) {
    failed = failed || ch.state == "FAIL";
    checks.push_back(std::move(ch));
  };
  // The primary transport's endpoint: the HTTPS API on 443, or the SSH CLI on 22, unless given.
  auto endpoint =
      transport::SplitHostPort(device.address, device.transport_primary == "https-api" ? 443 : 22);
  if (!endpoint) {
    std::cerr << "netconverge: " << keys[0] << ": " << endpoint.error().message << "\n";
    return 1;
  }
  const auto& [host, port] = *endpoint;
  double ms = 0;
  const std::string why = TcpConnect(host, port, std::chrono::milliseconds(*timeout), &ms);
  const std::string where = host + ":" + std::to_string(port);
  if (!why.empty()) {
    add({"reachable", "FAIL", where + ": " + why});
    for (const char* name : {"platform version", "authentication", "confirmed commit"})
      add({name, "skip", "not tried: the device is not reachable"});
  } else {
    char t[32];
    std::snprintf(t, sizeof t, "%.1f", ms);
    add({"reachable", "ok", where + " accepted a TCP connection in " + t + " ms"});
    reconcilers::DefaultAdapterFactory factory;
    auto adapter = factory.Create(device);
    if (!adapter)
      add({"credentials", "FAIL", adapter.error().message});
    else
      for (auto& ch : (*adapter)->Diagnose()) add(std::move(ch));
  }
  if (device.transport_fallback == "ssh-cli") {
    double fms = 0;
    const std::string fwhy =
        TcpConnect(host, device.ssh_port, std::chrono::milliseconds(*timeout), &fms);
    add({"fallback ssh-cli", "info",
         host + ":" + std::to_string(device.ssh_port) +
             (fwhy.empty() ? " reachable" : ": " + fwhy)});
  }
  PrintChecks(c.output, keys[0], device, checks, failed);
  return failed ? 1 : 0;
}

std::string CliActor() {
  return "cli " + Who();
}

int CmdHistory(const Common& c, int64_t run_id, int limit) {
  if (!StoreExists(c.store)) return 1;
  auto st = OpenStore(c.store, false);
  if (!st) return 1;
  const std::string key = manager::QualifiedName(c.device);
  if (run_id > 0) {
    auto run = st->GetRun(run_id);
    if (!run) {
      std::cerr << "netconverge: " << run.error().message << "\n";
      return 1;
    }
    if (run->device != key) {
      std::cerr << "netconverge: run " << run_id << " is of device " << run->device << ", not "
                << key << "\n";
      return 1;
    }
    auto ops = st->Operations(run_id);
    if (!ops) {
      std::cerr << "netconverge: " << ops.error().message << "\n";
      return 1;
    }
    if (c.output == "json") {
      JsonText buf;
      Json w(buf);
      manager::WriteRun(w, *run, &*ops);
      std::cout << buf.GetString() << "\n";
      return 0;
    }
    std::cout << "run " << run->id << " of " << run->device << ": " << run->outcome << ", "
              << run->trigger << " by " << (run->actor.empty() ? "-" : run->actor) << ", started "
              << run->started_at << ", " << run->duration_ms << " ms, " << run->added << " added, "
              << run->updated << " updated, " << run->deleted << " deleted, " << run->commits
              << " commit(s) over " << (run->transport.empty() ? "-" : run->transport) << "\n";
    if (!run->message.empty()) std::cout << "message: " << run->message << "\n";
    if (run->snapshot_id > 0)
      std::cout << "snapshot before: " << run->snapshot_id << " (netconverge rollback " << c.device
                << " --snapshot " << run->snapshot_id << " restores it)\n";
    else
      std::cout << "snapshot before: none (the run changed nothing)\n";
    std::cout << "operations sent (" << ops->size() << " line(s)):\n";
    for (const auto& line : *ops) std::cout << line << "\n";
    return 0;
  }
  auto runs = st->Runs(key, limit);
  if (!runs) {
    std::cerr << "netconverge: " << runs.error().message << "\n";
    return 1;
  }
  if (c.output == "json") {
    JsonText buf;
    Json w(buf);
    manager::WriteRuns(w, key, *runs);
    std::cout << buf.GetString() << "\n";
    return 0;
  }
  if (runs->empty()) {
    std::cout << "no runs of " << key << " in " << c.store << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"RUN", "STARTED", "TRIGGER", "BY", "OUTCOME", "ADDED",
                                              "UPDATED", "DELETED", "COMMITS", "TRANSPORT",
                                              "SNAPSHOT"}};
  for (const auto& r : *runs)
    rows.push_back({std::to_string(r.id), r.started_at, r.trigger, r.actor.empty() ? "-" : r.actor,
                    r.outcome, std::to_string(r.added), std::to_string(r.updated),
                    std::to_string(r.deleted), std::to_string(r.commits),
                    r.transport.empty() ? "-" : r.transport,
                    r.snapshot_id > 0 ? std::to_string(r.snapshot_id) : "-"});
  PrintTable(rows);
  return 0;
}

}  // namespace nc::cli
