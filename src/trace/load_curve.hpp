#pragma once
// A load curve: the arrival rate over consecutive windows (for example the 14-day, 10-minute
// ServeGen production curve), and the arrivals generated from it for scaling experiments.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "trace/trace.hpp"
#include "util/rng.hpp"

namespace aladdin {

struct load_window {
  double start_s = 0;
  double rate_per_s = 0;
};

struct load_curve {
  double window_s = 0;  // every window has this length
  std::vector<load_window> windows;

  double duration_s() const { return window_s * static_cast<double>(windows.size()); }
  double peak_rate() const;
  double mean_rate() const;
};

// CSV with a header `window_start_s,rate_per_s`; windows must be equally spaced and increasing.
load_curve read_load_curve_csv(const std::string& path);

// A ServeGen per-client folder (chunk-<client>-trace.csv files without header:
// window_start_s, rate, cv, pattern, arg1, arg2): the clients' rates summed per window. Windows
// whose total is 0 are collection gaps, not idle time; they are filled by linear interpolation
// between their neighbours, and the count of filled windows is returned alongside.
std::pair<load_curve, std::size_t> read_servegen_folder(const std::string& folder);

// Compresses time: a curve of N windows of window_s seconds becomes N windows of
// window_s / factor seconds at the same rates (a day in minutes, with the same shape).
load_curve compress_time(load_curve curve, double factor);

// Multiplies every rate by factor.
load_curve scale_rates(load_curve curve, double factor);

// Arrivals following the curve: within each window a renewal process at that window's rate,
// exponential gaps (Poisson) when cv == 1, Gamma gaps with the given coefficient of variation
// otherwise (burstier when cv > 1). Lengths come from `lengths` (for example the built-in
// workload's sampler). Deterministic for a seed.
using length_sampler = std::function<std::pair<int, int>(rng&)>;
trace generate_arrivals(const load_curve& curve, double cv, const length_sampler& lengths,
                        std::uint64_t seed);

// One Gamma(shape, scale = 1) draw (Marsaglia–Tsang), from the engine directly so that runs
// are reproducible across standard libraries.
double gamma_draw(rng& random, double shape);

}  // namespace aladdin
