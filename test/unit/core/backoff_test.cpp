#include <doctest/doctest.h>

#include "controller/core/backoff.hpp"

using namespace nc::core;

TEST_SUITE("core/backoff") {
  TEST_CASE("backoff doubles from one second to five minutes, jittered by ten percent") {
    BackoffPolicy p;
    CHECK(BackoffDelayMs(p, 1, 0.5) == 1000);
    CHECK(BackoffDelayMs(p, 2, 0.5) == 2000);
    CHECK(BackoffDelayMs(p, 4, 0.5) == 8000);
    CHECK(BackoffDelayMs(p, 30, 0.5) == 300000);
    CHECK(BackoffDelayMs(p, 1, 0.0) == 900);
    CHECK(BackoffDelayMs(p, 1, 0.999) >= 1099);
  }

  TEST_CASE("poll intervals are jittered within ten percent") {
    CHECK(JitteredIntervalMs(30000, 0.0) == 27000);
    CHECK(JitteredIntervalMs(30000, 0.5) == 30000);
  }
}
