// kube-sim: the Kubernetes API server emulator as a program. Serves HTTPS on loopback with a CA
// generated at start, loads CRDs from files or folders, and writes a kubeconfig (CA data and a
// bearer token) that the real kubectl and `netconverge run --kube` can use.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "test/sim/common/https_server.hpp"
#include "test/sim/common/process.hpp"
#include "test/sim/common/tls_cert.hpp"
#include "test/sim/kube/kube_sim.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{
      "kube-sim: Kubernetes API server emulator for netconverge's tests (and the real kubectl)"};
  nc::sim::KubeSimOptions o;
  std::vector<std::string> crds;
  int port = 0;
  std::string port_file, cert_dir = ".", kubeconfig;
  app.add_option("--crds", crds, "CRD files or folders of them (repeatable)");
  app.add_option("--port", port, "port on 127.0.0.1 (0 = any free port)")->capture_default_str();
  app.add_option("--port-file", port_file, "write the bound port to this file");
  app.add_option("--cert-dir", cert_dir, "where to write ca.pem")->capture_default_str();
  app.add_option("--kubeconfig", kubeconfig, "write a kubeconfig for this server here");
  app.add_option("--token", o.token, "the bearer token accepted")->capture_default_str();
  app.add_option("--history", o.history,
                 "watch events kept; older resourceVersions get 410 Expired")
      ->capture_default_str();
  app.add_option("--bookmark-ms", o.bookmark_interval_ms, "interval of watch bookmarks")
      ->capture_default_str();
  app.add_option(
      "--audit-log", o.audit_log,
      "append every API request as 'VERB GROUP RESOURCE[/SUB] NAMESPACE CLIENT NAME TIME' to this "
      "file");
  CLI11_PARSE(app, argc, argv);

  nc::sim::KubeSim sim(o);
  for (const auto& c : crds) {
    std::vector<fs::path> files;
    if (fs::is_directory(c)) {
      for (const auto& e : fs::directory_iterator(c))
        if (e.path().extension() == ".yaml" || e.path().extension() == ".yml")
          files.push_back(e.path());
    } else {
      files.push_back(c);
    }
    for (const auto& f : files) {
      std::ifstream in(f);
      std::stringstream ss;
      ss << in.rdbuf();
      if (auto st = sim.LoadCrds(ss.str(), f.string()); !st) {
        std::cerr << "kube-sim: " << st.error().message << "\n";
        return 2;
      }
    }
  }
  auto cert = nc::sim::GenerateServerCert("kube-sim");
  if (!cert) {
    std::cerr << "kube-sim: " << cert.error().message << "\n";
    return 1;
  }
  std::ofstream(cert_dir + "/ca.pem") << cert->ca_pem;
  nc::sim::HttpsServerOptions so;
  so.port = port;
  so.cert_pem = cert->cert_pem;
  so.key_pem = cert->key_pem;
  so.body_limit = 3 << 20;  // kube-apiserver's request size limit
  so.too_large = {413,
                  "application/json",
                  "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                  "\"Failure\",\"message\":\"Request entity too "
                  "large: limit is 3145728\",\"reason\":\"RequestEntityTooLarge\",\"code\":413}",
                  {},
                  false,
                  0,
                  nullptr};
  so.server_header = "kube-sim";
  so.idle_timeout_s = 3600;
  nc::sim::BlockTerminationSignals();
  nc::sim::HttpsServer server(so, [&](const nc::sim::HttpRequest& r) { return sim.Handle(r); });
  if (auto st = server.Start(); !st) {
    std::cerr << "kube-sim: " << st.error().message << "\n";
    return 1;
  }
  if (!kubeconfig.empty()) {
    std::ofstream kc(kubeconfig);
    kc << "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: "
          "https://127.0.0.1:"
       << server.port() << "\n    certificate-authority-data: " << nc::sim::Base64(cert->ca_pem)
       << "\nusers:\n- name: kube-sim\n  user:\n    token: " << o.token
       << "\ncontexts:\n- name: kube-sim\n  context: {cluster: kube-sim, user: kube-sim, "
          "namespace: default}\ncurrent-context: kube-sim\n";
  }
  if (!nc::sim::WritePortFile(port_file, server.port())) {
    std::cerr << "kube-sim: cannot write " << port_file << "\n";
    return 1;
  }
  std::cout << "kube-sim: listening on https://127.0.0.1:" << server.port() << std::endl;
  nc::sim::WaitForTerminationSignal();
  sim.Shutdown();
  server.Stop();
  std::cout << "kube-sim: stopped" << std::endl;
  return 0;
}
