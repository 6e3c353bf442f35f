#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "controller/runtime/controller.hpp"
#include "controller/runtime/work_queue.hpp"
#include "test/fakes/fake_clock.hpp"

using namespace nc;
using namespace nc::runtime;
using namespace std::chrono_literals;

TEST_SUITE("runtime/work_queue") {
  TEST_CASE("repeated adds of a key collapse into one") {
    testing::FakeClock clock;
    WorkQueue q(clock);
    q.Add("a");
    q.Add("a");
    q.Add("b");
    CHECK(q.Len() == 2);
    CHECK(*q.TryGet(0ms) == "a");
    CHECK(*q.TryGet(0ms) == "b");
    CHECK_FALSE(q.TryGet(0ms));
  }

  TEST_CASE("a key being processed is not handed out again - an add meanwhile re-queues it on Done") {
    testing::FakeClock clock;
    WorkQueue q(clock);
    q.Add("a");
    auto k = q.TryGet(0ms);
    REQUIRE(k);
    q.Add("a");
    CHECK_FALSE(q.TryGet(0ms));  // not twice at once
    q.Done("a");
    CHECK(*q.TryGet(0ms) == "a");
    q.Done("a");
    CHECK_FALSE(q.TryGet(0ms));
  }

  TEST_CASE("the observer sees client-go's workqueue facts: adds, time in the queue, retries") {
    testing::FakeClock clock;
    WorkQueue q(clock);
    int adds = 0, retries = 0;
    std::vector<double> waits;
    q.SetObserver({[&] { ++adds; }, [&](double s) { waits.push_back(s); }, [&] { ++retries; }});
    q.Add("a");
    q.Add("a");  // collapses: not a second add
    clock.Advance(3s);
    CHECK(*q.TryGet(0ms) == "a");
    CHECK(adds == 1);
    REQUIRE(waits.size() == 1);
    CHECK(waits[0] == doctest::Approx(3.0));
    q.Done("a");
    q.AddRateLimited("a");
    CHECK(retries == 1);
    clock.Advance(2s);  // the backoff (1 s, jittered) has passed; the wait counts from the add
    CHECK(*q.TryGet(0ms) == "a");
    CHECK(adds == 2);
    REQUIRE(waits.size() == 2);
    CHECK(waits[1] <= 2.0);
  }

  TEST_CASE("AddAfter waits for the clock") {
    testing::FakeClock clock;
    WorkQueue q(clock);
    q.AddAfter("a", 10s);
    CHECK_FALSE(q.TryGet(0ms));
    clock.Advance(9s);
    CHECK_FALSE(q.TryGet(0ms));
    clock.Advance(1s);
    CHECK(*q.TryGet(0ms) == "a");
  }

  TEST_CASE("rate-limited adds back off exponentially until forgotten") {
    testing::FakeClock clock;
    WorkQueue q(clock);
    auto d1 = q.AddRateLimited("a");
    auto d2 = q.AddRateLimited("a");
    auto d3 = q.AddRateLimited("a");
    CHECK(d1 >= 900ms);
    CHECK(d1 <= 1100ms);
    CHECK(d2 >= 1800ms);
    CHECK(d3 >= 3600ms);
    CHECK(q.NumRequeues("a") == 3);
    q.Forget("a");
    CHECK(q.NumRequeues("a") == 0);
  }

  TEST_CASE("workers never reconcile the same key concurrently") {
    SystemClock clock;
    WorkQueue q(clock);
    std::atomic<int> in_flight_a{0};
    std::atomic<int> max_a{0};
    std::atomic<int> runs{0};
    Controller c(q, [&](const std::string& key) {
          if (key == "a") {
            int now = ++in_flight_a;
            max_a = std::max(max_a.load(), now);
            std::this_thread::sleep_for(2ms);
            --in_flight_a;
          }
          ++runs;
          return ReconcileResult{};
        }, 4);
    c.Start();
    for (int i = 0; i < 200; ++i) {
      q.Add("a");
      q.Add("k" + std::to_string(i % 7));
      if (i % 10 == 0) std::this_thread::sleep_for(1ms);
    }
    for (int i = 0; i < 200 && (q.Len() > 0 || c.busy() > 0); ++i) std::this_thread::sleep_for(5ms);
    c.Stop();
    CHECK(max_a == 1);
    CHECK(runs > 0);
  }
}
