#include "util/log.hpp"

#include <sys/time.h>

#include <ctime>

#include "util/json.hpp"

namespace aladdin {

namespace {

constexpr std::pair<logger::level, const char*> level_names[] = {
    {logger::level::debug, "debug"}, {logger::level::info, "info"},   {logger::level::warn, "warn"},
    {logger::level::error, "error"}, {logger::level::quiet, "quiet"}};
constexpr std::pair<logger::format, const char*> format_names[] = {{logger::format::text, "text"},
                                                                   {logger::format::json, "json"}};

std::int64_t now_micros() {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  return static_cast<std::int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

}  // namespace

std::string iso8601_utc(std::int64_t unix_micros) {
  const std::time_t secs = static_cast<std::time_t>(unix_micros / 1000000);
  tm utc{};
  ::gmtime_r(&secs, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", date, static_cast<int>((unix_micros % 1000000) / 1000));
  return out;
}

const char* to_string(logger::level l) {
  for (const auto& [v, name] : level_names)
    if (v == l) return name;
  return "info";
}

const char* to_string(logger::format f) { return f == logger::format::json ? "json" : "text"; }

std::optional<logger::level> log_level_named(std::string_view name) {
  for (const auto& [v, n] : level_names)
    if (name == n) return v;
  return std::nullopt;
}

std::optional<logger::format> log_format_named(std::string_view name) {
  for (const auto& [v, n] : format_names)
    if (name == n) return v;
  return std::nullopt;
}

std::vector<std::string> log_level_words() {
  std::vector<std::string> out;
  for (const auto& [v, n] : level_names) out.emplace_back(n);
  return out;
}

std::vector<std::string> log_format_words() { return {"text", "json"}; }

std::string logger::line(format f, level l, std::string_view process, std::string_view message,
                         std::int64_t unix_micros) {
  const std::string ts = iso8601_utc(unix_micros);
  if (f == format::json) {
    json_writer j;
    j.begin_object();
    j.field("ts", ts).field("level", std::string(to_string(l))).field("process", std::string(process));
    j.field("msg", std::string(message));
    j.end_object();
    return j.str();
  }
  std::string out = ts;
  out += ' ';
  out += to_string(l);
  out += ' ';
  out += process;
  out += ": ";
  out += message;
  return out;
}

void logger::write(level l, std::string_view message) {
  if (!enabled(l)) return;
  const std::string text = line(format_, l, process_, message, now_micros());
  std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void logger::vwrite(level l, const char* fmt, va_list ap) {
  if (!enabled(l)) return;
  char stack[512];
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(stack, sizeof stack, fmt, copy);
  va_end(copy);
  if (n < 0) return;
  if (static_cast<std::size_t>(n) < sizeof stack) {
    write(l, std::string_view(stack, static_cast<std::size_t>(n)));
    return;
  }
  std::string big(static_cast<std::size_t>(n) + 1, '\0');
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  big.resize(static_cast<std::size_t>(n));
  write(l, big);
}

#define ALADDIN_LOG_AT(name, lvl)                \
  void logger::name(const char* fmt, ...) {      \
    if (!enabled(lvl)) return;                   \
    va_list ap;                                  \
    va_start(ap, fmt);                           \
    vwrite(lvl, fmt, ap);                        \
    va_end(ap);                                  \
  }
ALADDIN_LOG_AT(debug, level::debug)
ALADDIN_LOG_AT(info, level::info)
ALADDIN_LOG_AT(warn, level::warn)
ALADDIN_LOG_AT(error, level::error)
#undef ALADDIN_LOG_AT

logger& process_log() {
  static logger log;
  return log;
}

}  // namespace aladdin
