// aladdin: one binary, one subcommand per job. See README.md for every command.

#include <algorithm>
#include <exception>
#include <iostream>
#include <string_view>

#include "cli/command.hpp"

namespace aladdin::cli {

std::vector<command>& commands() {
  static std::vector<command> all;
  return all;
}

namespace {

void print_commands(std::ostream& o) {
  auto sorted = commands();
  std::sort(sorted.begin(), sorted.end(),
            [](const command& a, const command& b) { return a.name < b.name; });
  o << "usage: aladdin <command> [flags]   (aladdin <command> --help for its flags; aladdin --version)\n\n"
       "aladdin is an SLO-aware control plane for LLM inference fleets.\n\ncommands:\n";
  for (const auto& c : sorted) {
    o << "  " << c.name << std::string(c.name.size() < 14 ? 14 - c.name.size() : 1, ' ')
      << c.summary << "\n";
  }
}

}  // namespace
}  // namespace aladdin::cli

int main(int argc, char** argv) {
  using namespace aladdin::cli;
  if (argc < 2) {
    print_commands(std::cerr);
    return 2;
  }
  std::string_view name = argv[1];
  if (name == "--version" || name == "version") {
    // ALADDIN_VERSION: project(VERSION) in CMakeLists.txt; the git description when configured
    // from a checkout.
    const std::string_view git = ALADDIN_GIT_DESCRIBE;
    std::cout << "aladdin " << ALADDIN_VERSION;
    if (!git.empty()) std::cout << " (git " << git << ")";
    std::cout << "\n";
    return 0;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    print_commands(std::cout);
    return 0;
  }
  for (const auto& c : commands()) {
    if (c.name == name) {
      try {
        return c.run(argc - 1, argv + 1);
      } catch (const std::exception& e) {
        std::cerr << "aladdin " << c.name << ": " << e.what() << "\n";
        return 1;
      }
    }
  }
  std::cerr << "aladdin: unknown command '" << name << "' (see aladdin --help)\n";
  return 2;
}
