// Builders of api objects for core tests.
#pragma once

#include "controller/api/v1alpha1/types.hpp"

namespace nc::testing {

inline api::DeviceObject MakeDevice(const std::string& name = "edge1") {
  api::DeviceObject d;
  d.meta.name = name;
  d.pos = {"devices.yaml", 1, 1};
  d.spec.platform = "vyos";
  d.spec.address = "127.0.0.1:8443";
  d.spec.credentials_file = "creds.yaml";
  return d;
}

inline api::PortSpec MakePort(const std::string& name, const std::string& proto, const std::string& ext,
                              const std::string& in = "") {
  api::PortSpec p;
  p.name = name;
  p.protocol = proto;
  p.external_port = ext;
  p.internal_port = in;
  return p;
}

inline api::PortForwardObject MakePortForward(const std::string& name, const std::string& vm,
                                              std::vector<api::PortSpec> ports, const std::string& device = "edge1") {
  api::PortForwardObject pf;
  pf.meta.name = name;
  pf.pos = {name + ".yaml", 1, 1};
  pf.spec.device_ref = device;
  pf.spec.vm = vm;
  pf.spec.internal_address = "192.168.10.11";
  pf.spec.inbound_interface = "eth0";
  pf.spec.ports = std::move(ports);
  for (size_t i = 0; i < pf.spec.ports.size(); ++i)
    pf.fields["spec.ports[" + std::to_string(i) + "]"] = {name + ".yaml", static_cast<int>(10 + 5 * i), 7};
  return pf;
}

}  // namespace nc::testing
