// Builders of api objects for core tests.
#pragma once

#include "controller/api/v1alpha1/types.hpp"
#include "controller/core/values.hpp"

namespace nc::testing {

/// Lines of Debian 12's /etc/services (netbase 6.4, the base of VyOS 1.4/1.5), in its format.
inline core::ServiceTable DebianServices() {
  return core::ParseServices(
      "# Network services, Internet style\n"
      "ftp\t\t21/tcp\n"
      "ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol\n"
      "smtp\t\t25/tcp\t\tmail\n"
      "domain\t\t53/tcp\t\t\t\t# Domain Name Server\n"
      "domain\t\t53/udp\n"
      "tftp\t\t69/udp\n"
      "http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP\n"
      "imap2\t\t143/tcp\t\timap\t\t# Interim Mail Access P 2 and 4\n"
      "https\t\t443/tcp\t\t\t\t# http protocol over TLS/SSL\n"
      "https\t\t443/udp\t\t\t\t# HTTP/3\n"
      "mysql\t\t3306/tcp\n"
      "ms-wbt-server\t3389/tcp\n"
      "postgresql\t5432/tcp\tpostgres\t# PostgreSQL Database\n"
      "http-alt\t8080/tcp\twebcache\t# WWW caching service\n");
}

inline api::DeviceObject MakeDevice(const std::string& name = "edge1") {
  api::DeviceObject d;
  d.meta.name = name;
  d.pos = {"devices.yaml", 1, 1};
  d.spec.platform = "vyos";
  d.spec.address = "127.0.0.1:8443";
  d.spec.credentials_file = "creds.yaml";
  return d;
}

inline api::PortSpec MakePort(const std::string& name, const std::string& proto,
                              const std::string& ext, const std::string& in = "") {
  api::PortSpec p;
  p.name = name;
  p.protocol = proto;
  p.external_port = ext;
  p.internal_port = in;
  return p;
}

inline api::PortForwardObject MakePortForward(const std::string& name, const std::string& vm,
                                              std::vector<api::PortSpec> ports,
                                              const std::string& device = "edge1") {
  api::PortForwardObject pf;
  pf.meta.name = name;
  pf.pos = {name + ".yaml", 1, 1};
  pf.spec.device_ref = device;
  pf.spec.vm = vm;
  pf.spec.internal_address = "192.168.10.11";
  pf.spec.inbound_interface = "eth0";
  pf.spec.ports = std::move(ports);
  for (size_t i = 0; i < pf.spec.ports.size(); ++i)
    pf.fields["spec.ports[" + std::to_string(i) + "]"] = {static_cast<int>(10 + 5 * i), 7};
  return pf;
}

}  // namespace nc::testing
