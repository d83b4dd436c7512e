#pragma once
// The one logger of every aladdin process (serve, worker, loadgen, up): one line per event on
// stderr, filtered by level, as text or as a JSON object per line.
//
//   text: 2026-12-04T21:40:01.123Z info serve: serving llama2-70b ...
//   json: {"ts":"2026-12-04T21:40:01.123Z","level":"info","process":"serve","msg":"serving ..."}
//
// Timestamps are ISO-8601 UTC with milliseconds. Levels: debug < info < warn < error; `quiet`
// prints nothing. A plain object, no global state behind it: the control node owns one in its
// context (two nodes in one test process log differently), and process_log() is the one a
// command configures from its --log-level and --log-format flags. Thread-safe: one line is
// written whole under a lock.

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aladdin {

class logger {
 public:
  enum class level { debug, info, warn, error, quiet };
  enum class format { text, json };

  explicit logger(std::string process = "aladdin", std::FILE* out = stderr) : process_(std::move(process)), out_(out) {}

  void set_level(level l) { level_ = l; }
  level get_level() const { return level_; }
  void set_format(format f) { format_ = f; }
  format get_format() const { return format_; }
  void set_process(std::string name) { process_ = std::move(name); }
  bool enabled(level l) const { return level_ != level::quiet && l != level::quiet && l >= level_; }

  void debug(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void info(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void warn(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void error(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  // An already formatted message.
  void write(level l, std::string_view message);

  // The line write() prints for a message at `unix_micros` (no newline).
  static std::string line(format f, level l, std::string_view process, std::string_view message,
                          std::int64_t unix_micros);

 private:
  void vwrite(level l, const char* fmt, va_list ap);
  std::string process_;
  std::FILE* out_;
  level level_ = level::info;
  format format_ = format::text;
  std::mutex mutex_;
};

// "2026-12-04T21:40:01.123Z".
std::string iso8601_utc(std::int64_t unix_micros);

// The words of the flags: --log-level debug|info|warn|error|quiet, --log-format text|json.
const char* to_string(logger::level l);
const char* to_string(logger::format f);
std::optional<logger::level> log_level_named(std::string_view name);
std::optional<logger::format> log_format_named(std::string_view name);
std::vector<std::string> log_level_words();
std::vector<std::string> log_format_words();

// The process's own logger (what `aladdin worker` and `aladdin loadgen` print with).
logger& process_log();

}  // namespace aladdin
