// The simulated GPU's timing tables: exact at the measured medians, monotone where the data is,
// broken rows dropped by rule, and the built-in copy identical to what the CSV gives.

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "sim/ground_truth.hpp"
#include "util/csv.hpp"

using namespace aladdin;
using namespace aladdin::sim;

namespace {

const char* const profile_path = ALADDIN_SHARED_DATA "/latency/splitwise_perf_model_a100.csv";

bool close(double a, double b, double rel = 1e-12) {
  return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b));
}

ground_truth llama_tp4() { return *ground_truth::builtin("llama2-70b", "a100-80gb", 4); }

// A small synthetic profile in the Splitwise layout: three sweeps sharing (512, 1, 128).
std::string synthetic_csv(double broken_prefill_ms = 0) {
  std::ostringstream o;
  o << "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,"
       "token_time,e2e_time,tensor_parallel\n";
  auto row = [&](int p, int b, int t, double pre, double tok) {
    for (int rep = 0; rep < 3; ++rep)
      o << "llama2-70b,a100-80gb," << p << "," << b << "," << t << ",0,0," << pre + rep << ","
        << tok + 0.1 * rep << ",0,4\n";
  };
  row(128, 1, 128, 60, 40);
  row(512, 1, 128, 120, 41);
  row(2048, 1, 128, 400, 42);
  row(512, 2, 128, 250, 42);
  row(512, 8, 128, 1000, 45);
  row(512, 1, 1024, 121, 43);
  if (broken_prefill_ms > 0) row(512, 16, 128, broken_prefill_ms, 47);
  return o.str();
}

}  // namespace

TEST_SUITE("engine ground truth") {

TEST_CASE("builtin tables exist for the measured A100 configurations only") {
  for (int tp : {2, 4, 8}) CHECK(ground_truth::builtin("llama2-70b", "a100-80gb", tp));
  CHECK(ground_truth::builtin("bloom-176b", "a100-80gb", 8));
  CHECK_FALSE(ground_truth::builtin("bloom-176b", "a100-80gb", 4));
  CHECK_FALSE(ground_truth::builtin("llama2-7b", "a100-80gb", 1));
  CHECK_FALSE(ground_truth::builtin("llama2-70b", "h100-80gb", 4));
  // Catalogue aliases.
  auto gt = ground_truth::builtin("Llama-2-70b-hf", "A100", 4);
  REQUIRE(gt);
  CHECK(gt->config().label() == "llama2-70b/a100-80gb/tp4");
  CHECK(gt->source().find("378088013a54df6f2052c27ff5ae6ea7619c3ecc") != std::string::npos);
  CHECK(gt->points().size() == 19);
  CHECK(gt->reference_prompt() == 512);
  CHECK(gt->reference_tokens() == 128);
}

TEST_CASE("interpolation reproduces the measured medians at the measured points") {
  for (const auto& table : builtin_profile_tables()) {
    auto gt = ground_truth::builtin(table.model, table.gpu, table.tp);
    REQUIRE(gt);
    CAPTURE(gt->config().label());
    const int p_ref = gt->reference_prompt();
    const int t_ref = gt->reference_tokens();
    int prompt_points = 0, batch_points = 0;
    for (const auto& p : gt->points()) {
      CAPTURE(p.prompt);
      CAPTURE(p.batch);
      CAPTURE(p.tokens);
      if (p.batch == 1 && p.tokens == t_ref) {
        CHECK(close(gt->prefill_s(p.prompt, 1), p.prefill_ms / 1000));
        ++prompt_points;
      }
      if (p.prompt == p_ref && p.tokens == t_ref) {
        CHECK(close(gt->prefill_s(double(p_ref) * p.batch, p.batch), p.prefill_ms / 1000));
        CHECK(close(gt->decode_s(p.batch, p.batch * (p_ref + t_ref / 2.0)), p.token_ms / 1000));
        ++batch_points;
      }
      if (p.batch == 1) {
        // The context effect is a fitted slope, not an interpolation: close, not exact.
        const double predicted = gt->decode_s(1, p.prompt + p.tokens / 2.0);
        CHECK(std::fabs(predicted - p.token_ms / 1000) < 0.10 * p.token_ms / 1000);
      }
    }
    CHECK(prompt_points == 7);
    CHECK(batch_points >= 6);
  }
}

TEST_CASE("the README's example medians for llama2-70b TP4") {
  const auto gt = llama_tp4();
  CHECK(gt.prefill_s(512, 1) == doctest::Approx(0.127).epsilon(0.01));
  CHECK(gt.prefill_s(2048, 1) == doctest::Approx(0.403).epsilon(0.01));
  CHECK(gt.prefill_s(8192, 1) == doctest::Approx(2.279).epsilon(0.01));
  CHECK(gt.prefill_s(64 * 512, 64) == doctest::Approx(10.9).epsilon(0.01));
  CHECK(gt.decode_s(1, 576) == doctest::Approx(0.045).epsilon(0.01));
  CHECK(gt.decode_s(64, 64 * 576) == doctest::Approx(0.073).epsilon(0.01));
}

TEST_CASE("interpolants are monotone where the measured medians are") {
  for (const auto& table : builtin_profile_tables()) {
    auto gt = ground_truth::builtin(table.model, table.gpu, table.tp);
    REQUIRE(gt);
    CAPTURE(gt->config().label());
    const int p_ref = gt->reference_prompt();
    const int t_ref = gt->reference_tokens();
    std::vector<const profile_point*> prompt_sweep, batch_sweep;
    for (const auto& p : gt->points()) {
      if (p.batch == 1 && p.tokens == t_ref) prompt_sweep.push_back(&p);
      if (p.prompt == p_ref && p.tokens == t_ref) batch_sweep.push_back(&p);
    }
    // Between consecutive measured points that increase, the interpolant never decreases.
    auto check_segments = [&](const std::vector<const profile_point*>& sweep, auto key,
                              auto measured, auto model) {
      for (std::size_t i = 1; i < sweep.size(); ++i) {
        if (measured(*sweep[i]) < measured(*sweep[i - 1])) continue;
        const double x0 = key(*sweep[i - 1]), x1 = key(*sweep[i]);
        double last = model(x0);
        for (int k = 1; k <= 50; ++k) {
          const double v = model(x0 + (x1 - x0) * k / 50.0);
          CHECK(v >= last * (1 - 1e-12));
          last = v;
        }
      }
    };
    auto prompt_of = [](const profile_point& p) { return double(p.prompt); };
    auto batch_of = [](const profile_point& p) { return double(p.batch); };
    check_segments(prompt_sweep, prompt_of, [](const profile_point& p) { return p.prefill_ms; },
                   [&](double x) { return gt->prefill_s(x, 1); });
    // Prefill in total tokens at a fixed batch size (the batching factor does not depend on T).
    for (int n : {2, 4, 7, 16}) {
      double last = 0;
      for (double t = n; t <= 20000; t += 97) {
        const double v = gt->prefill_s(t, n);
        CHECK(v >= last);
        last = v;
      }
    }
    check_segments(batch_sweep, batch_of, [](const profile_point& p) { return p.prefill_ms; },
                   [&](double b) {
                     // At integer batch sizes only: sequences are whole.
                     const int n = int(std::lround(b));
                     return gt->prefill_s(double(p_ref) * n, n);
                   });
    check_segments(batch_sweep, batch_of, [](const profile_point& p) { return p.token_ms; },
                   [&](double b) {
                     const int n = int(std::lround(b));
                     return gt->decode_s(n, n * (p_ref + t_ref / 2.0));
                   });
    // More context never makes a decode step faster.
    CHECK(gt->context_slope_s_per_token() >= 0);
    for (int b : {1, 8, 64, 200}) CHECK(gt->decode_s(b, b * 4000.0) >= gt->decode_s(b, b * 100.0));
    // Times stay positive far outside the measured range.
    CHECK(gt->prefill_s(1, 1) > 0);
    CHECK(gt->prefill_s(256 * 10, 256) > 0);
    CHECK(gt->prefill_s(100000, 1) > gt->prefill_s(8192, 1));
    CHECK(gt->decode_s(256, 1) > 0);
    CHECK(gt->decode_s(512, 512 * 8000.0) > gt->decode_s(64, 64 * 8000.0));
  }
}

TEST_CASE("broken rows are excluded by rule") {
  // The A100 data has exactly one: llama2-70b TP2 at batch 64 (0.8 s after 6.6 s at batch 32).
  for (const auto& table : builtin_profile_tables()) {
    auto gt = ground_truth::builtin(table.model, table.gpu, table.tp);
    REQUIRE(gt);
    CAPTURE(gt->config().label());
    if (gt->config().tp == 2) {
      REQUIRE(gt->excluded().size() == 1);
      const auto& p = gt->excluded().front();
      CHECK(p.prompt == 512);
      CHECK(p.batch == 64);
      CHECK(p.tokens == 128);
      CHECK(gt->points().size() == 18);
      // Batch 64 is extrapolated from 16..32 instead: well above batch 32.
      CHECK(gt->prefill_s(64 * 512, 64) > gt->prefill_s(32 * 512, 32));
    } else {
      CHECK(gt->excluded().empty());
    }
  }
  // The rule, not a list: a synthetic profile with a suspiciously fast batch 16.
  std::istringstream broken(synthetic_csv(300));
  auto gt = ground_truth::from_profile_csv(broken, "synthetic", "llama2-70b", "a100-80gb", 4);
  REQUIRE(gt.excluded().size() == 1);
  CHECK(gt.excluded().front().batch == 16);
  // A merely slower-than-linear one stays.
  std::istringstream fine(synthetic_csv(1800));
  CHECK(ground_truth::from_profile_csv(fine, "synthetic", "llama2-70b", "a100-80gb", 4)
            .excluded()
            .empty());
}

TEST_CASE("medians over repeats from a CSV") {
  std::istringstream in(synthetic_csv());
  auto points = ground_truth::medians_from_csv(in, "synthetic", "llama2-70b", "a100", 4);
  REQUIRE(points.size() == 6);
  CHECK(points.front().prompt == 128);
  CHECK(points.front().repeats == 3);
  CHECK(points.front().prefill_ms == 61);  // median of 60, 61, 62
  CHECK(points.front().token_ms == doctest::Approx(40.1));
  std::istringstream again(synthetic_csv());
  auto gt = ground_truth::from_profile_csv(again, "synthetic", "llama2-70b", "a100", 4);
  CHECK(gt.prefill_s(2048, 1) == doctest::Approx(0.401));
  CHECK(gt.prefill_s(512 * 8, 8) == doctest::Approx(1.001));
}

TEST_CASE("profile errors name the source") {
  std::istringstream missing("model,hardware,prompt_size\nllama2-70b,a100-80gb,1\n");
  CHECK_THROWS_AS(ground_truth::from_profile_csv(missing, "m.csv", "llama2-70b", "a100", 4),
                  input_error);
  std::istringstream other(synthetic_csv());
  CHECK_THROWS_WITH_AS(
      ground_truth::from_profile_csv(other, "s.csv", "bloom-176b", "a100", 4),
      doctest::Contains("s.csv: no rows"), input_error);
  std::string text = synthetic_csv();
  text += "llama2-70b,a100-80gb,512,1,128,0,0,fast,1,0,4\n";
  std::istringstream bad(text);
  CHECK_THROWS_WITH_AS(ground_truth::from_profile_csv(bad, "b.csv", "llama2-70b", "a100", 4),
                       doctest::Contains("b.csv"), input_error);
  // Only a prompt sweep: no batch sweep to interpolate along.
  std::vector<profile_point> only_prompts = {{128, 1, 128, 1, 50, 40}, {512, 1, 128, 1, 100, 41}};
  CHECK_THROWS_AS(ground_truth::from_points({"x", "y", 1}, only_prompts, "p"), input_error);
}

TEST_CASE("builtin tables match the CSV-derived ones") {
  std::ifstream in(profile_path);
  if (!in) {
    MESSAGE("skipped: ", profile_path, " is absent");
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& table : builtin_profile_tables()) {
    CAPTURE(table.model);
    CAPTURE(table.tp);
    std::istringstream csv(text.str());
    auto from_csv = ground_truth::from_profile_csv(csv, profile_path, table.model, table.gpu,
                                                   table.tp);
    auto builtin = ground_truth::builtin(table.model, table.gpu, table.tp);
    REQUIRE(builtin);
    CHECK(from_csv.points() == builtin->points());
    CHECK(from_csv.excluded() == builtin->excluded());
    for (double t : {50.0, 777.0, 5000.0, 30000.0})
      for (int n : {1, 3, 64, 100}) CHECK(from_csv.prefill_s(t, n) == builtin->prefill_s(t, n));
    for (int b : {1, 5, 64, 300})
      CHECK(from_csv.decode_s(b, b * 900.0) == builtin->decode_s(b, b * 900.0));
  }
}

TEST_CASE("ground truth: a batch of prompts is charged per prompt times the batching factor") {
  const auto gt = llama_tp4();
  // One long prompt and eight short ones with the same total: attention makes the long one
  // dearer per token, batching makes the short ones dearer per prompt.
  CHECK(gt.prefill_s(4096, 8) == doctest::Approx(8 * gt.prompt_s(512) * gt.batch_factor(8)));
  CHECK(gt.batch_factor(1) == 1.0);
  CHECK(gt.prefill_batch_s(gt.prompt_s(100) + gt.prompt_s(3000), 2) ==
        doctest::Approx((gt.prompt_s(100) + gt.prompt_s(3000)) * gt.batch_factor(2)));
}

TEST_CASE("a chunked batch shares one forward pass") {
  const auto gt = llama_tp4();
  const double p = gt.prefill_s(1500, 2);
  const double work = 2 * gt.prompt_s(750);  // the two prompts' unbatched costs
  const double d = gt.decode_s(40, 40 * 800.0);
  CHECK(gt.mixed_s(work, 2, 0, 0) == doctest::Approx(p));
  CHECK(gt.mixed_s(0, 0, 40, 40 * 800.0) == d);
  const double m = gt.mixed_s(work, 2, 40, 40 * 800.0);
  CHECK(m == doctest::Approx(p + d - gt.iteration_overhead_s()));
  CHECK(m >= std::max(p, d));
  CHECK(m < p + d);
  CHECK(gt.iteration_overhead_s() == doctest::Approx(gt.decode_s(1, 0)));
  // Tiny halves: never below either half.
  CHECK(gt.mixed_s(gt.prompt_s(1), 1, 1, 1) >= std::max(gt.prefill_s(1, 1), gt.decode_s(1, 1)));
}

TEST_CASE("chunks of a prompt add up to its unchunked cost plus one overhead per extra pass") {
  const auto gt = llama_tp4();
  CHECK(gt.context_penalty_s(512, 0) == 0);
  const double whole = gt.prefill_s(8192, 1);
  double chunked = 0;
  const int chunk = 2048;
  for (int o = 0; o < 8192; o += chunk)
    chunked += gt.prefill_s(chunk, 1) + gt.context_penalty_s(chunk, o);
  const double p1_zero = gt.prefill_s(1e-9, 1);  // P1 extrapolated to an empty prompt
  CHECK(chunked == doctest::Approx(whole + 3 * p1_zero).epsilon(1e-6));
  CHECK(chunked > whole);
  for (double o : {100.0, 1000.0, 6000.0}) CHECK(gt.context_penalty_s(300, o) >= 0);
}

TEST_CASE("noise is multiplicative, seeded and centred on one") {
  rng a(7), b(7);
  CHECK(ground_truth::noise_factor(a, 0) == 1.0);
  CHECK(a.next() == b.next());  // sigma 0 draws nothing
  rng x(11), y(11);
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double f = ground_truth::noise_factor(x, 0.03);
    CHECK(f == ground_truth::noise_factor(y, 0.03));
    CHECK(f > std::exp(-4 * 0.03 - 0.00045) * (1 - 1e-12));
    CHECK(f < std::exp(4 * 0.03) * (1 + 1e-12));
    sum += f;
  }
  CHECK(sum / n == doctest::Approx(1.0).epsilon(0.002));
}

}  // TEST_SUITE
