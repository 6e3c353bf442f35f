// The tests' main: doctest's, plus one rule. ctest runs each test case by name
// (--test-case=NAME, doctest_discover_tests); a name CMake or doctest cannot carry intact (a ';'
// splits it into a list) would select no test case, and doctest would report success for a test
// that never ran. Here a name filter that selects nothing is a failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace {

std::atomic<int> g_started{0};

/// Counts the test cases that ran.
struct CountCases : doctest::IReporter {
  explicit CountCases(const doctest::ContextOptions& /*options*/) {}
  void report_query(const doctest::QueryData& /*data*/) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& /*stats*/) override {}
  void test_case_start(const doctest::TestCaseData& /*data*/) override { ++g_started; }
  void test_case_reenter(const doctest::TestCaseData& /*data*/) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& /*stats*/) override {}
  void test_case_exception(const doctest::TestCaseException& /*e*/) override {}
  void subcase_start(const doctest::SubcaseSignature& /*signature*/) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& /*data*/) override {}
  void log_message(const doctest::MessageData& /*data*/) override {}
  void test_case_skipped(const doctest::TestCaseData& /*data*/) override {}
};

REGISTER_LISTENER("count-cases", 1, CountCases);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit()) return rc;  // --list-test-cases, --help, ...
  bool by_name = false;
  for (int i = 1; i < argc; ++i)
    for (const char* flag : {"--test-case=", "-tc=", "--dt-test-case=", "--dt-tc="})
      by_name = by_name || std::strncmp(argv[i], flag, std::strlen(flag)) == 0;
  if (by_name && g_started.load() == 0) {
    std::fprintf(stderr,
                 "doctest_main: no test case matches the name filter - the test did not run "
                 "(a ';' in a TEST_CASE name splits it in CMake)\n");
    return 1;
  }
  return rc;
}
