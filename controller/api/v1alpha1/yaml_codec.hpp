// Decoding of netconverge manifests (multi-document YAML) into api types, recording the file,
// line and column of every field. Decoding is strict: unknown fields and wrong types are
// problems, never silently dropped. Documents of other API groups (a Secret, a Kustomization in
// the same GitOps folder) are ignored. A codec: text in, values out, no file I/O.
#pragma once

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
DecodeResult DecodeManifests(std::string_view text, const std::string& file);

}  // namespace nc::api
