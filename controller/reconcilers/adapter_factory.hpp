// Builds the adapter of a Device from its spec: transport options, TLS settings and the
// credentials file. Adapters are created per device and cached by the reconciler.
#pragma once

#include "adapters/device_adapter.hpp"

namespace nc::reconcilers {

class DefaultAdapterFactory final : public AdapterFactory {
 public:
  Result<std::unique_ptr<DeviceAdapter>> Create(const core::Device& device) override;
};

}  // namespace nc::reconcilers
