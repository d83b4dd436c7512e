#include <doctest/doctest.h>

#include "plan/forecaster.hpp"
#include "util/rng.hpp"

using namespace aladdin;

namespace {
// Arrivals at a constant rate over [from, to).
void feed(demand_forecaster& f, double from, double to, double rate, int input = 500) {
  const double gap = 1.0 / rate;
  for (double t = from; t < to; t += gap) f.observe_arrival(t, input);
}
}  // namespace

TEST_CASE("forecaster: a steady load is forecast at its rate") {
  demand_forecaster f({.window_s = 10});
  feed(f, 0, 600, 20);
  auto fc = f.forecast(600, 60);
  CHECK(fc.expected_rate_per_s == doctest::Approx(20).epsilon(0.02));
  CHECK(fc.rate_per_s == doctest::Approx(20).epsilon(0.05));
  CHECK(fc.mean_input_tokens == doctest::Approx(500));
  CHECK(fc.windows_seen == 60);
}

TEST_CASE("forecaster: a ramp is extrapolated over the horizon") {
  demand_forecaster f({.window_s = 10});
  // Rate grows by 1/s every window.
  for (int w = 0; w < 60; ++w) feed(f, w * 10.0, (w + 1) * 10.0, 10.0 + w);
  auto near = f.forecast(600, 10);
  auto far = f.forecast(600, 120);
  CHECK(near.rate_per_s >= 68);             // last window ran at 69/s
  CHECK(far.rate_per_s > near.rate_per_s);  // the ramp continues over the horizon
  CHECK(far.expected_rate_per_s == doctest::Approx(69 + 12).epsilon(0.08));
}

TEST_CASE("forecaster: noisy load earns a margin, steady load does not") {
  demand_forecaster steady({.window_s = 10});
  feed(steady, 0, 600, 30);
  demand_forecaster noisy({.window_s = 10});
  rng random(9);
  for (int w = 0; w < 60; ++w) feed(noisy, w * 10.0, (w + 1) * 10.0, 20 + 20 * random.uniform());
  auto s = steady.forecast(600, 30);
  auto n = noisy.forecast(600, 30);
  CHECK(s.rate_per_s - s.expected_rate_per_s == doctest::Approx(0).epsilon(0.01));
  CHECK(n.rate_per_s - n.expected_rate_per_s > 2);
}

TEST_CASE("forecaster: idle windows bring the forecast down and outputs are learnt") {
  demand_forecaster f({.window_s = 10});
  feed(f, 0, 100, 50);
  f.observe_completion(200);
  f.observe_completion(300);
  auto busy = f.forecast(100, 10);
  auto later = f.forecast(400, 10);  // 30 empty windows later
  CHECK(later.expected_rate_per_s < busy.expected_rate_per_s * 0.1);
  CHECK(later.mean_output_tokens == doctest::Approx(250));
}

TEST_CASE("forecaster: the same arrivals give the same forecast") {
  auto run = [] {
    demand_forecaster f({.window_s = 5});
    rng random(3);
    double t = 0;
    for (int i = 0; i < 5000; ++i) f.observe_arrival(t += random.exponential(0.05), 100);
    return f.forecast(t, 60).rate_per_s;
  };
  CHECK(run() == run());
}
