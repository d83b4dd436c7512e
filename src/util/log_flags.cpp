#include "util/log_flags.hpp"

namespace aladdin {

void log_flags::add_to(flag_set& flags) {
  flags.add_choice("log-level", &level, log_level_words(), "what is printed on stderr, from this level up");
  flags.add_choice("log-format", &format, log_format_words(), "stderr lines as text or as JSON objects (one per line)");
}

void log_flags::apply(const std::string& process, logger& log) const {
  // The flag parser has checked both words.
  log.set_level(log_level_named(level).value_or(logger::level::info));
  log.set_format(log_format_named(format).value_or(logger::format::text));
  log.set_process(process);
}

}  // namespace aladdin
