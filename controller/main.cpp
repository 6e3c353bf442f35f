// The composition root: everything is wired in controller/cli (one binary, many commands).
#include "controller/cli/cli.hpp"

int main(int argc, char** argv) {
  return nc::cli::Main(argc, argv);
}
