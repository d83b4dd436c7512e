#pragma once
// --log-level and --log-format for a command that declares its own flags (worker, loadgen, up):
// declared once here, so that every process takes the same words (src/util/log.hpp).

#include <string>

#include "util/flags.hpp"
#include "util/log.hpp"

namespace aladdin {

struct log_flags {
  std::string level = "info";
  std::string format = "text";
  void add_to(flag_set& flags);
  // Sets `log` (process_log() by default) to the parsed level and format, named `process`.
  void apply(const std::string& process, logger& log = process_log()) const;
};

}  // namespace aladdin
