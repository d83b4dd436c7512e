#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "util/progress.hpp"

using namespace aladdin;

TEST_CASE("progress: durations read as seconds, minutes and hours") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(12.4) == "12s");
  CHECK(format_duration(185) == "3m05s");
  CHECK(format_duration(3720) == "1h02m");
  CHECK(format_duration(-3) == "0s");
}

TEST_CASE("progress: the line says what is done, the time elapsed and the estimate left") {
  CHECK(progress_line("scale", 0, 10, "simulation 0/10", 3) == "scale: [  0%] simulation 0/10 · 3s elapsed, ? left");
  // 4 of 10 in 60 s: the other 6 at the same pace take 90 s.
  CHECK(progress_line("scale", 4, 10, "simulation 4/10", 60) ==
        "scale: [ 40%] simulation 4/10 · 1m00s elapsed, ~1m30s left");
  CHECK(progress_line("plan", 10, 10, "done", 125) == "plan: [100%] done · 2m05s elapsed, ~0s left");
}

TEST_CASE("progress: an injected clock drives the redraws, throttled, and finish clears the line") {
  std::ostringstream out;
  double now = 100;
  progress_reporter p(&out, "simulate", [&] { return now; }, 1.0);
  CHECK(p.enabled());
  now = 102;
  p.update(1, 4, "1/4");
  CHECK(out.str() == "\rsimulate: [ 25%] 1/4 · 2s elapsed, ~6s left");
  now = 102.5;  // within the interval: not redrawn
  p.update(2, 4, "2/4");
  CHECK(out.str() == "\rsimulate: [ 25%] 1/4 · 2s elapsed, ~6s left");
  now = 103.5;
  out.str("");
  p.update(3, 40, "3/40 more");  // a longer line
  const std::string longer = "simulate: [  7%] 3/40 more · 4s elapsed, ~43s left";
  CHECK(out.str() == "\r" + longer);
  now = 103.6;  // the last unit is always drawn, a shorter line blanks what the longer left
  out.str("");
  p.update(40, 40, "40/40");
  const std::string last = "simulate: [100%] 40/40 · 4s elapsed, ~0s left";
  CHECK(out.str() == "\r" + last + std::string(longer.size() - last.size(), ' '));
  out.str("");
  p.finish();
  CHECK(out.str() == "\r" + std::string(last.size(), ' ') + "\r");
  out.str("");
  p.finish();  // twice: nothing more
  CHECK(out.str().empty());
}

TEST_CASE("progress: a reporter without an output writes nothing and never reads its clock") {
  int reads = 0;
  progress_reporter p(nullptr, "plan", [&] { return static_cast<double>(++reads); });
  p.update(1, 2, "x");
  p.finish();
  CHECK_FALSE(p.enabled());
  CHECK(reads == 0);
}
