// Decoding of netconverge manifests (multi-document YAML) into api types, recording the file,
// line and column of every field. Decoding is strict: unknown fields and wrong types are
// problems, never silently dropped. Documents of other API groups (a Secret, a Kustomization in
// the same GitOps folder) are ignored. A codec: text in, values out, no file I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "controller/api/v1alpha1/types.hpp"

namespace nc::api {

struct DecodeResult {
  Manifests manifests;
  std::vector<Problem> problems;
};

/// Decodes every document of `text`; `file` is used in positions and messages only.
/// Bounds on one manifest file: its size, and the YAML nodes it expands to (aliases counted at
/// each use, so an alias bomb is refused) with a nesting limit of 64 levels.
inline constexpr size_t kMaxManifestBytes = size_t{4} << 20;
inline constexpr size_t kMaxManifestNodes = 1'000'000;
DecodeResult DecodeManifests(std::string_view text, const std::string& file);

}  // namespace nc::api
