// libFuzzer: a switch's CLI output through the DNOS dialect's parsers (the flattened running
// configuration, version and pending-commit answers).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/switch/dnos_dialect.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const nc::switchcli::DnosDialect dialect;
  // The input split in as many answers as the dialect reads, at NUL bytes.
  std::vector<std::string> outputs;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '\0') {
      outputs.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  outputs.resize(dialect.ObserveCommands().size());
  (void)dialect.ParseObserved(outputs);
  (void)dialect.ParseVersion(text);
  (void)dialect.ParsePendingCommit(text);
  (void)dialect.StableText(text);
  return 0;
}
