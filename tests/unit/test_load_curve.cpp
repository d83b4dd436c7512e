#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "trace/load_curve.hpp"
#include "util/csv.hpp"

using namespace aladdin;

namespace {
std::string temp_file(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("aladdin_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}
const length_sampler fixed = [](rng&) { return std::pair<int, int>{100, 50}; };
}  // namespace

TEST_CASE("load curve: arrivals follow each window's rate") {
  load_curve c;
  c.window_s = 100;
  c.windows = {{0, 10}, {100, 50}, {200, 0}, {300, 20}};
  auto t = generate_arrivals(c, 1.0, fixed, 7);
  std::size_t per[4] = {0, 0, 0, 0};
  for (const auto& r : t) per[static_cast<int>(r.arrival_s / 100)]++;
  CHECK(per[0] == doctest::Approx(1000).epsilon(0.1));
  CHECK(per[1] == doctest::Approx(5000).epsilon(0.05));
  CHECK(per[2] == 0);
  CHECK(per[3] == doctest::Approx(2000).epsilon(0.08));
  for (std::size_t i = 1; i < t.size(); ++i) CHECK(t[i].arrival_s >= t[i - 1].arrival_s);
}

TEST_CASE("load curve: gamma gaps have the requested burstiness") {
  load_curve c;
  c.window_s = 10000;
  c.windows = {{0, 10}};
  for (double cv : {0.5, 2.0}) {
    auto t = generate_arrivals(c, cv, fixed, 3);
    double sum = 0, sum2 = 0;
    for (std::size_t i = 1; i < t.size(); ++i) {
      const double g = t[i].arrival_s - t[i - 1].arrival_s;
      sum += g;
      sum2 += g * g;
    }
    const double n = static_cast<double>(t.size() - 1);
    const double mean = sum / n;
    const double sd = std::sqrt(sum2 / n - mean * mean);
    CHECK(mean == doctest::Approx(0.1).epsilon(0.05));
    CHECK(sd / mean == doctest::Approx(cv).epsilon(0.08));
  }
}

TEST_CASE("load curve: the same seed gives the same arrivals") {
  load_curve c;
  c.window_s = 60;
  c.windows = {{0, 5}, {60, 9}};
  auto a = generate_arrivals(c, 1.5, fixed, 11);
  auto b = generate_arrivals(c, 1.5, fixed, 11);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].arrival_s == b[i].arrival_s);
}

TEST_CASE("load curve: compressing time keeps the rates and shortens the windows") {
  load_curve c;
  c.window_s = 600;
  c.windows = {{0, 10}, {600, 20}};
  auto d = compress_time(c, 60);
  CHECK(d.window_s == doctest::Approx(10));
  CHECK(d.windows[1].start_s == doctest::Approx(10));
  CHECK(d.windows[1].rate_per_s == 20);
  CHECK(scale_rates(c, 2).peak_rate() == 40);
}

TEST_CASE("load curve: CSV errors name the line") {
  auto good = temp_file("curve_ok.csv", "window_start_s,rate_per_s\n0,1\n60,2\n120,3\n");
  auto c = read_load_curve_csv(good);
  CHECK(c.window_s == 60);
  CHECK(c.windows.size() == 3);
  auto bad = temp_file("curve_bad.csv", "window_start_s,rate_per_s\n0,1\n60,oops\n");
  CHECK_THROWS_WITH_AS(read_load_curve_csv(bad), doctest::Contains(":3:"), input_error);
  auto uneven = temp_file("curve_uneven.csv", "window_start_s,rate_per_s\n0,1\n60,2\n200,3\n");
  CHECK_THROWS_WITH_AS(read_load_curve_csv(uneven), doctest::Contains("equally spaced"), input_error);
}

TEST_CASE("load curve: ServeGen folders are summed per window and gaps filled") {
  auto dir = std::filesystem::temp_directory_path() / "aladdin_test_servegen";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "chunk-1-trace.csv") << "0,1.0,1.0,Gamma,1,1\n600,0,,,,\n1200,3.0,1.0,Gamma,1,1\n";
  std::ofstream(dir / "chunk-2-trace.csv") << "0,2.0,1.0,Weibull,1,1\n600,0,,,,\n1200,1.0,1.0,Gamma,1,1\n";
  auto [curve, filled] = read_servegen_folder(dir.string());
  REQUIRE(curve.windows.size() == 3);
  CHECK(curve.window_s == 600);
  CHECK(curve.windows[0].rate_per_s == 3.0);
  CHECK(filled == 1);
  CHECK(curve.windows[1].rate_per_s == doctest::Approx(3.5));  // between 3 and 4
  CHECK(curve.windows[2].rate_per_s == 4.0);
}
