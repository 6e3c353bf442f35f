// The manifests directory as the daemon reads it: a changed file is taken only once it has been
// left alone for the settle time (an editor or a GitOps tool writes in several steps).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "controller/source/credentials.hpp"
#include "controller/source/directory_source.hpp"

namespace fs = std::filesystem;
using namespace nc;

namespace {

const char* kPortForward =
    "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1}\n"
    "spec: {platform: vyos, address: 127.0.0.1, credentialsRef: {file: creds.yaml}}\n---\n"
    "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: web}\n"
    "spec:\n  deviceRef: edge1\n  vm: web\n  internalAddress: 192.168.10.11\n  inboundInterface: "
    "eth0\n"
    "  ports:\n    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n";

void Write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

/// Makes a file (or directory) look untouched for a minute: what waiting would do.
void Age(const fs::path& p) {
  fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::minutes(1));
}

}  // namespace

TEST_SUITE("unit/source") {
  TEST_CASE("a file just written is not taken until it has been left alone for the settle time") {
    const fs::path dir = fs::temp_directory_path() / ("nc-settle-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    Write(dir / "web.yaml", kPortForward);
    source::DirectorySource src(dir.string(), {}, std::chrono::seconds(30));
    auto first = src.Reload();
    CHECK(first.settling == (dir / "web.yaml").string());
    CHECK_FALSE(first.changed);
    CHECK(src.Desired()->devices.empty());
    Age(dir / "web.yaml");
    auto settled = src.Reload();
    CHECK(settled.settling.empty());
    CHECK(settled.changed);
    CHECK(src.Desired()->RulesFor("default/edge1").size() == 1);
    // Emptied (the first step of a non-atomic write): not taken while fresh - the rule stays.
    Write(dir / "web.yaml", "");
    CHECK_FALSE(src.Reload().settling.empty());
    CHECK(src.Desired()->RulesFor("default/edge1").size() == 1);
    // Filled again within the settle time: the same content, so nothing changed in the end.
    Write(dir / "web.yaml", kPortForward);
    Age(dir / "web.yaml");
    CHECK_FALSE(src.Reload().changed);
    // A removed file is judged by its directory's time.
    fs::remove(dir / "web.yaml");
    CHECK(src.Reload().settling == (dir / "web.yaml").string());
    Age(dir);
    auto removed = src.Reload();
    CHECK(removed.changed);
    CHECK(src.Desired()->RulesFor("default/edge1").empty());
    fs::remove_all(dir);
  }

  TEST_CASE(
      "an untouched directory is not read again - a rewrite is seen even with its old mtime") {
    const fs::path dir = fs::temp_directory_path() / ("nc-stamps-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    Write(dir / "web.yaml", kPortForward);
    Age(dir / "web.yaml");
    source::DirectorySource src(dir.string(), {});
    auto first = src.Reload();
    CHECK(first.read_files);
    CHECK(first.changed);
    auto again = src.Reload();
    CHECK_FALSE(again.read_files);  // every stamp as before: nothing read, nothing decoded
    CHECK_FALSE(again.changed);
    // The same size, the old modification time put back (rsync -t, a checkout keeping times):
    // the inode's change time still moves, so the new content is read.
    const auto mtime = fs::last_write_time(dir / "web.yaml");
    const auto before = source::Stamps(dir.string()).at((dir / "web.yaml").string());
    std::string other = kPortForward;
    other.replace(other.find("2201"), 4, "2202");
    // Rewritten until the kernel's coarse clock gives the inode a new change time (a tick).
    for (int i = 0; i < 1'000'000; ++i) {
      Write(dir / "web.yaml", other);
      fs::last_write_time(dir / "web.yaml", mtime);
      if (source::Stamps(dir.string()).at((dir / "web.yaml").string()).ctime_ns != before.ctime_ns)
        break;
    }
    auto rewritten = src.Reload();
    CHECK(rewritten.read_files);
    CHECK(rewritten.changed);
    REQUIRE(src.Desired()->RulesFor("default/edge1").size() == 1);
    CHECK(src.Desired()->RulesFor("default/edge1")[0].rule.destination_port == "2202");
    fs::remove_all(dir);
  }

  TEST_CASE("without a settle time a change is taken at once") {
    const fs::path dir = fs::temp_directory_path() / ("nc-nosettle-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    Write(dir / "web.yaml", kPortForward);
    source::DirectorySource src(dir.string(), {});
    CHECK(src.Reload().changed);
    CHECK(src.Desired()->RulesFor("default/edge1").size() == 1);
    fs::remove_all(dir);
  }

  TEST_CASE(
      "a credentials file with the key where its value belongs never echoes it in the error") {
    const fs::path file =
        fs::temp_directory_path() / ("nc-creds-" + std::to_string(::getpid()) + ".yaml");
    Write(file, "{s3cret-api-key-0123}\n");
    auto c = source::LoadCredentialsFile(file.string());
    REQUIRE_FALSE(c);
    CHECK(c.error().message.find("s3cret") == std::string::npos);
    CHECK(c.error().message.find("line 1: an unknown key") != std::string::npos);
    fs::remove(file);
  }

  TEST_CASE("a changed VlanInterface marks its switch changed (not only PortForward rules)") {
    const fs::path dir =
        fs::temp_directory_path() / ("nc-vlan-change-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto sw = [](int vlan) {
      return "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: sw1}\n"
             "spec: {platform: dnos, address: 127.0.0.1:2222, credentialsRef: {file: "
             "c.yaml}}\n---\n"
             "apiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: web}\n"
             "spec: {deviceRef: sw1, interface: ge100-0/0/31, vlan: " +
             std::to_string(vlan) + "}\n";
    };
    Write(dir / "sw.yaml", sw(251));
    source::DirectorySource src(dir.string(), {});
    REQUIRE(src.Reload().changed_devices == std::vector<std::string>{"default/sw1"});
    Write(dir / "sw.yaml", sw(252));
    auto r = src.Reload();
    CHECK(r.changed);
    CHECK(r.changed_devices == std::vector<std::string>{"default/sw1"});  // was empty before
    CHECK(src.Desired()->VlansFor("default/sw1")[0].iface.vlan == 252);
    fs::remove_all(dir);
  }
}
