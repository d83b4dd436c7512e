#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "predict/length_predictor.hpp"
#include "util/rng.hpp"

using aladdin::length_prediction;
using aladdin::length_predictor;
using aladdin::length_predictor_options;

namespace {

// Log-normal output lengths, rounded to whole tokens and at least 1.
int lognormal_tokens(aladdin::rng& r, double mu, double sigma) {
  return std::max(1, static_cast<int>(std::lround(std::exp(mu + sigma * r.normal()))));
}

void check_monotone(const length_prediction& p) {
  CHECK(p.mean >= 1);
  CHECK(p.p50 >= 1);
  CHECK(p.p50 <= p.p90);
  CHECK(p.p90 <= p.p99);
}

}  // namespace

TEST_CASE("cold start gives a broad, sane prior around cold_start_mean") {
  length_predictor p;
  CHECK(p.observations() == 0);
  for (int input : {1, 100, 5000}) {
    const auto pr = p.predict(input);
    check_monotone(pr);
    CHECK(pr.mean == doctest::Approx(256).epsilon(0.05));
    // Exponential-like: the median below the mean, a long but finite p99.
    CHECK(pr.p50 < pr.mean);
    CHECK(pr.p50 == doctest::Approx(256 * std::log(2.0)).epsilon(0.1));
    CHECK(pr.p99 > 3 * pr.mean);
    CHECK(pr.p99 < 32768);
  }
  // Memoryless: a running query is still expected to have about the mean left.
  CHECK(p.expected_remaining(100, 0) == doctest::Approx(256).epsilon(0.05));
  CHECK(p.expected_remaining(100, 500) == doctest::Approx(256).epsilon(0.1));
  CHECK(p.predict_global().mean == doctest::Approx(256).epsilon(0.05));

  length_predictor_options o;
  o.cold_start_mean = 40;
  length_predictor small(o);
  CHECK(small.predict(10).mean == doctest::Approx(40).epsilon(0.05));
}

TEST_CASE("learns a bimodal dependence of output on input length") {
  length_predictor p;
  aladdin::rng r(7);
  for (int i = 0; i < 4000; ++i) {
    // Short prompts get short answers, long prompts long ones.
    p.observe(20 + static_cast<int>(r.below(60)), 10 + static_cast<int>(r.below(21)));
    p.observe(2000 + static_cast<int>(r.below(2000)), 800 + static_cast<int>(r.below(401)));
  }
  const auto short_q = p.predict(50);
  const auto long_q = p.predict(3000);
  check_monotone(short_q);
  check_monotone(long_q);
  CHECK(short_q.mean == doctest::Approx(20).epsilon(0.05));
  CHECK(short_q.p99 < 40);
  CHECK(long_q.mean == doctest::Approx(1000).epsilon(0.05));
  CHECK(long_q.p50 > 900);
  CHECK(long_q.p50 < 1100);
  // The global distribution mixes both modes; it is what an input-blind predictor would say.
  const auto g = p.predict_global();
  CHECK(g.mean == doctest::Approx(510).epsilon(0.05));
  CHECK(g.p90 > 900);
  // An input length never seen falls back on the global prior.
  const auto unseen = p.predict(300);
  CHECK(unseen.mean == doctest::Approx(g.mean).epsilon(0.05));
  // Conditioning follows the bucket: a short query that ran 40 tokens is past its history.
  CHECK(p.expected_remaining(50, 0) < 30);
  CHECK(p.expected_remaining(3000, 0) > 900);
}

TEST_CASE("quantiles are monotone in every state") {
  length_predictor p;
  aladdin::rng r(11);
  for (int i = 0; i < 3000; ++i) {
    const int input = 1 + static_cast<int>(r.below(20000));
    const int output = lognormal_tokens(r, 4 + std::log(input) / 3, 1.0);
    p.observe(input, output);
    if (i % 97 == 0) {
      for (int q : {1, 7, 64, 500, 4096, 100000}) {
        check_monotone(p.predict(q));
        CHECK(p.quantile(q, 0.25) <= p.predict(q).p50);
        CHECK(p.remaining_quantile(q, 100, 0.5) <= p.remaining_quantile(q, 100, 0.9));
        CHECK(p.remaining_quantile(q, 100, 0.9) <= p.remaining_quantile(q, 100, 0.99));
      }
      check_monotone(p.predict_global());
    }
  }
}

TEST_CASE("calibrated on samples from a known distribution") {
  length_predictor p;
  aladdin::rng r(2024);
  const double mu = 5.0, sigma = 0.8;
  for (int i = 0; i < 20000; ++i) p.observe(500, lognormal_tokens(r, mu, sigma));
  const auto pr = p.predict(500);
  CHECK(pr.mean == doctest::Approx(std::exp(mu + sigma * sigma / 2)).epsilon(0.03));
  CHECK(pr.p50 == doctest::Approx(std::exp(mu)).epsilon(0.03));

  int below50 = 0, below90 = 0, below99 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const int truth = lognormal_tokens(r, mu, sigma);
    below50 += truth <= pr.p50;
    below90 += truth <= pr.p90;
    below99 += truth <= pr.p99;
  }
  CHECK(below50 / double(n) == doctest::Approx(0.50).epsilon(0.04));
  CHECK(below90 / double(n) == doctest::Approx(0.90).epsilon(0.015));
  CHECK(below99 / double(n) == doctest::Approx(0.99).epsilon(0.005));
}

TEST_CASE("expected_remaining is conditional on the tokens generated so far") {
  aladdin::rng r(5);
  SUBCASE("heavy tail: the longer a query ran, the more it has left") {
    length_predictor p;
    std::vector<int> sample;
    for (int i = 0; i < 20000; ++i) {
      sample.push_back(lognormal_tokens(r, 4.5, 1.2));
      p.observe(1000, sample.back());
    }
    double previous = 0;
    for (int n : {0, 50, 200, 800, 3000}) {
      const double e = p.expected_remaining(1000, n);
      CHECK(e > previous);
      previous = e;
    }
    // Against the sample's own E[L − n | L > n].
    for (int n : {64, 256}) {
      double sum = 0;
      int count = 0;
      for (int s : sample)
        if (s > n) {
          sum += s - n;
          ++count;
        }
      CHECK(p.expected_remaining(1000, n) == doctest::Approx(sum / count).epsilon(0.05));
    }
  }
  SUBCASE("light tail: a query near its bucket's maximum is nearly done") {
    length_predictor p;
    for (int i = 0; i < 5000; ++i) p.observe(100, 100 + static_cast<int>(r.below(101)));
    CHECK(p.expected_remaining(100, 0) == doctest::Approx(150).epsilon(0.03));
    CHECK(p.expected_remaining(100, 150) == doctest::Approx(25).epsilon(0.1));
    CHECK(p.expected_remaining(100, 150) < p.expected_remaining(100, 0));
    CHECK(p.expected_remaining(100, 198) >= 1);
  }
}

TEST_CASE("a query past every observation never looks about to finish") {
  length_predictor p;
  aladdin::rng r(9);
  for (int i = 0; i < 5000; ++i) p.observe(100, 100 + static_cast<int>(r.below(101)));
  double previous = 0;
  double previous_q = 0;
  for (int n : {250, 1000, 4000, 20000, 32768, 100000}) {
    const double e = p.expected_remaining(100, n);
    const double q90 = p.remaining_quantile(100, n, 0.9);
    CHECK(e >= 1);
    CHECK(e >= 0.099 * n);  // proportional to the age, never collapsing
    CHECK(e >= previous);
    CHECK(q90 >= e * 0.5);
    CHECK(q90 >= previous_q);
    previous = e;
    previous_q = q90;
  }
  // The same holds with no history at all.
  length_predictor cold;
  CHECK(cold.expected_remaining(1, 1000000) >= 100000);
}

TEST_CASE("predictions are a pure function of the observations") {
  length_predictor a;
  length_predictor b;
  aladdin::rng r(3);
  for (int i = 0; i < 5000; ++i) {
    const int input = 1 + static_cast<int>(r.below(8000));
    const int output = lognormal_tokens(r, 5, 1);
    a.observe(input, output);
    b.observe(input, output);
    // Querying b along the way fills its caches at different moments; it must not matter.
    (void)b.predict(1 + static_cast<int>(r.below(8000)));
    (void)b.expected_remaining(input, 10);
  }
  for (int input : {1, 10, 100, 1000, 7999}) {
    const auto pa = a.predict(input);
    const auto pb = b.predict(input);
    CHECK(pa.mean == pb.mean);
    CHECK(pa.p50 == pb.p50);
    CHECK(pa.p90 == pb.p90);
    CHECK(pa.p99 == pb.p99);
    CHECK(a.expected_remaining(input, 300) == b.expected_remaining(input, 300));
    CHECK(a.remaining_quantile(input, 300, 0.9) == b.remaining_quantile(input, 300, 0.9));
  }
  // Moving keeps the learned state.
  length_predictor c = std::move(a);
  CHECK(c.observations() == 5000);
  CHECK(c.predict(100).p90 == b.predict(100).p90);
}

TEST_CASE("out-of-range lengths are clamped, bad options rejected") {
  length_predictor_options o;
  o.max_output_tokens = 1000;
  length_predictor p(o);
  for (int i = 0; i < 100; ++i) p.observe(0, 50000);
  p.observe(-5, 0);
  const auto pr = p.predict(-1);
  CHECK(pr.p99 <= 1000.5);
  CHECK(pr.p50 >= 900);
  CHECK(p.observations() == 101);

  CHECK_THROWS(length_predictor(length_predictor_options{0, 20, 256}));
  CHECK_THROWS(length_predictor(length_predictor_options{1000, 0, 256}));
  CHECK_THROWS(length_predictor(length_predictor_options{1000, 20, 0.5}));
  CHECK_THROWS(p.remaining_quantile(1, 1, 1.0));
  CHECK_THROWS(p.quantile(1, 0.0));
}
