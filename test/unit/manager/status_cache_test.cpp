#include <doctest/doctest.h>

#include "controller/manager/admin_api.hpp"

using nc::manager::DeviceStatusCache;
using std::chrono::minutes;
using std::chrono::seconds;

TEST_SUITE("manager/status_cache") {
  TEST_CASE("the last hour's passes: counted per device, a pass older than an hour drops out") {
    DeviceStatusCache cache;
    const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1000);
    cache.Count("a", true, false, t0);
    cache.Count("a", false, false, t0 + seconds(10));
    cache.Count("a", true, true, t0 + minutes(30));
    cache.Count("b", true, false, t0);
    auto h = cache.LastHour("a", t0 + minutes(30));
    CHECK(h.passes == 3);
    CHECK(h.ok == 2);
    CHECK(h.fallback == 1);
    CHECK(cache.LastHour("b", t0 + minutes(30)).passes == 1);
    CHECK(cache.LastHour("none", t0).passes == 0);
    // 60 minutes on, the first minute's two passes are out of the window; the later one stays.
    h = cache.LastHour("a", t0 + minutes(60));
    CHECK(h.passes == 1);
    CHECK(h.fallback == 1);
    // A bucket reused an hour later starts again from zero.
    cache.Count("a", true, false, t0 + minutes(60));
    h = cache.LastHour("a", t0 + minutes(60));
    CHECK(h.passes == 2);
    CHECK(h.ok == 2);
    CHECK(cache.LastHour("a", t0 + minutes(200)).passes == 0);
  }
}
