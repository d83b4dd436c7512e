#include "trace/load_curve.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "util/csv.hpp"

namespace aladdin {

double load_curve::peak_rate() const {
  double p = 0;
  for (const auto& w : windows) p = std::max(p, w.rate_per_s);
  return p;
}

double load_curve::mean_rate() const {
  if (windows.empty()) return 0;
  double s = 0;
  for (const auto& w : windows) s += w.rate_per_s;
  return s / static_cast<double>(windows.size());
}

load_curve read_load_curve_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw input_error(path + ": cannot open the load curve");
  csv_reader reader(in, path);
  const auto start_col = reader.column("window_start_s");
  const auto rate_col = reader.column("rate_per_s");
  load_curve curve;
  std::vector<std::string_view> fields;
  std::size_t line = 0;
  while (reader.next(&fields, &line)) {
    auto start = to_double(fields[start_col]);
    auto rate = to_double(fields[rate_col]);
    if (!start) reader.fail(line, "window_start_s '" + std::string(fields[start_col]) + "' is not a number");
    if (!rate || *rate < 0)
      reader.fail(line, "rate_per_s '" + std::string(fields[rate_col]) + "' is not a rate ≥ 0");
    if (!curve.windows.empty()) {
      const double gap = *start - curve.windows.back().start_s;
      if (gap <= 0) reader.fail(line, "window_start_s does not increase");
      if (curve.windows.size() == 1) {
        curve.window_s = gap;
      } else if (std::fabs(gap - curve.window_s) > 1e-6 * curve.window_s) {
        reader.fail(line, "windows are not equally spaced");
      }
    }
    curve.windows.push_back({*start, *rate});
  }
  if (curve.windows.empty()) throw input_error(path + ": no windows");
  if (curve.windows.size() == 1) curve.window_s = 60;
  return curve;
}

std::pair<load_curve, std::size_t> read_servegen_folder(const std::string& folder) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(folder)) throw input_error(folder + ": not a folder");
  std::map<long long, double> totals;
  std::size_t files = 0;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("chunk-", 0) == 0 && name.size() > 10 &&
        name.substr(name.size() - 10) == "-trace.csv")
      paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());  // directory order is not deterministic
  for (const auto& p : paths) {
    ++files;
    std::ifstream in(p);
    if (!in) throw input_error(p.string() + ": cannot open");
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (trim(line).empty()) continue;
      auto fields = split_csv_line(line);
      auto start = fields.size() >= 2 ? to_integer(fields[0]) : std::nullopt;
      auto rate = fields.size() >= 2 ? to_double(fields[1]) : std::nullopt;
      if (!start || !rate || *rate < 0)
        throw input_error(p.string() + ":" + std::to_string(number) +
                          ": expected window_start_s,rate,... with numbers");
      totals[*start] += *rate;
    }
  }
  if (files == 0) throw input_error(folder + ": no chunk-*-trace.csv files");
  load_curve curve;
  for (const auto& [start, rate] : totals) curve.windows.push_back({static_cast<double>(start), rate});
  curve.window_s = curve.windows.size() > 1 ? curve.windows[1].start_s - curve.windows[0].start_s : 600;
  // Fill gaps (zero totals) from the nearest non-zero neighbours.
  std::size_t filled = 0;
  const std::size_t n = curve.windows.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (curve.windows[i].rate_per_s > 0) continue;
    std::size_t lo = i, hi = i;
    while (lo > 0 && curve.windows[lo].rate_per_s <= 0) --lo;
    while (hi + 1 < n && curve.windows[hi].rate_per_s <= 0) ++hi;
    const double a = curve.windows[lo].rate_per_s > 0 ? curve.windows[lo].rate_per_s : 0;
    const double b = curve.windows[hi].rate_per_s > 0 ? curve.windows[hi].rate_per_s : a;
    const double left = a > 0 ? a : b;
    const double span = static_cast<double>(hi - lo);
    const double frac = span > 0 ? static_cast<double>(i - lo) / span : 0;
    curve.windows[i].rate_per_s = left + (b - left) * frac;
    ++filled;
  }
  return {curve, filled};
}

load_curve compress_time(load_curve curve, double factor) {
  for (auto& w : curve.windows) w.start_s /= factor;
  curve.window_s /= factor;
  return curve;
}

load_curve scale_rates(load_curve curve, double factor) {
  for (auto& w : curve.windows) w.rate_per_s *= factor;
  return curve;
}

double gamma_draw(rng& random, double shape) {
  if (shape < 1) {
    // Boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
    const double u = 1.0 - random.uniform();
    return gamma_draw(random, shape + 1) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = random.normal();
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = 1.0 - random.uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

trace generate_arrivals(const load_curve& curve, double cv, const length_sampler& lengths,
                        std::uint64_t seed) {
  rng random(seed);
  trace out;
  if (curve.windows.empty()) return out;
  const double origin = curve.windows.front().start_s;
  // Gamma gaps with mean 1/rate and the given cv: shape 1/cv², scale 1/(rate·shape).
  const double shape = cv > 0 ? 1.0 / (cv * cv) : 1.0;
  double t = 0;
  for (const auto& w : curve.windows) {
    const double begin = w.start_s - origin;
    const double end = begin + curve.window_s;
    if (w.rate_per_s <= 0) {
      t = end;
      continue;
    }
    t = std::max(t, begin);
    while (true) {
      const double gap = std::fabs(cv - 1.0) < 1e-12
                             ? random.exponential(1.0 / w.rate_per_s)
                             : gamma_draw(random, shape) / (w.rate_per_s * shape);
      if (t + gap >= end) {
        // The renewal restarts at the next window with that window's rate.
        t = end;
        break;
      }
      t += gap;
      auto [in, outlen] = lengths(random);
      out.push_back({t, in, outlen});
    }
  }
  return out;
}

}  // namespace aladdin
