// aladdin predict-eval: replays a trace through the online output-length predictor and reports
// how good its predictions would have been, next to a baseline that ignores the input length.
//
// Each query is predicted from what has been observed before it arrived, then observed. By
// default a query's true length is learned as soon as the next one arrives (as if it completed
// instantly), which flatters the predictor a little; --feedback-delay N holds each completion
// back until N more queries have arrived, closer to a server with N queries in flight.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "predict/length_predictor.hpp"
#include "trace/trace_reader.hpp"
#include "util/flags.hpp"
#include "util/json.hpp"

namespace {

// Errors and calibration of one predictor's point and quantile predictions.
struct scorecard {
  std::uint64_t n = 0;
  double abs_err_mean = 0;
  double abs_err_p50 = 0;
  std::uint64_t below_p50 = 0, below_p90 = 0, below_p99 = 0;

  void add(const aladdin::length_prediction& p, int truth) {
    ++n;
    abs_err_mean += std::fabs(p.mean - truth);
    abs_err_p50 += std::fabs(p.p50 - truth);
    below_p50 += truth <= p.p50;
    below_p90 += truth <= p.p90;
    below_p99 += truth <= p.p99;
  }
  // NaN (printed as null / "-") for an empty trace rather than a misleading 0.
  double ratio(double x) const {
    return n ? x / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  }
  double mae() const { return ratio(abs_err_mean); }
  double mae_p50() const { return ratio(abs_err_p50); }
  double cal50() const { return ratio(static_cast<double>(below_p50)); }
  double cal90() const { return ratio(static_cast<double>(below_p90)); }
  double cal99() const { return ratio(static_cast<double>(below_p99)); }
};

// The remaining-length correction at one checkpoint: queries still running after `generated`
// tokens, E[L − n | L > n] against the truth, and the same from the unconditioned mean
// (max(1, mean − n)) to show what conditioning buys.
struct checkpoint {
  int generated = 0;
  std::uint64_t n = 0;
  double abs_err = 0;
  double abs_err_uncorrected = 0;
  double remaining_sum = 0;
  std::uint64_t below_p90 = 0;

  // Undefined without queries: NaN, which the JSON writer prints as null.
  double ratio(double x) const {
    return n ? x / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  }
};

void write_scorecard(aladdin::json_writer& j, const scorecard& s) {
  j.field("mae_tokens", s.mae());
  j.field("mae_p50_tokens", s.mae_p50());
  j.key("calibration").begin_object();
  j.field("p50", s.cal50()).field("p90", s.cal90()).field("p99", s.cal99());
  j.end_object();
}

std::string fixed(double v, int decimals) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

int run_predict_eval(int argc, char** argv) {
  std::string trace_path;
  std::string format_name = "azure";
  bool json = false;
  std::int64_t feedback_delay = 0;
  aladdin::length_predictor_options options;
  double prior_weight = options.prior_weight;
  std::int64_t buckets_per_doubling = options.input_buckets_per_doubling;

  aladdin::flag_set flags("predict-eval",
                          "replay a trace through the online length predictor: each query is "
                          "predicted from the queries before it, then learned");
  flags.add_string("trace", &trace_path, "trace file", true);
  flags.add_choice("format", &format_name, {"azure", "csv", "mooncake"}, "trace format");
  flags.add_bool("json", &json, "print one JSON object instead of a summary");
  flags.add_int("feedback-delay", &feedback_delay,
                "learn each query's length only after this many later arrivals (0: at once)", 0,
                1000000000);
  flags.add_double("prior-weight", &prior_weight,
                   "pseudo-observations of the global distribution in an empty input bucket "
                   "(fading as it fills)",
                   1e-6, 1e9);
  flags.add_int("buckets-per-doubling", &buckets_per_doubling,
                "input-length buckets per doubling of the input (2: sqrt(2)-wide, 4: ~19% wide)",
                1, 16);
  if (int rc = aladdin::parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;

  const auto format = aladdin::parse_trace_format(format_name);
  const aladdin::trace t = aladdin::read_trace_file(trace_path, *format);

  options.prior_weight = prior_weight;
  options.input_buckets_per_doubling = static_cast<int>(buckets_per_doubling);
  aladdin::length_predictor predictor(options);

  scorecard bucketed, global;
  std::vector<checkpoint> checkpoints = {{64}, {256}, {512}};
  double output_sum = 0;
  std::size_t observed = 0;
  const auto delay = static_cast<std::size_t>(feedback_delay);
  for (std::size_t i = 0; i < t.size(); ++i) {
    // Completions the predictor has heard of by the time query i arrives.
    while (observed + delay < i) {
      predictor.observe(t[observed].input_tokens, t[observed].output_tokens);
      ++observed;
    }
    const auto& q = t[i];
    output_sum += q.output_tokens;
    const auto p = predictor.predict(q.input_tokens);
    bucketed.add(p, q.output_tokens);
    global.add(predictor.predict_global(), q.output_tokens);
    for (auto& c : checkpoints) {
      if (q.output_tokens <= c.generated) continue;
      const double truth = q.output_tokens - c.generated;
      const double expected = predictor.expected_remaining(q.input_tokens, c.generated);
      const double p90 = predictor.remaining_quantile(q.input_tokens, c.generated, 0.9);
      ++c.n;
      c.abs_err += std::fabs(expected - truth);
      c.abs_err_uncorrected += std::fabs(std::max(1.0, p.mean - c.generated) - truth);
      c.remaining_sum += truth;
      c.below_p90 += truth <= p90;
    }
  }
  const double mean_output = t.empty() ? std::numeric_limits<double>::quiet_NaN()
                                       : output_sum / static_cast<double>(t.size());

  if (json) {
    aladdin::json_writer j;
    j.begin_object();
    j.field("queries", t.size());
    j.field("mean_output_tokens", mean_output);
    write_scorecard(j, bucketed);
    j.key("baseline_global").begin_object();
    write_scorecard(j, global);
    j.end_object();
    j.key("remaining").begin_array();
    for (const auto& c : checkpoints) {
      j.begin_object();
      j.field("generated", c.generated);
      j.field("queries", c.n);
      j.field("mae_tokens", c.ratio(c.abs_err));
      j.field("p90_calibration", c.ratio(static_cast<double>(c.below_p90)));
      j.field("mean_remaining_tokens", c.ratio(c.remaining_sum));
      j.field("uncorrected_mae_tokens", c.ratio(c.abs_err_uncorrected));
      j.end_object();
    }
    j.end_array();
    j.field("feedback_delay", feedback_delay);
    j.end_object();
    std::cout << j.str() << "\n";
    return 0;
  }

  std::cout << "predict-eval: " << t.size() << " queries from " << trace_path << " ("
            << format_name << "), mean output " << fixed(mean_output, 1) << " tokens\n";
  if (delay == 0)
    std::cout << "feedback: each length is learned when the next query arrives (optimistic; see "
                 "--feedback-delay)\n";
  else
    std::cout << "feedback: each length is learned " << delay << " arrivals later\n";
  std::cout << "\n                      MAE mean   MAE p50   <=p50   <=p90   <=p99\n";
  auto row = [&](const char* name, const scorecard& s) {
    std::cout << name << pad(fixed(s.mae(), 1), 11) << pad(fixed(s.mae_p50(), 1), 10)
              << pad(fixed(s.cal50(), 3), 8) << pad(fixed(s.cal90(), 3), 8)
              << pad(fixed(s.cal99(), 3), 8) << "\n";
  };
  row("by input length     ", bucketed);
  row("global (baseline)   ", global);
  std::cout << "                            (ideal calibration: 0.500   0.900   0.990)\n\n"
               "remaining length of queries still running after n tokens:\n"
               "     n   queries   mean left   MAE E[L-n|L>n]   MAE mean-n   <=p90\n";
  for (const auto& c : checkpoints) {
    std::cout << pad(std::to_string(c.generated), 6) << pad(std::to_string(c.n), 10)
              << pad(fixed(c.ratio(c.remaining_sum), 1), 12)
              << pad(fixed(c.ratio(c.abs_err), 1), 17)
              << pad(fixed(c.ratio(c.abs_err_uncorrected), 1), 13)
              << pad(fixed(c.ratio(static_cast<double>(c.below_p90)), 3), 8) << "\n";
  }
  return 0;
}

}  // namespace

static const aladdin::cli::command_registration reg{
    "predict-eval", "replay a trace through the online length predictor", &run_predict_eval};
