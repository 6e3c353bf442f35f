// Validation of manifests (api types) into the domain model (DesiredState). Every problem names
// the file, line, resource and field path; cross-resource conflicts (two ports claiming the same
// device + interface + protocol + external port, duplicate rule-number pins, rule-range
// exhaustion) are reported on every resource involved. Pure.
#pragma once

#include <vector>

#include "controller/api/v1alpha1/types.hpp"
#include "controller/core/model.hpp"
#include "controller/core/values.hpp"

namespace nc::core {

inline constexpr const char* kPausedAnnotation = "netconverge.io/paused";
inline constexpr const char* kRequestedSyncAnnotation = "netconverge.io/requested-sync";
/// VyOS's limit on `description`.
inline constexpr size_t kVyosDescriptionMax = 255;

struct ValidationResult {
  DesiredState desired;                // only the objects without problems
  std::vector<api::Problem> problems;  // sorted by file, line, column
};

/// Validates everything in `manifests`. Objects with problems are left out of `desired`; the
/// caller decides whether that is acceptable (the daemon keeps earlier good content instead).
ValidationResult Validate(const api::Manifests& manifests, const ServiceTable& services);
/// The same, consuming `manifests`: each PortForward's ports are released as soon as their rules
/// are made, so a fleet's 100,000 ports are never held both as specs and as rules.
ValidationResult Validate(api::Manifests&& manifests, const ServiceTable& services);

/// `path` made relative to the directory of `manifest_file` unless it is absolute.
std::string ResolveRelative(const std::string& manifest_file, const std::string& path);

}  // namespace nc::core
