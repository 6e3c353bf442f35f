// The DNOS dialect: parsing `show config | flatten` (defaults implied, quoted strings, other
// services ignored), rendering plans in a safe order, classifying the CLI's answers, and the
// terminal text normaliser.
#include <doctest/doctest.h>

#include "adapters/switch/dnos_dialect.hpp"
#include "transport/ssh/ssh_shell.hpp"

using namespace nc;
using namespace nc::switchcli;

TEST_SUITE("unit/dnos") {
  TEST_CASE(
      "flatten output: sub-interfaces with defaults, quoted descriptions, bridge-domain "
      "membership") {
    const std::string ifs =
        "# dnRouter config-start [22-Nov-2026 10:00:00 UTC]\n"
        "interfaces ge100-0/0/31 admin-state enabled\n"
        "interfaces ge100-0/0/31.251 description \"web tier [netconverge]\"\n"
        "interfaces ge100-0/0/31.251 l2-service enabled\n"
        "interfaces ge100-0/0/31.251 vlan-id 251\n"
        "interfaces ge100-0/0/31.252 admin-state disabled\n"
        "interfaces ge100-0/0/31.252 ipv4-address 10.0.0.1/24\n"
        "interfaces ge100-0/0/31.252 vlan-id 252\n"
        "interfaces bundle-2 ^\n"
        "# dnRouter config-end\n";
    const std::string ns =
        "network-services bridge-domain instance BD-251 description \"bridge domain "
        "[netconverge]\"\n"
        "network-services bridge-domain instance BD-251 interface ge100-0/0/31.251 ^\n"
        "network-services bridge-domain instance BD-251 interface bundle-2 ^\n"
        "network-services evpn instance E1 ^\n";
    auto st = DnosDialect().ParseObserved({ifs, ns});
    REQUIRE(st);
    REQUIRE(st->interfaces.size() == 2);
    const auto& a = st->interfaces.at("ge100-0/0/31.251");
    CHECK(a.vlan == 251);
    CHECK(a.l2_service);
    CHECK(a.admin_enabled);  // not shown: the default
    CHECK(a.description == "web tier [netconverge]");
    CHECK(a.bridge_domain == "BD-251");
    const auto& b = st->interfaces.at("ge100-0/0/31.252");
    CHECK_FALSE(b.admin_enabled);
    CHECK_FALSE(b.l2_service);
    CHECK(b.unmanaged == std::vector<std::string>{"ipv4-address 10.0.0.1/24"});
    CHECK(st->ports == std::vector<std::string>{"bundle-2", "ge100-0/0/31"});
    CHECK(st->bridge_domains.at("BD-251").members ==
          std::vector<std::string>{"bundle-2", "ge100-0/0/31.251"});
    CHECK(DnosDialect().StableText(ifs).find("config-start") == std::string::npos);
    CHECK_FALSE(DnosDialect().ParseObserved({"interfaces ge100-0/0/1.5 vlan-id 9999\n"}));
  }

  TEST_CASE(
      "render: bridge domain first, detach before delete, leaves of a new interface, `top` after "
      "entries") {
    core::Plan plan;
    core::SubInterface gone{100, true, true, "x [netconverge]", "OLD", {}};
    core::SubInterface fresh{200, true, false, "y [netconverge]", "NEW", {}};
    core::SubInterface before{300, false, true, "", "", {"ipv4-address 10.0.0.1/24"}};
    core::SubInterface after{300, true, true, "z [netconverge]", "", {}};
    plan.bridge_domains = {{core::ChangeKind::kAdd, "NEW", "bridge domain [netconverge]", ""},
                           {core::ChangeKind::kDelete, "OLD", "", ""}};
    plan.interfaces = {
        {core::ChangeKind::kDelete, "ge100-0/0/1.100", "r", gone, std::nullopt, "", false},
        {core::ChangeKind::kAdd, "ge100-0/0/2.200", "r", std::nullopt, fresh, "", false},
        {core::ChangeKind::kUpdate, "ge100-0/0/3.300", "r", before, after, "", false}};
    const std::vector<std::string> want = {
        "network-services bridge-domain instance NEW description \"bridge domain [netconverge]\"",
        "top",
        "no network-services bridge-domain instance OLD interface ge100-0/0/1.100",
        "top",
        "no interfaces ge100-0/0/1.100",
        "top",
        "interfaces ge100-0/0/2.200 vlan-id 200",
        "interfaces ge100-0/0/2.200 l2-service enabled",
        "interfaces ge100-0/0/2.200 admin-state disabled",
        "interfaces ge100-0/0/2.200 description \"y [netconverge]\"",
        "top",
        "no interfaces ge100-0/0/3.300 ipv4-address",
        "interfaces ge100-0/0/3.300 l2-service enabled",
        "interfaces ge100-0/0/3.300 description \"z [netconverge]\"",
        "top",
        "network-services bridge-domain instance NEW interface ge100-0/0/2.200",
        "top",
        "no network-services bridge-domain instance OLD",
        "top"};
    CHECK(DnosDialect().Render(plan) == want);
    CHECK(DnosDialect().CommitCommand(2, "netconverge: 3 change(s)") ==
          "commit confirm 2 log \"netconverge: 3 change(s)\"");
    CHECK(DnosDialect().CommitCommand(0, "") == "commit");
  }

  TEST_CASE(
      "classifying answers: errors, check, commit (ours vs another user's broadcast), not "
      "applicable, confirm") {
    DnosDialect d;
    CHECK(d.ClassifyLine({"ERROR: Unknown word: 'interfaces'.",
                          "dnRouter(cfg-bd-inst-ge100-0/0/31.251)# ", ""})
              .kind == Verdict::kRejected);
    CHECK(d.ClassifyLine({"", "dnRouter(cfg)# ", ""}).kind == Verdict::kOk);
    CHECK(d.ClassifyLine({"", "dnRouter# ", ""}).kind ==
          Verdict::kRejected);  // left configuration mode
    CHECK(d.ClassifyCheck({"Commit check passed successfully", "dnRouter(cfg)# ", ""}).kind ==
          Verdict::kOk);
    auto failed = d.ClassifyCheck(
        {"Commit check failed on:\n  interfaces ge100-0/0/1.5\n    ERROR: vlan-id is mandatory",
         "dnRouter(cfg)# ", ""});
    CHECK(failed.kind == Verdict::kRejected);
    CHECK(failed.text.find("vlan-id is mandatory") != std::string::npos);
    CHECK(d.ClassifyCheck(
               {"Warning: User x committed", "",
                "What would you like to do (check-and-merge, merge-only, abort) [abort]? "})
              .kind == Verdict::kOutOfSync);
    CHECK(d.ClassifyCommit(
               {"Commit succeeded by netops2 at 22-Nov-2026 10:00:00 UTC", "dnRouter(cfg)# ", ""},
               "admin")
              .kind == Verdict::kRejected);
    CHECK(d.ClassifyCommit({"\nCommit succeeded by netops2 at x\nCommit succeeded by admin at "
                            "22-Nov-2026 10:00:01 UTC\nCommit confirm will "
                            "automatically rollback in 2 minutes unless confirmed",
                            "dnRouter(cfg)# ", ""},
                           "admin")
              .kind == Verdict::kOk);
    CHECK(d.ClassifyCommit(
               {"NOTICE: commit action is not applicable. no configuration changes were made",
                "dnRouter(cfg)# ", ""},
               "admin")
              .kind == Verdict::kNoop);
    CHECK(d.ClassifyConfirm({"Commit action is not applicable. no configuration changes were made",
                             "dnRouter(cfg)# ", ""})
              .kind == Verdict::kRejected);  // the timer had already reverted it
    CHECK(d.ParsePendingCommit("[22-Nov-2026 10:00:00 UTC] admin via cli confirmed-commit, "
                               "rollback in 9 minutes\nno commits\n") == "admin");
    CHECK(d.ParsePendingCommit("no commits\n").empty());
    CHECK(d.Decline("What would you like to do (commit, merge-only, abort) [abort]? ") == "abort");
    CHECK(d.Decline("Enter yes to continue with commit, no to abort commit (yes/no) [no] ") ==
          "no");
    CHECK(d.ParseVersion("System Name: dnRouter\nVersion: DNOS [19.1.0] build [1]\n") ==
          "DNOS 19.1.0");
    // Found by fuzz_dnos: a bare label threw std::out_of_range.
    CHECK(d.ParseVersion("Version:") == "DNOS (unknown version)");
    CHECK(d.ParseVersion("Version:   \n") == "DNOS (unknown version)");
    CHECK(d.ParseVersion("Version: 19.2") == "19.2");
  }

  TEST_CASE("prompts, questions and pagers of the profile") {
    const auto p = DnosDialect().Profile();
    for (const char* prompt :
         {"dnRouter# ", "dnRouter(cfg)# ", "dnRouter(cfg-if-ge100-0/0/31.251)# ",
          "dnRouter(cfg-bd-inst-ge100-0/0/31.251)#", "my.router-1(cfg-netsrv-bd-inst)# "})
      CHECK_MESSAGE(std::regex_match(std::string(prompt), p.prompt), prompt);
    for (const char* not_prompt :
         {"# dnRouter config-end", "interfaces ge100-0/0/1 description \"a#\"",
          "Commit succeeded by admin"})
      CHECK_MESSAGE(!std::regex_match(std::string(not_prompt), p.prompt), not_prompt);
    CHECK(std::regex_match(
        std::string("Enter yes to continue with commit, no to abort commit (yes/no) [no] "),
        p.question));
    CHECK(std::regex_match(std::string("Warning: Configuration includes uncommitted changes, would "
                                       "you like to commit them before exiting "
                                       "(yes,no,cancel)[cancel]? "),
                           p.question));
    CHECK(std::regex_match(std::string("-- More -- (Press q to quit)"), p.pager));
  }

  TEST_CASE("terminal text: ANSI colours and cursor codes removed, line ends normalised") {
    CHECK(ssh::NormalizeTerminalText("\x1b[1mdnRouter\x1b[0m# ") == "dnRouter# ");
    CHECK(ssh::NormalizeTerminalText("a\r\r\nb\r\nc") == "a\nb\nc");
    CHECK(ssh::NormalizeTerminalText(
              "\x1b[32m+ x\x1b[0m\r\n\x1b]0;title\a\x1b[7m-- More --\x1b[27m") ==
          "+ x\n-- More --");
    CHECK(ssh::NormalizeTerminalText("ab\bc") == "ac");
  }
}
