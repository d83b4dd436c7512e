#pragma once
// Subcommand registry of the aladdin binary. Each cmd_*.cpp registers itself with a static
// command_registration, so adding a command touches no other file.

#include <string>
#include <vector>

namespace aladdin::cli {

using command_fn = int (*)(int argc, char** argv);

struct command {
  std::string name;
  std::string summary;
  command_fn run;
};

std::vector<command>& commands();

struct command_registration {
  command_registration(std::string name, std::string summary, command_fn run) {
    commands().push_back({std::move(name), std::move(summary), run});
  }
};

}  // namespace aladdin::cli
