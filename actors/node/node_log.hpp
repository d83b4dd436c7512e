#pragma once
// The node's log: one line per event on stderr, with the wall time, filtered by level. A plain
// object owned by the node's context (no global logger), so two nodes in one test process can
// log differently.

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace aladdin::node {

class node_log {
 public:
  enum class level { info, warn, quiet };
  void set_level(level l) { level_ = l; }
  level get_level() const { return level_; }

  void info(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (level_ != level::info) return;
    va_list ap;
    va_start(ap, fmt);
    write("info", fmt, ap);
    va_end(ap);
  }
  void warn(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (level_ == level::quiet) return;
    va_list ap;
    va_start(ap, fmt);
    write("warn", fmt, ap);
    va_end(ap);
  }

 private:
  void write(const char* tag, const char* fmt, va_list ap);
  level level_ = level::info;
  std::mutex mutex_;
};

}  // namespace aladdin::node
