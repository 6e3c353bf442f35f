// The composition root: everything is wired in controller/cli (one binary, many commands).
#include "controller/cli/cli.hpp"

#ifdef NC_WITH_JEMALLOC
// jemalloc's options (read at its start): memory freed by a pass or a manifest reload goes back
// to the system at once (no dirty or muzzy pages kept), so that a pass's freed buffers never add
// to the next phase's peak: 1 x 10,000 peaked 6 MiB lower than with a second's decay, and the
// idle minute of 1,000 routers cost the same (3.88 % of a core, 3.95 % before).
// docs/operations.md "Sizing", docs/benchmarks.md "Fleet".
extern "C" {
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): jemalloc's name
const char* malloc_conf = "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0";
}
#endif

int main(int argc, char** argv) {
  return nc::cli::Main(argc, argv);
}
