#pragma once
// Progress of long work (plan's searches, scale's and simulate's simulations) on a terminal: one
// line on stderr, redrawn in place, with what is done of what is planned, the time elapsed and
// an estimate of the time left:
//
//   scale: [ 42%] hindsight: window 61/144, simulation 173 · 2m05s elapsed, ~2m53s left
//
// The estimate assumes the rest goes at the pace so far: elapsed × (planned − done) / done;
// before anything is done it is "?". `planned` may grow while the work runs (a search that
// needs more simulations than first thought); the line says what the caller knows.
//
// The clock is an input (seconds on any monotonic scale), so a test drives it by hand; redraws
// are throttled to one per `min_interval_s` of that clock (the last one always drawn). A reporter
// without an output is silent: the work it watches cannot tell the difference, and no decision
// ever reads it. `for_terminal` writes to stderr only when stderr is a terminal and the command
// was not asked for machine output (`--json`).

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace aladdin {

// "12s", "3m05s", "1h02m": the elapsed and estimated times of a progress line.
std::string format_duration(double seconds);

// The text of one progress line (without the carriage return and padding).
std::string progress_line(std::string_view label, double done, double planned, std::string_view what,
                          double elapsed_s);

class progress_reporter {
 public:
  using clock = std::function<double()>;  // seconds, non-decreasing

  // out == nullptr: silent. The clock is read at construction (the start) and at every update.
  progress_reporter(std::ostream* out, std::string label, clock now, double min_interval_s = 0.25);

  // stderr when it is a terminal and !machine_output, else silent; the steady clock.
  static progress_reporter for_terminal(std::string label, bool machine_output);

  bool enabled() const { return out_ != nullptr; }

  // done of planned units of work (the fraction and the estimate), `what` says what in words.
  void update(double done, double planned, std::string_view what);
  // Clears the line (the command's own output follows). Safe to call twice or when silent.
  void finish();

 private:
  std::ostream* out_;
  std::string label_;
  clock now_;
  double min_interval_s_;
  double start_s_ = 0;
  double last_draw_s_ = 0;
  bool drawn_ = false;
  std::size_t width_ = 0;  // of the line on screen, to blank what a shorter one leaves
};

}  // namespace aladdin
