// The Kubernetes client's token bucket (--kube-qps, --kube-burst), as client-go's: a burst at
// once, then no more than qps a second, whoever asks. Only lower bounds on time are asserted: a
// slow machine can never make these fail.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "controller/source/kube_client.hpp"

using namespace nc;

TEST_SUITE("source/rate_limiter") {
  TEST_CASE("the burst goes at once - after it, requests are spaced 1/qps apart") {
    kube::RateLimiter limiter(50, 5);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) CHECK(limiter.Wait().count() == 0);
    for (int i = 0; i < 10; ++i) limiter.Wait();
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(took >= 10 / 50.0 - 0.005);  // 10 requests past the burst at 50/s
  }

  TEST_CASE("threads share the bucket: 4 x 10 requests at 100/s, burst 10, take 0.3 s") {
    kube::RateLimiter limiter(100, 10);
    std::atomic<int> waited{0};
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 10; ++i)
          if (limiter.Wait().count() > 0) ++waited;
      });
    for (auto& t : threads) t.join();
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(took >= 30 / 100.0 - 0.005);
    CHECK(waited.load() > 0);
  }

  TEST_CASE("qps 0 is no limit") {
    kube::RateLimiter limiter(0, 1);
    for (int i = 0; i < 1000; ++i) CHECK(limiter.Wait().count() == 0);
  }
}
