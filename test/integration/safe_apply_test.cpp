// Snapshots and intents before every change, rollback to a snapshot, recovery of intents left
// open by a process that died while applying.
#include <doctest/doctest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "test/integration/harness.hpp"

using namespace nc;
using namespace nc::testing;

TEST_SUITE("integration/safe_apply") {
  TEST_CASE(
      "every change is preceded by a stored snapshot, and rollback restores one in one commit") {
    SimHarness h;
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    auto first = h.Pass();
    REQUIRE_FALSE(first.error);
    REQUIRE(first.snapshot_id > 0);
    CHECK(h.store->GetSnapshot(first.snapshot_id)->rules.empty());  // the device before: empty
    const auto v1 = h.DeviceRules();

    h.Manifest(
        "web1.yaml",
        PortForwardYaml("web1", "web1",
                        "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 2222}\n"
                        "    - {name: http, protocol: tcp, externalPort: 80}\n"));
    auto second = h.Pass();
    REQUIRE_FALSE(second.error);
    auto snap = h.store->GetSnapshot(second.snapshot_id);
    REQUIRE(snap);
    CHECK(FromModel(snap->rules) == v1);
    CHECK(h.store->OpenIntents()->empty());

    h.sim->ResetStats();
    auto rb = h.reconciler->Rollback(h.Desired(), "default/edge1", second.snapshot_id);
    REQUIRE_FALSE(rb.error);
    CHECK(h.DeviceRules() == v1);
    CHECK(h.sim->Stats().commits == 1);
    CHECK(h.sim->Stats().confirms == 1);
    store::EventFilter f;
    auto events = h.store->Events(f);
    CHECK(events->front().reason == "RollbackSucceeded");
    // The rollback itself is undoable: the state before it is a snapshot too.
    REQUIRE(rb.snapshot_id > second.snapshot_id);
    REQUIRE_FALSE(h.reconciler->Rollback(h.Desired(), "default/edge1", rb.snapshot_id).error);
    CHECK(h.DeviceRules().size() == 2);
    // A snapshot of another device is refused.
    auto wrong = h.reconciler->Rollback(h.Desired(), "default/other", rb.snapshot_id);
    CHECK(wrong.error);
  }

  TEST_CASE(
      "after a rollback the restored rules are netconverge's own: the next pass converges them, "
      "whatever the drift policy") {
    SimHarness h;
    h.Manifest(
        "web1.yaml",
        PortForwardYaml("web1", "web1", "    - {name: ssh, protocol: tcp, externalPort: 2201}\n",
                        "  driftPolicy: Report\n"));
    auto first = h.Pass();
    REQUIRE_FALSE(first.error);
    REQUIRE(h.DeviceRules().size() == 1);
    // Back to the empty device: the rule goes, by netconverge's hand.
    REQUIRE_FALSE(h.reconciler->Rollback(h.Desired(), "default/edge1", first.snapshot_id).error);
    CHECK(h.DeviceRules().empty());
    auto next = h.Pass();
    REQUIRE_FALSE(next.error);
    CHECK(h.DeviceRules().size() ==
          1);  // a spec change (manifest vs. what netconverge restored), not drift
    store::EventFilter f;
    f.limit = 50;
    auto events = h.store->Events(f);
    REQUIRE(events);
    for (const auto& e : *events) CHECK(e.reason != "DriftDetected");
    CHECK(h.Pass().plan.changes.empty());
  }

  TEST_CASE("an intent left open by a dead process is recovered by re-reading and re-planning") {
    SimHarness h;
    h.Manifest(
        "web1.yaml",
        PortForwardYaml("web1", "web1", "    - {name: ssh, protocol: tcp, externalPort: 2201}\n"));
    // A process wrote its intent, committed on the device, and died before recording anything.
    auto in = h.store->BeginIntent(store::Snapshot{0, "default/edge1", "t0", 0, {}, {}}, 1,
                                   core::OpLog{"set ..."});
    REQUIRE(in);
    REQUIRE_FALSE(h.Pass().error);  // (stands in for the commit the dead process made)
    REQUIRE(h.store->OpenIntents()->size() == 1);
    h.Restart();
    auto devices = h.reconciler->Recover();
    CHECK(devices == std::vector<std::string>{"default/edge1"});
    CHECK(h.store->OpenIntents()->empty());
    store::EventFilter f;
    auto events = h.store->Events(f);
    CHECK(events->front().reason == "Recovered");
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK_FALSE(r.plan.HasChanges());  // the device already held the change: nothing re-sent
    CHECK(*h.store->IntegrityCheck() == "ok");
  }
}

namespace {

// Delegates to the real factory, but creating the adapter of device "default/slow" waits until
// released (as fetching its Secret from a slow API server would).
struct BlockingFactory : AdapterFactory {
  reconcilers::DefaultAdapterFactory real;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool released = false;
  Result<std::unique_ptr<DeviceAdapter>> Create(const core::Device& device) override {
    if (device.Key() == "default/slow") {
      std::unique_lock lk(mu);
      entered = true;
      cv.notify_all();
      cv.wait(lk, [&] { return released; });
    }
    return real.Create(device);
  }
  void Release() {
    std::lock_guard lk(mu);
    released = true;
    cv.notify_all();
  }
};

}  // namespace

TEST_SUITE("integration/safe-apply") {
  TEST_CASE(
      "creating one device's adapter (a slow Secret read) never holds up another device's pass") {
    SimHarness h;
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    h.Manifest("slow.yaml",
               "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: slow}\nspec:\n "
               " platform: vyos\n"
               "  address: 127.0.0.1:1\n  credentialsRef: {file: ../creds.yaml}\n");
    BlockingFactory factory;
    reconcilers::DeviceReconciler rec(*h.store, factory, h.clock, h.log, h.services);
    const auto desired = h.Desired();
    auto slow = std::async(std::launch::async, [&] {
      return rec.Reconcile(desired, "default/slow", "test",
                           reconcilers::DeviceReconciler::Mode::kApply);
    });
    {
      std::unique_lock lk(factory.mu);
      REQUIRE(factory.cv.wait_for(lk, std::chrono::seconds(10), [&] { return factory.entered; }));
    }
    auto fast = std::async(std::launch::async, [&] {
      return rec.Reconcile(desired, "default/edge1", "test",
                           reconcilers::DeviceReconciler::Mode::kApply);
    });
    const bool done = fast.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
    factory.Release();
    CHECK(done);
    CHECK_FALSE(fast.get().error);
    (void)slow.get();
    CHECK(h.DeviceRules().size() == 1);
  }
}
