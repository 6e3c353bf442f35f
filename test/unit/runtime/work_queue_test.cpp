#include <doctest/doctest.h>

#include <map>
#include <mutex>

#include <condition_variable>

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

  TEST_CASE(
      "a key being processed is not handed out again - an add meanwhile re-queues it on Done") {
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

  TEST_CASE(
      "workers never reconcile the same key concurrently - a key re-added meanwhile runs once, "
      "after") {
    // Synchronised on conditions, not sleeps: "a" is held inside its reconcile while the test
    // re-adds it and lets other keys through the other workers.
    SystemClock clock;
    WorkQueue q(clock);
    std::mutex m;
    std::condition_variable cv;
    bool release = false;
    int a_started = 0, a_in_flight = 0, a_max = 0, others = 0;
    Controller c(
        q,
        [&](const std::string& key) {
          std::unique_lock lk(m);
          if (key == "a") {
            ++a_started;
            a_max = std::max(a_max, ++a_in_flight);
            cv.notify_all();
            cv.wait(lk, [&] { return release; });
            --a_in_flight;
          } else {
            ++others;
          }
          cv.notify_all();
          return ReconcileResult{};
        },
        4);
    c.Start();
    q.Add("a");
    std::unique_lock lk(m);
    REQUIRE(cv.wait_for(lk, 10s, [&] { return a_started == 1; }));
    lk.unlock();
    for (int i = 0; i < 5; ++i) q.Add("a");
    for (int i = 0; i < 20; ++i) q.Add("k" + std::to_string(i));
    lk.lock();
    REQUIRE(cv.wait_for(lk, 10s, [&] { return others == 20; }));  // the other workers were free
    CHECK(a_started == 1);                                        // ... and never took "a"
    release = true;
    cv.notify_all();
    REQUIRE(cv.wait_for(lk, 10s, [&] { return a_started == 2 && a_in_flight == 0; }));
    lk.unlock();
    c.Stop();
    CHECK(a_max == 1);
    CHECK(a_started == 2);  // five re-adds while in flight: one more run
  }

  TEST_CASE("after ShutDown no key is handed out, queued or not") {
    SystemClock clock;
    WorkQueue q(clock);
    q.Add("a");
    q.Add("b");
    q.ShutDown();
    CHECK_FALSE(q.TryGet(0ms));
    CHECK_FALSE(q.Get());
  }

  TEST_CASE(
      "a terminal error comes back after the slow retry, not at the backoff's rate - a retryable "
      "one backs off") {
    SystemClock clock;
    WorkQueue q(clock);
    std::mutex m;
    std::condition_variable cv;
    std::map<std::string, int> calls;
    Controller c(
        q,
        [&](const std::string& key) {
          std::lock_guard lk(m);
          ++calls[key];
          cv.notify_all();
          return ReconcileResult{
              Error{key == "auth" ? ErrorCode::kPermissionDenied : ErrorCode::kUnavailable, "x"},
              0ms};
        },
        2, std::chrono::hours(1));
    c.Start();
    q.Add("auth");
    q.Add("down");
    std::unique_lock lk(m);
    // The retryable key backs off from 1 s (0.9-1.1 s jittered): a second call comes; the
    // terminal one waits its hour.
    REQUIRE(cv.wait_for(lk, 10s, [&] { return calls["down"] >= 2; }));
    CHECK(calls["auth"] == 1);
    lk.unlock();
    c.Stop();
    CHECK(q.NumRequeues("auth") == 0);
    CHECK(q.NumRequeues("down") >= 1);
  }
}
