#include "actors/node/node_log.hpp"

#include <sys/time.h>

#include <ctime>

namespace aladdin::node {

void node_log::write(const char* tag, const char* fmt, va_list ap) {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  tm local{};
  ::localtime_r(&tv.tv_sec, &local);
  char when[32];
  std::strftime(when, sizeof when, "%H:%M:%S", &local);
  std::lock_guard lock(mutex_);
  std::fprintf(stderr, "%s.%03ld aladdin %s: ", when, static_cast<long>(tv.tv_usec / 1000), tag);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
}

}  // namespace aladdin::node
