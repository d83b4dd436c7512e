#include "sim/ground_truth.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <stdexcept>
#include <tuple>

#include "model/hardware.hpp"
#include "util/csv.hpp"

namespace aladdin::sim {

namespace {

// Profile files spell names their own way ("llama2-70b", "a100-80gb"); the catalogue knows the
// aliases. Unknown names fall back to a case-insensitive comparison.
std::string canonical_model(std::string_view name) {
  if (auto m = find_model(name)) return m->name;
  std::string out(name);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string canonical_gpu(std::string_view name) {
  if (auto g = find_gpu(name)) return g->name;
  std::string out(name);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The median as the generator script computes it (Python's statistics.median), so that the
// built-in tables and the ones derived here agree to the bit.
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

bool less_prefill_work(const profile_point& a, const profile_point& b) {
  return a.prompt <= b.prompt && a.batch <= b.batch && (a.prompt < b.prompt || a.batch < b.batch);
}

bool less_decode_work(const profile_point& a, const profile_point& b) {
  return a.prompt <= b.prompt && a.batch <= b.batch && a.tokens <= b.tokens &&
         (a.prompt < b.prompt || a.batch < b.batch || a.tokens < b.tokens);
}

// The broken-row rule (see the header): more work, yet more than 2× faster.
bool is_broken(const profile_point& p, const std::vector<profile_point>& all) {
  for (const auto& q : all) {
    if (less_prefill_work(q, p) && 2.0 * p.prefill_ms < q.prefill_ms) return true;
    if (less_decode_work(q, p) && 2.0 * p.token_ms < q.token_ms) return true;
  }
  return false;
}

piecewise_linear curve(std::vector<std::pair<double, double>> knots) {
  std::sort(knots.begin(), knots.end());
  std::vector<double> xs, ys;
  double lowest = knots.front().second;
  for (const auto& [x, y] : knots) {
    xs.push_back(x);
    ys.push_back(y);
    lowest = std::min(lowest, y);
  }
  return piecewise_linear(std::move(xs), std::move(ys), 0.5 * lowest);
}

}  // namespace

piecewise_linear::piecewise_linear(std::vector<double> xs, std::vector<double> ys, double floor)
    : xs_(std::move(xs)), ys_(std::move(ys)), floor_(floor) {
  if (xs_.empty() || xs_.size() != ys_.size())
    throw std::invalid_argument("piecewise_linear: need as many ys as xs, at least one");
  for (std::size_t i = 1; i < xs_.size(); ++i)
    if (!(xs_[i] > xs_[i - 1]))
      throw std::invalid_argument("piecewise_linear: xs must be strictly increasing");
}

double piecewise_linear::operator()(double x) const {
  const std::size_t n = xs_.size();
  if (n == 1) return std::max(floor_, ys_[0]);
  // Segment [i-1, i] containing x; the end segments extend beyond the ends.
  std::size_t i =
      static_cast<std::size_t>(std::upper_bound(xs_.begin(), xs_.end(), x) - xs_.begin());
  i = std::clamp<std::size_t>(i, 1, n - 1);
  const double x0 = xs_[i - 1], x1 = xs_[i];
  const double y0 = ys_[i - 1], y1 = ys_[i];
  // Exactly the knot's value at a knot, with no rounding from the slope.
  const double y = x == x1 ? y1 : y0 + (y1 - y0) * ((x - x0) / (x1 - x0));
  return std::max(floor_, y);
}

std::vector<profile_point> ground_truth::medians_from_csv(std::istream& in,
                                                          const std::string& source,
                                                          std::string_view model,
                                                          std::string_view hardware, int tp) {
  csv_reader reader(in, source);
  const auto c_model = reader.column("model");
  const auto c_hw = reader.column("hardware");
  const auto c_prompt = reader.column("prompt_size");
  const auto c_batch = reader.column("batch_size");
  const auto c_tokens = reader.column("token_size");
  const auto c_prefill = reader.column("prompt_time");
  const auto c_token = reader.column("token_time");
  const auto c_tp = reader.column("tensor_parallel");
  const std::string want_model = canonical_model(model);
  const std::string want_gpu = canonical_gpu(hardware);

  // Not a hot path: a map keeps the configurations sorted for free.
  std::map<std::tuple<int, int, int>, std::pair<std::vector<double>, std::vector<double>>> groups;
  std::vector<std::string_view> fields;
  std::size_t line = 0;
  auto positive_int = [&](std::size_t col, const char* what) {
    auto v = to_integer(fields[col]);
    if (!v || *v <= 0 || *v > 100'000'000)
      reader.fail(line, std::string(what) + " is not a positive integer: '" +
                            std::string(fields[col]) + "'");
    return static_cast<int>(*v);
  };
  auto positive_double = [&](std::size_t col, const char* what) {
    auto v = to_double(fields[col]);
    if (!v || *v <= 0)
      reader.fail(line, std::string(what) + " is not a positive number: '" +
                            std::string(fields[col]) + "'");
    return *v;
  };
  while (reader.next(&fields, &line)) {
    if (positive_int(c_tp, "tensor_parallel") != tp) continue;
    if (canonical_model(fields[c_model]) != want_model) continue;
    if (canonical_gpu(fields[c_hw]) != want_gpu) continue;
    const int prompt = positive_int(c_prompt, "prompt_size");
    const int batch = positive_int(c_batch, "batch_size");
    const int tokens = positive_int(c_tokens, "token_size");
    auto& g = groups[{prompt, batch, tokens}];
    g.first.push_back(positive_double(c_prefill, "prompt_time"));
    g.second.push_back(positive_double(c_token, "token_time"));
  }
  std::vector<profile_point> out;
  for (const auto& [key, times] : groups) {
    profile_point p;
    std::tie(p.prompt, p.batch, p.tokens) = key;
    p.repeats = static_cast<int>(times.first.size());
    p.prefill_ms = median(times.first);
    p.token_ms = median(times.second);
    out.push_back(p);
  }
  if (out.empty())
    throw input_error(source + ": no rows for " + want_model + " on " + want_gpu + " at TP " +
                      std::to_string(tp));
  return out;
}

ground_truth ground_truth::from_profile_csv(std::istream& in, const std::string& source,
                                            std::string_view model, std::string_view hardware,
                                            int tp) {
  auto points = medians_from_csv(in, source, model, hardware, tp);
  return from_points({canonical_model(model), canonical_gpu(hardware), tp}, std::move(points),
                     source);
}

ground_truth ground_truth::from_points(worker_config config, std::vector<profile_point> points,
                                       std::string source) {
  ground_truth gt;
  gt.config_ = std::move(config);
  gt.source_ = std::move(source);
  const std::string what = gt.source_ + " (" + gt.config_.label() + ")";
  auto fail = [&](const std::string& msg) { throw input_error(what + ": " + msg); };

  std::sort(points.begin(), points.end(), [](const profile_point& a, const profile_point& b) {
    return std::tie(a.prompt, a.batch, a.tokens) < std::tie(b.prompt, b.batch, b.tokens);
  });
  for (const auto& p : points)
    if (p.prompt <= 0 || p.batch <= 0 || p.tokens <= 0 || !(p.prefill_ms > 0) ||
        !(p.token_ms > 0) || !std::isfinite(p.prefill_ms) || !std::isfinite(p.token_ms))
      fail("a configuration has a non-positive size or time");
  for (const auto& p : points) (is_broken(p, points) ? gt.excluded_ : gt.points_).push_back(p);
  const auto& kept = gt.points_;
  if (kept.empty()) fail("no usable configuration");

  // The reference prompt is where the batch sweep was run: the prompt of most batch > 1 rows
  // (ties: the smaller). The reference token_size is the smallest one measured.
  std::map<int, int> batched_prompts;
  gt.t_ref_ = kept.front().tokens;
  for (const auto& p : kept) {
    gt.t_ref_ = std::min(gt.t_ref_, p.tokens);
    if (p.batch > 1) ++batched_prompts[p.prompt];
  }
  if (batched_prompts.empty()) fail("no batch sweep (no configuration with batch > 1)");
  int best = 0;
  for (const auto& [prompt, count] : batched_prompts)
    if (count > best) {
      best = count;
      gt.p_ref_ = prompt;
    }
  gt.c_ref_ = gt.p_ref_ + gt.t_ref_ / 2.0;

  std::vector<std::pair<double, double>> p1, pb, db;
  double sx = 0, sy = 0;
  std::vector<std::pair<double, double>> ctx;
  for (const auto& p : kept) {
    if (p.batch == 1 && p.tokens == gt.t_ref_) p1.emplace_back(p.prompt, p.prefill_ms / 1000.0);
    if (p.prompt == gt.p_ref_ && p.tokens == gt.t_ref_) {
      pb.emplace_back(p.batch, p.prefill_ms / 1000.0);
      db.emplace_back(p.batch, p.token_ms / 1000.0);
    }
    if (p.batch == 1) {
      ctx.emplace_back(p.prompt + p.tokens / 2.0, p.token_ms / 1000.0);
      sx += ctx.back().first;
      sy += ctx.back().second;
    }
  }
  if (p1.size() < 2) fail("the prompt sweep (batch 1) needs at least two prompt sizes");
  if (pb.size() < 2 || pb.front().first != 1)
    fail("the batch sweep at prompt " + std::to_string(gt.p_ref_) +
         " needs batch 1 and at least one larger batch");
  gt.prompt_sweep_ = curve(p1);
  gt.batch_prefill_ = curve(pb);
  gt.batch_decode_ = curve(db);
  gt.decode_floor_ =
      0.5 * *std::min_element(gt.batch_decode_.ys().begin(), gt.batch_decode_.ys().end());

  // Least-squares slope of token_time over mean context at batch 1.
  const double n = static_cast<double>(ctx.size());
  const double mx = sx / n, my = sy / n;
  double sxy = 0, sxx = 0;
  for (const auto& [x, y] : ctx) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
  }
  gt.k_ctx_ = sxx > 0 ? std::max(0.0, sxy / sxx) : 0.0;
  gt.overhead_s_ = gt.decode_s(1, 0.0);
  return gt;
}

std::optional<ground_truth> ground_truth::builtin(std::string_view model, std::string_view gpu,
                                                  int tp) {
  const std::string want_model = canonical_model(model);
  const std::string want_gpu = canonical_gpu(gpu);
  for (const auto& t : builtin_profile_tables()) {
    if (t.tp != tp || canonical_model(t.model) != want_model || canonical_gpu(t.gpu) != want_gpu)
      continue;
    return from_points({t.model, t.gpu, t.tp},
                       std::vector<profile_point>(t.points.begin(), t.points.end()), t.source);
  }
  return std::nullopt;
}

double ground_truth::prompt_s(double tokens) const {
  if (!(tokens > 0)) return 0.0;
  return prompt_sweep_(tokens);
}

double ground_truth::batch_factor(int sequences) const {
  if (sequences <= 1) return 1.0;
  const double n = sequences;
  return batch_prefill_(n) / (n * prompt_sweep_(p_ref_));
}

double ground_truth::prefill_s(double sum_tokens, int sequences) const {
  if (sequences <= 0 || !(sum_tokens > 0)) return 0.0;
  const double n = sequences;
  return prefill_batch_s(n * prompt_s(sum_tokens / n), sequences);
}

double ground_truth::decode_s(int batch, double sum_context) const {
  if (batch <= 0) return 0.0;
  const double b = batch;
  return std::max(decode_floor_, batch_decode_(b) + k_ctx_ * (sum_context - b * c_ref_));
}

double ground_truth::mixed_s(double sum_prompt_s, int prefill_seqs, int decode_seqs,
                             double decode_context) const {
  const double p = prefill_seqs > 0 ? prefill_batch_s(sum_prompt_s, prefill_seqs) : 0.0;
  const double d = decode_s(decode_seqs, decode_context);
  if (p == 0.0 || d == 0.0) return p + d;
  return p + d - std::min({overhead_s_, p, d});
}

double ground_truth::context_penalty_s(double chunk_tokens, double context_before) const {
  if (!(context_before > 0) || !(chunk_tokens > 0)) return 0.0;
  const auto& p1 = prompt_sweep_;
  return std::max(
      0.0, p1(context_before + chunk_tokens) - p1(context_before) - p1(chunk_tokens) + p1(0.0));
}

double ground_truth::noise_factor(rng& r, double sigma) {
  if (!(sigma > 0)) return 1.0;
  const double z = std::clamp(r.normal(), -4.0, 4.0);
  return std::exp(sigma * z - 0.5 * sigma * sigma);
}

}  // namespace aladdin::sim
