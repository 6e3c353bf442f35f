// The composition root: everything is wired in controller/cli (one binary, many commands).
#include "controller/cli/cli.hpp"

#ifdef NC_WITH_JEMALLOC
// jemalloc's options (read at its start): a background thread returns memory freed by a large
// pass or manifest reload to the system within about a second (dirty pages), at once for the
// rest (muzzy). See docs/operations.md "Sizing".
extern "C" {
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): jemalloc's name
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
#endif

int main(int argc, char** argv) {
  return nc::cli::Main(argc, argv);
}
