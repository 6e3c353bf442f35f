#include "controller/runtime/clock.hpp"

#include <ctime>

namespace nc::runtime {

std::string FormatUtc(std::chrono::system_clock::time_point tp) {
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string SystemClock::UtcIso() const {
  return FormatUtc(std::chrono::system_clock::now());
}

}  // namespace nc::runtime
