// One writer per store: the daemon (`run`), `apply` and `rollback` hold an exclusive advisory
// lock (flock) on `<store>.lock` while they may write to devices. Two daemons on one store would
// both plan and apply the same changes; the second is refused with the holder's pid and
// command. The lock is the kernel's, so a killed process releases it; readers (`status`,
// `plan`, `db`) never take it.
#pragma once

#include <memory>
#include <string>

#include "controller/core/result.hpp"

namespace nc::store {

class WriterLock {
 public:
  /// Takes the lock without waiting. `who` (e.g. "run") is written into the lock file for the
  /// message another process gets. Errors: kFailedPrecondition (held by another process, the
  /// message names it), kUnavailable (the lock file cannot be created).
  static Result<std::unique_ptr<WriterLock>> Acquire(const std::string& store_path,
                                                     const std::string& who);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace nc::store
