#include "controller/store/store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace nc::store {

Result<std::unique_ptr<WriterLock>> WriterLock::Acquire(const std::string& store_path,
                                                        const std::string& who) {
  const std::string path = store_path + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return MakeError(ErrorCode::kUnavailable,
                     "cannot create the lock file " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[256] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK)
      return MakeError(ErrorCode::kUnavailable, "cannot lock " + path + ": " + std::strerror(err));
    std::string holder =
        n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("another process");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    return MakeError(ErrorCode::kFailedPrecondition,
                     "store " + store_path + " is in use by " + holder +
                         ": two writers would apply the same changes twice. Stop that one, or ask "
                         "it through its "
                         "admin API (POST /v1/admin/devices/NAME/sync)");
  }
  char stamp[32] = {};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string text =
      "netconverge " + who + " (pid " + std::to_string(::getpid()) + ", since " + stamp + ")\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    // The lock holds without the note; only the other process's message is poorer.
  }
  return std::unique_ptr<WriterLock>(new WriterLock(fd));
}

WriterLock::~WriterLock() {
  ::close(fd_);
}

}  // namespace nc::store
