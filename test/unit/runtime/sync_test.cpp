#include "controller/runtime/stop_signal.hpp"
#include "controller/runtime/weighted_gate.hpp"

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

TEST_CASE("a weighted gate holds passes to a budget of rules - one heavier than it runs alone") {
  nc::runtime::WeightedGate gate(100);
  const auto first = gate.Acquire(60);
  CHECK(first == 60);
  int64_t seen = -1;
  std::thread second([&] {
    const auto taken = gate.Acquire(60);  // 60 + 60 > 100: waits for the first to end
    seen = gate.InFlight();
    gate.Release(taken);
  });
  // The second is inside Acquire and has not taken its share while the first holds 60.
  for (int i = 0; i < 100'000'000 && gate.Waiting() == 0; ++i) std::this_thread::yield();
  REQUIRE(gate.Waiting() == 1);
  CHECK(gate.InFlight() == 60);
  gate.Release(first);
  second.join();
  CHECK(seen == 60);  // it ran after the first, never beside it
  CHECK(gate.InFlight() == 0);
  const auto big = gate.Acquire(10'000);  // a device larger than the budget: alone, not never
  CHECK(big == 100);
  gate.Release(big);
  nc::runtime::WeightedGate unbounded(0);
  CHECK(unbounded.Acquire(1'000'000) == 0);
}
