#include "test/sim/common/process.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>

#include <pthread.h>

namespace nc::sim {

namespace {
sigset_t TerminationSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSet();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

bool WritePortFile(const std::string& path, int port) {
  if (path.empty()) return true;
  {
    std::ofstream pf(path + ".tmp");
    pf << port << "\n";
    if (!pf) return false;
  }
  return std::rename((path + ".tmp").c_str(), path.c_str()) == 0;
}

}  // namespace nc::sim
