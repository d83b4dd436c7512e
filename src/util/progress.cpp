#include "util/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace aladdin {

std::string format_duration(double seconds) {
  const long long s = std::llround(std::max(0.0, seconds));
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  return buf;
}

std::string progress_line(std::string_view label, double done, double planned, std::string_view what,
                          double elapsed_s) {
  const double fraction = planned > 0 ? std::clamp(done / planned, 0.0, 1.0) : 0.0;
  char pct[16];
  std::snprintf(pct, sizeof pct, "[%3d%%]", static_cast<int>(std::floor(fraction * 100)));
  std::string line = std::string(label) + ": " + pct + " " + std::string(what) + " · " +
                     format_duration(elapsed_s) + " elapsed, ";
  if (done > 0 && planned >= done)
    line += "~" + format_duration(elapsed_s * (planned - done) / done) + " left";
  else
    line += "? left";
  return line;
}

progress_reporter::progress_reporter(std::ostream* out, std::string label, clock now, double min_interval_s)
    : out_(out), label_(std::move(label)), now_(std::move(now)), min_interval_s_(min_interval_s) {
  if (out_ != nullptr) start_s_ = now_();
}

progress_reporter progress_reporter::for_terminal(std::string label, bool machine_output) {
  const bool show = !machine_output && isatty(STDERR_FILENO) != 0;
  return progress_reporter(show ? &std::cerr : nullptr, std::move(label), [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  });
}

void progress_reporter::update(double done, double planned, std::string_view what) {
  if (out_ == nullptr) return;
  const double t = now_();
  const bool last = planned > 0 && done >= planned;
  if (drawn_ && !last && t - last_draw_s_ < min_interval_s_) return;
  std::string line = progress_line(label_, done, planned, what, t - start_s_);
  const std::size_t width = line.size();
  if (width < width_) line.append(width_ - width, ' ');
  *out_ << '\r' << line << std::flush;
  width_ = width;
  last_draw_s_ = t;
  drawn_ = true;
}

void progress_reporter::finish() {
  if (out_ == nullptr || !drawn_) return;
  *out_ << '\r' << std::string(width_, ' ') << '\r' << std::flush;
  drawn_ = false;
  width_ = 0;
}

}  // namespace aladdin
