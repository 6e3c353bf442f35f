#include "controller/runtime/stop_signal.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using nc::runtime::StopSignal;
using namespace std::chrono_literals;

TEST_CASE("a stop signal wakes a waiting thread at once and stays set") {
  StopSignal stop;
  CHECK_FALSE(stop.stopped());
  CHECK_FALSE(stop.WaitFor(1ms));  // nobody stopped it: the wait times out
  bool woke = false;
  std::thread waiter([&] { woke = stop.WaitFor(1h); });  // would hang the test if not woken
  stop.Stop();
  waiter.join();
  CHECK(woke);
  CHECK(stop.stopped());
  CHECK(stop.WaitFor(1h));  // already stopped: returns without waiting
}
