// vyos-sim: the VyOS HTTP API emulator as a program (and, with --ssh, its CLI over SSH), for the
// demo, the end-to-end tests and the benchmarks. Generates its certificate authority at start and
// writes the CA where clients can point `tls.caFile`.
#include <CLI/CLI.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "test/sim/common/process.hpp"
#include "test/sim/common/tls_cert.hpp"
#include "test/sim/vyos/vyos_sim.hpp"
#include "test/sim/vyos/vyos_sim_server.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "vyos-sim: emulator of the VyOS HTTP API (HTTPS) and CLI (SSH) of VyOS 1.3, 1.4 and 1.5, for "
      "netconverge's tests and demo"};
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  std::string cert_dir = ".";
  std::string config_file;
  std::string config_commands;
  std::string saved_path;
  nc::sim::VyosSim::Options o;
  o.keys.clear();
  std::vector<std::string> keys;
  app.add_option("--listen", listen, "address:port to listen on (port 0 = any free port)")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "write the bound port to this file");
  app.add_option("--cert-dir", cert_dir, "where to write ca.pem (the CA clients must trust)")
      ->capture_default_str();
  app.add_option("--key", keys, "API key accepted (repeatable); default netconverge-demo-key");
  std::string profile = "1.5";
  std::string version_string;
  std::string rest = "on";
  std::string confirm_order = "commit-first";
  app.add_option("--version", profile,
                 "the VyOS version to emulate: its API surface (/info and confirm_time from 1.5) "
                 "and NAT syntax (1.3's inbound-interface leaf)")
      ->check(CLI::IsMember({"1.3", "1.4", "1.5"}))
      ->capture_default_str();
  app.add_option("--version-string", version_string,
                 "version reported by /info, /show and the CLI (default: one of --version's)");
  app.add_option("--rest", rest,
                 "1.5: off = `service https api rest` is not configured (REST routes answer 404)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  app.add_option("--confirm-order", confirm_order,
                 "commit-confirm: arm-first arms the timer before the commit (some 1.5 builds), "
                 "commit-first after it")
      ->check(CLI::IsMember({"arm-first", "commit-first"}))
      ->capture_default_str();
  app.add_option("--hostname", o.hostname, "host name reported by /info")->capture_default_str();
  bool no_info = false;
  app.add_flag("--no-info", no_info, "answer /info with 404, as builds before /info did");
  bool no_confirm_time = false;
  app.add_flag("--no-confirm-time", no_confirm_time,
               "1.5: a build whose API predates commit-confirm (confirm_time is ignored)");
  app.add_flag("--strict", o.strict,
               "service https api rest strict: deleting a missing path is an error");
  app.add_option("--confirm-action", o.confirm_action,
                 "commit-confirm timeout action: reboot or reload")
      ->check(CLI::IsMember({"reboot", "reload"}))
      ->capture_default_str();
  app.add_option("--confirm-minute-ms", o.confirm_minute_ms,
                 "length of one confirm-timer minute in ms (tests shorten it)")
      ->capture_default_str();
  app.add_option("--body-limit", o.body_limit, "request body limit in bytes (VyOS default 1 MB)")
      ->capture_default_str();
  app.add_option("--latency-request-ms", o.latency.request_ms, "latency of every request")
      ->capture_default_str();
  app.add_option("--latency-op-ms", o.latency.op_ms, "latency per set/delete")
      ->capture_default_str();
  app.add_option("--latency-commit-ms", o.latency.commit_ms, "latency per commit")
      ->capture_default_str();
  app.add_option("--latency-commit-per-rule-ms", o.latency.commit_per_rule_ms,
                 "commit latency per NAT rule in the config")
      ->capture_default_str();
  app.add_option("--latency-scale", o.latency.scale, "multiplies every latency")
      ->capture_default_str();
  app.add_option("--config", config_file, "initial running and saved config (config.boot syntax)");
  app.add_option("--config-commands", config_commands, "initial config as set commands");
  app.add_option("--saved-path", saved_path, "write config.boot here on save");
  nc::sim::SshServerOptions ssh;
  ssh.user = "vyos";
  std::string ssh_port_file;
  std::string ssh_authorized_key_file;
  bool with_ssh = false;
  app.add_flag("--ssh", with_ssh,
               "also serve the VyOS CLI over SSH on 127.0.0.1 (the fallback transport)");
  app.add_option("--ssh-port", ssh.port, "SSH port (0 = any free port)")->capture_default_str();
  app.add_option("--ssh-port-file", ssh_port_file, "write the bound SSH port to this file");
  app.add_option("--ssh-host-key", ssh.host_key_file,
                 "SSH host private key; created (ed25519) when missing");
  app.add_option("--ssh-user", ssh.user, "SSH login name")->capture_default_str();
  app.add_option("--ssh-password", ssh.password, "SSH password accepted (empty: none)");
  app.add_option("--ssh-authorized-key", ssh_authorized_key_file,
                 "public key file (ssh-ed25519 ...) accepted over SSH");
  std::string access_log;
  app.add_option("--access-log", access_log,
                 "append every HTTPS request here as nginx's log_format '$msec \"$request\" "
                 "$status \"$http_user_agent\"'");
  CLI11_PARSE(app, argc, argv);
  o.keys = keys.empty() ? std::vector<std::string>{"netconverge-demo-key"} : keys;
  o.saved_path = saved_path;
  o.info_endpoint = !no_info;
  o.profile = *nc::sim::vy::ParseVersion(profile);
  o.version = !version_string.empty() ? version_string
              : profile == "1.3"      ? "1.3.8"
              : profile == "1.4"      ? "1.4.1"
                                      : o.version;
  o.rest = rest == "on";
  o.arm_first = confirm_order == "arm-first";
  o.confirm_time = !no_confirm_time;

  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "vyos-sim: --listen must be address:port\n";
    return 2;
  }
  nc::sim::VyosSim sim(o);
  for (const auto& [file, commands] :
       {std::pair{config_file, false}, std::pair{config_commands, true}}) {
    if (file.empty()) continue;
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) {
      std::cerr << "vyos-sim: cannot read " << file << "\n";
      return 2;
    }
    if (auto st = sim.LoadConfig(ss.str(), commands); !st) {
      std::cerr << "vyos-sim: " << file << ": " << st.error().message << "\n";
      return 2;
    }
  }
  auto cert = nc::sim::GenerateServerCert("vyos-sim");
  if (!cert) {
    std::cerr << "vyos-sim: " << cert.error().message << "\n";
    return 1;
  }
  const std::string ca_path = cert_dir + "/ca.pem";
  {
    std::ofstream ca(ca_path);
    ca << cert->ca_pem;
    if (!ca) {
      std::cerr << "vyos-sim: cannot write " << ca_path << "\n";
      return 1;
    }
  }
  nc::sim::VyosSimServer server(sim, {listen.substr(0, colon), std::stoi(listen.substr(colon + 1)),
                                      cert->cert_pem, cert->key_pem, access_log});
  nc::sim::BlockTerminationSignals();
  if (auto st = server.Start(); !st) {
    std::cerr << "vyos-sim: " << st.error().message << "\n";
    return 1;
  }
  if (!nc::sim::WritePortFile(port_file, server.port())) {
    std::cerr << "cannot write " << port_file << "\n";
    return 1;
  }
  std::unique_ptr<nc::sim::SshServer> ssh_server;
  if (with_ssh) {
    if (ssh.host_key_file.empty()) ssh.host_key_file = cert_dir + "/ssh_host_key";
    if (!std::filesystem::exists(ssh.host_key_file))
      if (auto k = nc::sim::GenerateKeyFile(ssh.host_key_file); !k) {
        std::cerr << "vyos-sim: " << k.error().message << "\n";
        return 1;
      }
    if (!ssh_authorized_key_file.empty()) {
      std::ifstream in(ssh_authorized_key_file);
      std::string type;
      in >> type >> ssh.authorized_key;
    }
    if (ssh.password.empty() && ssh.authorized_key.empty()) {
      std::cerr << "vyos-sim: --ssh needs --ssh-password or --ssh-authorized-key\n";
      return 2;
    }
    ssh_server = std::make_unique<nc::sim::SshServer>(
        ssh, [&](const std::string& user) { return sim.NewTerminal(user); });
    if (auto st = ssh_server->Start(); !st) {
      std::cerr << "vyos-sim: " << st.error().message << "\n";
      return 1;
    }
    if (!nc::sim::WritePortFile(ssh_port_file, ssh_server->port())) {
      std::cerr << "cannot write " << ssh_port_file << "\n";
      return 1;
    }
    std::cout << "vyos-sim: VyOS CLI on ssh://" << ssh.user << "@127.0.0.1:" << ssh_server->port()
              << std::endl;
  }
  std::cout << "vyos-sim: listening on https://" << listen.substr(0, colon) << ":" << server.port()
            << " (VyOS " << o.version << "; CA " << ca_path << ")" << std::endl;
  nc::sim::WaitForTerminationSignal();
  if (ssh_server) ssh_server->Stop();
  server.Stop();
  std::cout << "vyos-sim: stopped" << std::endl;
  return 0;
}
