// What the emulator programs share: termination signals handled by sigwait in the main thread,
// and the bound port published atomically in a file for scripts.
#pragma once

#include <string>

namespace nc::sim {

/// Blocks SIGINT and SIGTERM in this thread and the threads it starts later (call first).
void BlockTerminationSignals();
/// Waits for SIGINT or SIGTERM; returns the signal.
int WaitForTerminationSignal();
/// Writes "<port>\n" to `path` through a rename, so that a reader never sees half a number.
bool WritePortFile(const std::string& path, int port);

}  // namespace nc::sim
