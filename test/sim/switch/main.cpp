// switch-sim: the DNOS-style switch CLI emulator as a program, served over real SSH (a libssh
// server on 127.0.0.1) for the demo and manual use. Keeps (or creates) its host key in
// --host-key, so that a client's known_hosts entry stays valid across restarts.
#include <CLI/CLI.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "test/sim/common/process.hpp"
#include "test/sim/common/ssh_server.hpp"
#include "test/sim/switch/switch_sim.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "switch-sim: emulator of a DriveNets DNOS switch CLI over SSH for netconverge's tests and "
      "demo"};
  nc::sim::SwitchSimOptions o;
  nc::sim::SshServerOptions s;
  std::string port_file;
  std::string authorized_key_file;
  std::string config_file;
  app.add_option("--port", s.port, "port on 127.0.0.1 (0 = any free port)")->capture_default_str();
  app.add_option("--port-file", port_file, "write the bound port to this file");
  app.add_option("--host-key", s.host_key_file, "host private key; created (ed25519) when missing")
      ->required();
  app.add_option("--user", s.user, "login name")->capture_default_str();
  app.add_option("--password", s.password, "password accepted (empty: none)");
  app.add_option("--authorized-key", authorized_key_file,
                 "public key file (ssh-ed25519 ...) accepted for --user");
  app.add_option("--hostname", o.hostname, "prompt host name")->capture_default_str();
  app.add_option("--version-string", o.version, "DNOS version reported by show system")
      ->capture_default_str();
  app.add_option("--config", config_file,
                 "initial configuration: flat lines as `show config | flatten` prints them");
  app.add_option("--latency-command-ms", o.per_command_ms, "latency of every command")
      ->capture_default_str();
  app.add_option("--latency-commit-ms", o.per_commit_ms, "latency of every commit")
      ->capture_default_str();
  app.add_option("--latency-commit-per-interface-ms", o.per_interface_commit_ms,
                 "commit latency per interface")
      ->capture_default_str();
  app.add_option("--banner-ms", o.banner_ms, "delay of the CLI-loading banner")
      ->capture_default_str();
  app.add_option("--confirm-minute-ms", o.minute_ms, "length of one commit-confirm minute in ms")
      ->capture_default_str();
  nc::sim::SwitchFaults faults;
  app.add_option("--fault-hang-on", faults.hang_on,
                 "never answer a line containing this text (a prompt timeout)");
  app.add_option("--fault-unknown-word-on", faults.unknown_word_on,
                 "answer ERROR: Unknown word to a configuration line containing this");
  app.add_option("--fault-fail-commit-check", faults.fail_commit_check,
                 "fail the next N commit checks")
      ->capture_default_str();
  app.add_flag("--fault-drop-before-confirm", faults.drop_before_confirm,
               "drop the connection after the next commit confirm");
  app.add_flag("--fault-concurrent-commit", faults.concurrent_commit,
               "another user commits just before the next commit");
  app.add_flag("--fault-ask-on-commit", faults.ask_on_commit,
               "the next commit asks a (yes/no) question");
  CLI11_PARSE(app, argc, argv);

  if (!std::filesystem::exists(s.host_key_file)) {
    if (auto k = nc::sim::GenerateKeyFile(s.host_key_file); !k) {
      std::cerr << "switch-sim: " << k.error().message << "\n";
      return 1;
    }
  }
  if (!authorized_key_file.empty()) {
    std::ifstream in(authorized_key_file);
    std::string type;
    in >> type >> s.authorized_key;
    if (!in || s.authorized_key.empty()) {
      std::cerr << "switch-sim: cannot read a public key from " << authorized_key_file << "\n";
      return 2;
    }
  }
  if (s.password.empty() && s.authorized_key.empty()) {
    std::cerr << "switch-sim: give --password or --authorized-key\n";
    return 2;
  }
  nc::sim::SwitchSim sim(o);
  sim.SetFaults(faults);
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) {
      if (l.empty() || l[0] == '#') continue;
      if (l.size() > 2 && l.compare(l.size() - 2, 2, " ^") == 0) l.resize(l.size() - 2);
      lines.push_back(l);
    }
    if (auto st = sim.CommitOutOfBand(lines, "admin"); !st) {
      std::cerr << "switch-sim: " << config_file << ": " << st.error().message << "\n";
      return 2;
    }
  }
  nc::sim::SshServer server(s, [&](const std::string& user) { return sim.NewTerminal(user); });
  nc::sim::BlockTerminationSignals();
  if (auto st = server.Start(); !st) {
    std::cerr << "switch-sim: " << st.error().message << "\n";
    return 1;
  }
  if (!nc::sim::WritePortFile(port_file, server.port())) {
    std::cerr << "cannot write " << port_file << "\n";
    return 1;
  }
  std::cout << "switch-sim: listening on ssh://" << s.user << "@127.0.0.1:" << server.port()
            << " (DNOS " << o.version << ", host " << o.hostname << ")" << std::endl;
  nc::sim::WaitForTerminationSignal();
  server.Stop();
  std::cout << "switch-sim: stopped" << std::endl;
  return 0;
}
