#include <doctest/doctest.h>

#include <thread>

#include "adapters/vyos/vyos_codec.hpp"
#include "test/integration/harness.hpp"
#include "transport/http/https_client.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

const std::string kWebPorts =
    "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"
    "    - {name: http, protocol: tcp, externalPort: 80}\n"
    "    - {name: https, protocol: tcp, externalPort: 443}\n";

}  // namespace

TEST_SUITE("integration/vyos") {
  TEST_CASE(
      "create, change one field, disable, delete - one commit each, unmanaged rule 100 untouched") {
    SimHarness h;
    REQUIRE(
        h.sim->ApplyOutOfBand("set nat destination rule 100 description 'mail relay'\n"
                              "set nat destination rule 100 destination port '25'\n"
                              "set nat destination rule 100 inbound-interface name 'eth0'\n"
                              "set nat destination rule 100 protocol 'tcp'\n"
                              "set nat destination rule 100 translation address '192.168.10.5'\n"));
    const auto rule100 = h.DeviceRules().at(100);
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));

    // Create.
    h.sim->ResetStats();
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(r.commits == 1);
    CHECK(h.sim->Stats().commits == 1);
    CHECK(h.sim->Stats().confirms == 1);
    CHECK(h.sim->Stats().saves == 1);
    auto rules = h.DeviceRules();
    REQUIRE(rules.size() == 4);
    CHECK(rules.at(10000).description == "VM web1 Port HTTP [netconverge]");
    CHECK(rules.at(10002).translation_port == "22");
    CHECK(r.report.added == std::vector<std::string>{"VM web1 Port HTTP (Rule 10000)",
                                                     "VM web1 Port HTTPS (Rule 10001)",
                                                     "VM web1 Port SSH (Rule 10002)"});

    // Change one field: only that rule is rewritten.
    h.Manifest(
        "web1.yaml",
        PortForwardYaml("web1", "web1",
                        "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 2222}\n"
                        "    - {name: http, protocol: tcp, externalPort: 80}\n"
                        "    - {name: https, protocol: tcp, externalPort: 443}\n"));
    h.sim->ResetStats();
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    REQUIRE(r.plan.changes.size() == 1);
    CHECK(r.plan.changes[0].number == 10002);
    CHECK(r.report.updated == std::vector<std::string>{"VM web1 Port SSH (Rule 10002) - Updated"});
    CHECK(r.report.no_change.size() == 2);
    CHECK(h.sim->Stats().commits == 1);
    CHECK(h.DeviceRules().at(10002).translation_port == "2222");

    // Disable.
    h.Manifest("web1.yaml",
               PortForwardYaml("web1", "web1",
                               "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: "
                               "2222, enabled: false}\n"
                               "    - {name: http, protocol: tcp, externalPort: 80}\n"
                               "    - {name: https, protocol: tcp, externalPort: 443}\n"));
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(h.DeviceRules().at(10002).disabled);
    auto ports = h.store->PortStatuses("default/edge1");
    REQUIRE(ports);
    bool disabled_state = false;
    for (const auto& p : *ports)
      disabled_state = disabled_state || (p.port == "ssh" && p.state == "Disabled");
    CHECK(disabled_state);

    // Delete the resource: its rules go, rule 100 stays exactly as it was.
    h.Remove("web1.yaml");
    h.sim->ResetStats();
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(r.report.deleted.size() == 3);
    CHECK(h.sim->Stats().commits == 1);
    rules = h.DeviceRules();
    REQUIRE(rules.size() == 1);
    CHECK(rules.at(100) == rule100);
    CHECK(h.store->Allocations("default/edge1")->empty());
  }

  TEST_CASE("a restart keeps every rule number, also when other resources change") {
    SimHarness h;
    h.Manifest("a.yaml",
               PortForwardYaml("a", "a", "    - {name: p, protocol: tcp, externalPort: 1000}\n"));
    h.Manifest("b.yaml",
               PortForwardYaml("b", "b", "    - {name: p, protocol: tcp, externalPort: 2000}\n"));
    REQUIRE_FALSE(h.Pass().error);
    const auto before = h.DeviceRules();
    h.Restart();
    h.Remove("a.yaml");
    h.Manifest("c.yaml",
               PortForwardYaml("c", "c", "    - {name: p, protocol: tcp, externalPort: 3000}\n"));
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    auto after = h.DeviceRules();
    CHECK(after.at(10001) == before.at(10001));  // b kept its number
    const bool a_still_there =
        after.count(10000) && after.at(10000).description == before.at(10000).description;
    CHECK_FALSE(a_still_there);
    h.Restart();
    h.sim->ResetStats();
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK_FALSE(r.plan.HasChanges());
    CHECK(h.sim->Stats().requests == 1);  // a no-op pass is one read
  }

  TEST_CASE("a rule changed on the device by someone else is put back, and the drift recorded") {
    SimHarness h;
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
    REQUIRE_FALSE(h.Pass().error);
    const auto good = h.DeviceRules().at(10002);
    REQUIRE(
        h.sim->ApplyOutOfBand("set nat destination rule 10002 translation port '2299'\n"
                              "set nat destination rule 10002 log\n"));
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    REQUIRE(r.plan.changes.size() == 1);
    CHECK(r.plan.changes[0].drift);
    CHECK(h.DeviceRules().at(10002) == good);
    CHECK(CountEvents(*h.store, "DriftDetected") == 1);
    // Deleted by someone else: re-created.
    REQUIRE(h.sim->ApplyOutOfBand("delete nat destination rule 10000\n"));
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().count(10000));
  }

  TEST_CASE(
      "1,000 new rules cost one commit and six configuration requests plus /info - a no-op pass "
      "one read") {
    SimHarness h;
    std::string ports;
    for (int i = 0; i < 1000; ++i)
      ports += "    - {name: p" + std::to_string(i) +
               ", protocol: tcp, externalPort: " + std::to_string(20000 + i) + "}\n";
    h.Manifest("many.yaml", PortForwardYaml("many", "many", ports));
    h.sim->ResetStats();
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    auto st = h.sim->Stats();
    CHECK(st.commits == 1);
    CHECK(st.info == 1);
    // read, the syntax probe (once per connection), write, read-back, confirm, save
    CHECK(st.retrieve + st.configure + st.config_file == 6);
    CHECK(st.requests == 7);
    CHECK(h.DeviceRules().size() == 1000);
    h.sim->ResetStats();
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(h.sim->Stats().requests == 1);
    CHECK(h.sim->Stats().retrieve == 1);
  }

  TEST_CASE("plan mode reads but never writes") {
    SimHarness h;
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
    h.sim->ResetStats();
    auto r = h.Pass(reconcilers::DeviceReconciler::Mode::kPlan);
    REQUIRE_FALSE(r.error);
    CHECK(r.plan.changes.size() == 3);
    CHECK(h.sim->Stats().requests == 1);
    CHECK(h.DeviceRules().empty());
    CHECK(r.operations.front().rfind("set nat destination rule 10000 description", 0) == 0);
    CHECK(h.store->Allocations("default/edge1")->empty());
  }

  TEST_CASE("certificates are verified: the wrong CA is refused") {
    SimHarness h;
    auto other = sim::GenerateServerCert("other");
    REQUIRE(other);
    WriteFile(h.dir / "other-ca.pem", other->ca_pem);
    h.WriteDevice("", "../other-ca.pem");
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
    auto r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kPermissionDenied);
    CHECK(r.error->message.find("certificate") != std::string::npos);
    CHECK(h.sim->Stats().configure == 0);
  }

  TEST_CASE("a wrong API key is a clear error and the key never appears in the store") {
    SimHarness h;
    WriteFile(h.dir / "creds.yaml", "apiKey: not-the-key-123\n");
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
    auto r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kPermissionDenied);
    CHECK(r.error->message.find("API key") != std::string::npos);
    // Fix the key, apply, and check no stored text holds it.
    WriteFile(h.dir / "creds.yaml", "apiKey: netconverge-demo-key\n");
    h.Restart();
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    auto ops = h.store->Operations(r.run_id);
    REQUIRE(ops);
    for (const auto& op : *ops) CHECK(op.find("netconverge-demo-key") == std::string::npos);
    std::ifstream db(h.store_path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(db)), {});
    CHECK(bytes.find("netconverge-demo-key") == std::string::npos);
  }

  TEST_CASE(
      "the commit lock is retried - a dropped answer after the commit is resolved by re-reading") {
    SimHarness h;
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
    sim::Faults f;
    f.lock_busy = 2;
    h.sim->SetFaults(f);
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(h.sim->Stats().commits == 1);
    CHECK(h.DeviceRules().size() == 3);

    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    f = {};
    f.after_commit = "drop";
    f.after_commit_count = 1;
    h.sim->SetFaults(f);
    r = h.Pass();
    REQUIRE_FALSE(r.error);  // the re-read showed the commit happened; confirmed and saved
    CHECK(h.DeviceRules().size() == 1);
    CHECK_FALSE(h.sim->ConfirmPending());
  }

  TEST_CASE(
      "a commit the device keeps rejecting leaves it untouched and names the resource with the "
      "device's text") {
    SimHarness h;
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
    sim::Faults f;
    f.fail_commits = 2;  // the first try and the same-pass retry
    f.fail_message = "Destination NAT configuration error in rule 10000: injected";
    h.sim->SetFaults(f);
    auto r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("injected") != std::string::npos);
    CHECK(h.DeviceRules().empty());
    CHECK(r.report.failed.size() == 3);
    REQUIRE(r.device_row);
    CHECK(r.device_row->message.find("injected") != std::string::npos);
    CHECK(CountEvents(*h.store, "DeviceRejected") == 1);
    auto ports = h.store->PortStatuses("default/edge1");
    REQUIRE(ports);
    for (const auto& p : *ports) {
      CHECK(p.state == "DeviceRejected");
      CHECK(p.message.find("injected") != std::string::npos);
    }
    // Held back (backoff) while its spec is the same; a spec change is tried at once.
    h.sim->ResetStats();
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.sim->Stats().configure == 0);
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().size() == 1);
  }
}

TEST_SUITE("integration/vyos") {
  TEST_CASE("reusing an unchanged plan never hides a change of the spec, the device or the store") {
    SimHarness h;
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
    REQUIRE_FALSE(h.Pass().error);
    REQUIRE_FALSE(h.Poll().error);  // a clean no-op pass: the next poll need not plan again
    auto r = h.Poll();
    REQUIRE_FALSE(r.error);
    CHECK(r.unchanged_poll);
    CHECK_FALSE(r.plan.HasChanges());
    auto status = h.store->PortStatuses("default/edge1");
    CHECK(status->size() == 3);

    // The device answers exactly as before, but the spec changed.
    h.Manifest(
        "web1.yaml",
        PortForwardYaml("web1", "web1",
                        "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 2200}\n"
                        "    - {name: http, protocol: tcp, externalPort: 80}\n"
                        "    - {name: https, protocol: tcp, externalPort: 443}\n"));
    r = h.Poll();
    REQUIRE_FALSE(r.error);
    CHECK_FALSE(r.unchanged_poll);
    REQUIRE(r.plan.changes.size() == 1);
    CHECK(h.DeviceRules().at(10002).translation_port == "2200");
    REQUIRE_FALSE(h.Poll().error);
    CHECK(h.Poll().unchanged_poll);

    // The device changes behind our back: the answer differs, so the poll plans again.
    REQUIRE(h.sim->ApplyOutOfBand("set nat destination rule 10000 translation port '8080'\n"));
    r = h.Poll();
    CHECK_FALSE(r.unchanged_poll);
    REQUIRE(r.plan.changes.size() == 1);
    CHECK(r.plan.changes[0].drift);
    REQUIRE_FALSE(h.Poll().error);
    CHECK(h.Poll().unchanged_poll);

    // Another process takes ownership records away (as `netconverge apply` elsewhere would).
    {
      auto other =
          store::SqliteStore::Open(h.store_path, store::SqliteStore::OpenMode::kRequireCurrent);
      REQUIRE(other);
      REQUIRE((*other)->SaveAllocations("default/edge1", {{{"default/web1", "ssh"}, 10007}}, "t"));
    }
    r = h.Poll();
    REQUIRE_FALSE(r.error);
    CHECK(r.plan.HasChanges());  // the port moves to its new number: the cache saw the other write
    CHECK(h.DeviceRules().count(10007));
    CHECK_FALSE(h.DeviceRules().count(10002));
  }
}

TEST_SUITE("integration/vyos") {
  TEST_CASE(
      "an unconfirmed commit is reverted by the device's confirm timer, and the next pass "
      "converges") {
    sim::VyosSim::Options o;
    // One confirm-timer "minute" of the emulator lasts 2.5 s, longer than the adapter's confirm
    // retries (1.2 s), so the change is still pending when the pass gives up.
    o.confirm_minute_ms = 2500;
    o.confirm_action = "reload";
    SimHarness h(o, "  commitConfirm: {enabled: true, timeout: 1m}\n");
    h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
    sim::Faults f;
    f.fail_confirm = 3;  // every confirm is lost on the way
    h.sim->SetFaults(f);
    auto r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("confirm failed") != std::string::npos);
    CHECK(h.sim->ConfirmPending());
    CHECK(h.DeviceRules().size() == 3);  // committed, not confirmed
    for (int i = 0; i < 300 && h.sim->ConfirmPending(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(h.sim->Stats().reverts == 1);
    CHECK(h.DeviceRules().empty());  // wholly old again
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(h.DeviceRules().size() == 3);
    CHECK_FALSE(h.sim->ConfirmPending());
  }

  TEST_CASE("vyos-sim speaks the API's three encodings and its awkward answers") {
    SimHarness h;
    auto send = [&](const std::string& ct, const std::string& body,
                    const std::string& path = "/retrieve") {
      return h.sim->Handle(sim::SimRequest{"POST", path, ct, body});
    };
    auto form = send("application/x-www-form-urlencoded",
                     "data=%7B%22op%22%3A%22showConfig%22%2C%22path%22%3A%5B%22nat%22%5D%7D&key="
                     "netconverge-demo-key");
    CHECK(form.status == 400);  // nothing configured under nat yet: the "empty" 400
    CHECK(form.body.find("Configuration under specified path is empty") != std::string::npos);
    CHECK(form.content_type == "text/html; charset=utf-8");
    const std::string boundary = "XyZ";
    auto multipart = send("multipart/form-data; boundary=" + boundary,
                          "--XyZ\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n"
                          "[{\"op\":\"set\",\"path\":[\"nat\",\"destination\",\"rule\",\"5\","
                          "\"destination\",\"port\"],\"value\":\"22\"},"
                          "{\"op\":\"set\",\"path\":[\"nat\",\"destination\",\"rule\",\"5\","
                          "\"protocol\"],\"value\":\"tcp\"},"
                          "{\"op\":\"set\",\"path\":[\"nat\",\"destination\",\"rule\",\"5\","
                          "\"translation\",\"address\"],\"value\":\"10.0.0.1\"}]"
                          "\r\n--XyZ\r\nContent-Disposition: form-data; "
                          "name=\"key\"\r\n\r\nnetconverge-demo-key\r\n--XyZ--\r\n",
                          "/configure");
    CHECK(multipart.status == 200);
    auto number = send(
        "application/json",
        R"({"key":"netconverge-demo-key","op":"set","path":["nat","destination","rule",5,"disable"]})",
        "/configure");
    CHECK(number.status == 400);  // values are strings only
    CHECK(number.body.find("string_type") != std::string::npos);
    auto nokey = send("application/json", R"({"op":"showConfig","path":[]})");
    CHECK(nokey.status == 400);
    auto badkey = send("application/json", R"({"key":"nope","op":"showConfig","path":[]})");
    CHECK(badkey.status == 401);
    auto nodata = send("application/x-www-form-urlencoded", "key=netconverge-demo-key");
    CHECK(nodata.status == 422);
    auto list = send(
        "application/json",
        R"({"key":"netconverge-demo-key","commands":[{"op":"set","path":["nat","destination","rule","6","translation","port"],"value":"80,443"}]})",
        "/configure");
    CHECK(list.status == 400);
    CHECK(list.body.find("Value validation failed") != std::string::npos);
    auto noproto = send(
        "application/json",
        R"({"key":"netconverge-demo-key","commands":[{"op":"set","path":["nat","destination","rule","7","destination","port"],"value":"80"},{"op":"set","path":["nat","destination","rule","7","translation","address"],"value":"10.0.0.2"}]})",
        "/configure");
    CHECK(noproto.status == 400);
    CHECK(noproto.body.find(
              "ports can only be specified when protocol is either tcp, udp or tcp_udp") !=
          std::string::npos);
    CHECK(h.DeviceRules().size() == 1);  // the failed requests changed nothing
    auto info = h.sim->Handle(sim::SimRequest{"GET", "/info?version=true&hostname=false", "", ""});
    CHECK(info.status == 200);
    CHECK(info.body.find("\"hostname\"") == std::string::npos);
  }
}

TEST_SUITE("integration/vyos") {
  TEST_CASE(
      "devices without API commit-confirm get one plain commit, then the save, and an "
      "UnconfirmedCommits warning") {
    // 1.4 (no /info, no confirm_time), and a 1.5 build from before commit-confirm in the API
    // (it has /info but ignores confirm_time: learned from the commit's answer).
    for (bool is_15 : {false, true}) {
      INFO("1.5 without confirm_time: " << is_15);
      sim::VyosSim::Options o;
      o.profile = is_15 ? sim::vy::Version::k15 : sim::vy::Version::k14;
      o.version = is_15 ? "1.5-rolling-202505010000" : "1.4.3";
      o.confirm_time = false;
      SimHarness h(o);
      h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kWebPorts));
      auto r = h.Pass();
      REQUIRE_FALSE(r.error);
      auto st = h.sim->Stats();
      CHECK(st.commits == 1);
      CHECK(st.commit_confirms == 0);
      CHECK(st.saves == 1);
      CHECK(st.configure ==
            1);  // no confirm request: it would be refused (400) and nothing is armed
      CHECK(h.DeviceRules().size() == 3);
      CHECK(CountEvents(*h.store, "UnconfirmedCommits") == 1);
      // The next change: still one plain commit, no confirm; the standing warning is not repeated.
      h.Manifest("web1.yaml",
                 PortForwardYaml(
                     "web1", "web1",
                     "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
      h.sim->ResetStats();
      REQUIRE_FALSE(h.Pass().error);
      CHECK(h.sim->Stats().configure == 1);
      CHECK(h.DeviceRules().size() == 1);
      CHECK(CountEvents(*h.store, "UnconfirmedCommits") == 1);
    }
  }

  TEST_CASE("a rotated API key in the credentials file is used by the next pass - no restart") {
    // Before: adapters were cached by the Device spec only; the old key was sent until restart.
    SimHarness h;
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    REQUIRE_FALSE(h.Pass().error);
    h.sim->SetKeys({"rotated-key-0123456789"});
    auto refused = h.Pass();
    REQUIRE(refused.error);
    CHECK(refused.error->code == ErrorCode::kPermissionDenied);
    bool condition = false;
    for (const auto& [reason, message] : refused.conditions)
      condition = condition || reason == "AuthenticationFailed";
    CHECK(condition);
    WriteFile(h.dir / "creds.yaml", "apiKey: rotated-key-0123456789\n");
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2202, internalPort: 22}\n"));
    auto r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(r.report.updated.size() == 1);
  }

  TEST_CASE(
      "insecureSkipVerify is a standing InsecureTLS warning - in the pass, its event, and "
      "test-device") {
    SimHarness h;
    h.WriteDevice("", "../ca.pem, insecureSkipVerify: true");
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    auto r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    bool condition = false;
    for (const auto& [reason, message] : r.conditions)
      condition = condition ||
                  (reason == "InsecureTLS" && message.find("not checked") != std::string::npos);
    CHECK(condition);
    CHECK(CountEvents(*h.store, "InsecureTLS") == 1);
    REQUIRE_FALSE(h.Pass().error);
    CHECK(CountEvents(*h.store, "InsecureTLS") == 1);  // standing: recorded once
    auto adapter = h.factory.Create(h.Desired().devices.at("default/edge1"));
    REQUIRE(adapter);
    auto checks = (*adapter)->Diagnose();
    REQUIRE_FALSE(checks.empty());
    CHECK(checks.front().name == "TLS verification");
    CHECK(checks.front().state == "WARN");
  }
}

namespace {

/// An HTTPS client of the harness's vyos-sim, verifying its certificate.
Result<std::unique_ptr<transport::HttpsClient>> SimClient(const SimHarness& h) {
  transport::HttpsClientOptions o;
  o.host = "127.0.0.1";
  o.port = h.server->port();
  o.ca_file = (h.dir / "ca.pem").string();
  o.server_name = "vyos-sim";
  return transport::HttpsClient::Create(o);
}

}  // namespace

TEST_SUITE("integration/vyos") {
  TEST_CASE(
      "a new connection to the same router resumes the TLS session: no certificate exchange") {
    SimHarness h;
    auto client = SimClient(h);
    REQUIRE(client);
    const std::string body =
        vyos::EncodeRetrieve(sim::VyosSim::Options{}.keys.front(), "showConfig", {"nat"});
    // Writes take a connection of their own each time: three connections, three handshakes.
    for (int i = 0; i < 3; ++i) {
      auto r =
          (*client)->Send("POST", "/retrieve", "application/json", body, std::chrono::seconds(10));
      REQUIRE(r);
      CHECK(r->status != 0);
    }
    const auto hs = (*client)->handshakes();
    CHECK(hs.full_or_resumed == 3);
    CHECK(hs.resumed == 2);  // the first is full; the next ones resume its session
  }
}

TEST_SUITE("integration/vyos") {
  TEST_CASE(
      "a streamed body goes out piece by piece with its size as Content-Length - a source that "
      "gives more or fewer bytes than it announced fails before its last byte, nothing applied") {
    SimHarness h;
    auto client = SimClient(h);
    REQUIRE(client);
    const std::string key = sim::VyosSim::Options{}.keys.front();
    core::Plan plan;
    core::NatRule rule;
    rule.description = "streamed";
    rule.protocol = "tcp";
    rule.destination_port = "2201";
    rule.translation_address = "192.168.10.11";
    for (int i = 0; i < 300; ++i)
      plan.changes.push_back(
          {core::ChangeKind::kAdd, 20000 + i, "r", "p", "d", std::nullopt, rule, "new", false});
    const std::pair<size_t, size_t> range{0, plan.changes.size()};
    auto send = [&](int64_t skew) {
      auto stream = std::make_shared<vyos::ConfigureStream>(key, plan, range,
                                                            vyos::InterfaceSyntax::kName, 0);
      const size_t size = stream->Size();
      CHECK(size > 64 * 1024);  // more than one piece
      transport::BodySource src{static_cast<size_t>(static_cast<int64_t>(size) + skew),
                                [stream](std::string& piece) { return stream->Next(piece); }};
      bool written = true;
      auto r = (*client)->SendStreamed("POST", "/configure", "application/json", src,
                                       std::chrono::seconds(20), &written);
      return std::make_pair(std::move(r), written);
    };
    h.sim->ResetStats();
    for (int64_t skew : {-1, 1}) {
      auto [r, written] = send(skew);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kInternal);
      CHECK(r.error().message.find("announced") != std::string::npos);
      CHECK_FALSE(written);
    }
    CHECK(h.sim->Stats().commits == 0);
    CHECK(h.sim->RunningSetCommands().find("rule 20000") == std::string::npos);
    auto [ok, written] = send(0);
    REQUIRE_MESSAGE(ok.has_value(), (ok ? std::string() : ok.error().message));
    CHECK(written);
    CHECK(ok->status == 200);
    CHECK(ok->body.find("\"success\": true") != std::string::npos);
    CHECK(h.sim->Stats().commits == 1);
    const auto running = h.sim->RunningSetCommands();
    CHECK(running.find("set nat destination rule 20000 description 'streamed'") !=
          std::string::npos);
    CHECK(running.find("set nat destination rule 20299 translation address '192.168.10.11'") !=
          std::string::npos);
  }
}
