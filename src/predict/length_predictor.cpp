#include "predict/length_predictor.hpp"

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

namespace aladdin {

namespace {

// Lengths up to this many tokens get one bin each: short answers are common and their
// quantiles should be exact, not interpolated across a bin.
constexpr int exact_bin_limit = 64;

// Above the exact range a bin is ~3% wide, which bounds the quantile interpolation error at
// ~1.5% while keeping a 32k-token range to ~280 bins.
int next_edge(int edge) { return edge + std::max(1, edge * 3 / 100); }

// Past every observation the tail is assumed to be Pareto with the index α implied by the
// distribution's p90/p99 (for a Pareto, p99/p90 = 10^(1/α)). α is clamped so that the mean
// residual life n/(α−1) stays between n/10 (light tails) and 2n (very heavy tails).
constexpr double min_tail_index = 1.5;
constexpr double max_tail_index = 11.0;

// Output-length histogram bins: bin i holds the integer lengths [edge(i), edge(i+1)). Within a
// bin, mass is spread uniformly over the continuous interval [edge(i) − ½, edge(i+1) − ½), so a
// point mass at k has its median at exactly k (continuity correction).
class bin_layout {
 public:
  explicit bin_layout(int max_tokens) {
    for (int e = 1; e <= max_tokens;) {
      edges_.push_back(e);
      e = e <= exact_bin_limit ? e + 1 : next_edge(e);
    }
    edges_.push_back(max_tokens + 1);
  }

  std::size_t size() const { return edges_.size() - 1; }
  int lo(std::size_t i) const { return edges_[i]; }
  int hi(std::size_t i) const { return edges_[i + 1]; }
  int max_tokens() const { return edges_.back() - 1; }

  // length must be in [1, max_tokens].
  std::size_t bin_of(int length) const {
    if (length <= exact_bin_limit) return static_cast<std::size_t>(length - 1);
    auto it = std::upper_bound(edges_.begin(), edges_.end(), length);
    return static_cast<std::size_t>(it - edges_.begin()) - 1;
  }

 private:
  std::vector<int> edges_;
};

// A plain cumulative histogram, for the priors (which change rarely or never): mass[i] is the
// mass of the bins before i and moment[i] the sum of their lengths.
struct cumulative {
  std::vector<double> mass;
  std::vector<double> moment;

  void reset(std::size_t bins) {
    mass.assign(bins + 1, 0.0);
    moment.assign(bins + 1, 0.0);
  }
};

// The observed histograms, as Fenwick trees: observe() is O(log bins) and so is any prefix
// sum, instead of an O(bins) rebuild after every completion. Counts and length sums are whole
// numbers, so the sums are exact and do not depend on the order they are added in. `moment`
// keeps the sum of the lengths, so means are exact rather than bin midpoints.
struct fenwick_histogram {
  std::vector<double> mass_tree;    // 1-based
  std::vector<double> moment_tree;  // 1-based
  std::vector<double> count;        // per bin, for the mass of one bin in O(1)
  double total = 0;
  double total_moment = 0;

  bool empty() const { return total == 0; }
  void reset(std::size_t bins) {
    mass_tree.assign(bins + 1, 0.0);
    moment_tree.assign(bins + 1, 0.0);
    count.assign(bins, 0.0);
  }
  void add(std::size_t bin, double length) {
    for (std::size_t i = bin + 1; i < mass_tree.size(); i += i & (~i + 1)) {
      mass_tree[i] += 1;
      moment_tree[i] += length;
    }
    count[bin] += 1;
    total += 1;
    total_moment += length;
  }
  // Sums over the bins before k.
  double mass_before(std::size_t k) const {
    double s = 0;
    for (; k > 0; k &= k - 1) s += mass_tree[k];
    return s;
  }
  double moment_before(std::size_t k) const {
    double s = 0;
    for (; k > 0; k &= k - 1) s += moment_tree[k];
    return s;
  }
};

// Observations blended with a prior: own + weight × prior, where the prior has total mass 1.
struct blend {
  const fenwick_histogram* own;  // null while nothing has been observed
  const cumulative* prior;
  double weight;

  std::size_t size() const { return prior->mass.size() - 1; }
  double mass(std::size_t i) const {
    return (own ? own->mass_before(i) : 0.0) + weight * prior->mass[i];
  }
  double moment(std::size_t i) const {
    return (own ? own->moment_before(i) : 0.0) + weight * prior->moment[i];
  }
  double bin_mass(std::size_t i) const {
    return (own ? own->count[i] : 0.0) + weight * (prior->mass[i + 1] - prior->mass[i]);
  }
  double total() const { return (own ? own->total : 0.0) + weight * prior->mass.back(); }
  // Sums over the bins from k on, each part subtracted on its own so that a thin tail is not
  // lost in the rounding of a large total.
  double mass_from(std::size_t k) const {
    return (own ? own->total - own->mass_before(k) : 0.0) +
           weight * (prior->mass.back() - prior->mass[k]);
  }
  double moment_from(std::size_t k) const {
    return (own ? own->total_moment - own->moment_before(k) : 0.0) +
           weight * (prior->moment.back() - prior->moment[k]);
  }
  double total_moment() const {
    return (own ? own->total_moment : 0.0) + weight * prior->moment.back();
  }
};

// What predict() returns for a bucket, cached until the bucket or the prior changes.
struct summary_cache {
  length_prediction prediction;
  double tail_index = max_tail_index;  // α of the Pareto continuation past the history
  bool valid = false;
  std::uint64_t prior_version = 0;
};

struct bucket {
  fenwick_histogram observed;
  summary_cache cache;
};

}  // namespace

struct length_predictor::impl {
  length_predictor_options options;
  bin_layout bins;
  std::vector<int> bucket_floor;  // first input length of each input bucket, increasing
  std::vector<bucket> buckets;

  cumulative cold;     // the cold-start prior, total mass 1
  fenwick_histogram global;  // every observation
  summary_cache global_cache;

  // The prior blended into the buckets: global + pseudo-counts × cold, normalised. It is
  // re-taken only at observation counts fixed in advance (every count up to 64, then every ~3%
  // growth), so that a bucket's cached summary survives observations landing in other buckets
  // while predictions stay a pure function of the observation sequence (not of when predict()
  // happened to be called).
  cumulative prior;
  std::uint64_t prior_version = 0;
  std::uint64_t next_prior_refresh = 0;

  std::uint64_t observations = 0;

  explicit impl(length_predictor_options o)
      : options(validate(o)), bins(options.max_output_tokens) {
    make_bucket_floors();
    buckets.resize(bucket_floor.size());
    make_cold_prior();
    global.reset(bins.size());
    refresh_prior();
  }

  static length_predictor_options validate(length_predictor_options o) {
    if (o.max_output_tokens < 1)
      throw std::invalid_argument("length_predictor: max_output_tokens must be >= 1");
    if (!(o.prior_weight > 0) || !std::isfinite(o.prior_weight))
      throw std::invalid_argument("length_predictor: prior_weight must be > 0");
    if (!(o.cold_start_mean >= 1) || !std::isfinite(o.cold_start_mean))
      throw std::invalid_argument("length_predictor: cold_start_mean must be >= 1");
    if (o.input_buckets_per_doubling < 1 || o.input_buckets_per_doubling > 64)
      throw std::invalid_argument(
          "length_predictor: input_buckets_per_doubling must be in [1, 64]");
    return o;
  }

  // Bucket i starts at ceil(2^(i / per_doubling)); rounding makes some small floors coincide,
  // and those empty buckets are dropped.
  void make_bucket_floors() {
    const double per = options.input_buckets_per_doubling;
    for (int i = 0;; ++i) {
      const double f = std::ceil(std::exp2(i / per));
      if (f > static_cast<double>(INT_MAX)) break;
      const int floor_tokens = static_cast<int>(f);
      if (bucket_floor.empty() || floor_tokens > bucket_floor.back())
        bucket_floor.push_back(floor_tokens);
    }
  }

  std::size_t bucket_of(int input_tokens) const {
    if (input_tokens <= 1) return 0;
    auto it = std::upper_bound(bucket_floor.begin(), bucket_floor.end(), input_tokens);
    return static_cast<std::size_t>(it - bucket_floor.begin()) - 1;
  }

  // Exponential with mean cold_start_mean over lengths ≥ 1 (continuous from ½, scale
  // mean − ½): broad enough that nothing is ruled out, and memoryless, so the remaining-length
  // estimate of a running query stays near the mean instead of collapsing. Lengths past the
  // last bin are clamped into it, as observations are.
  void make_cold_prior() {
    cold.reset(bins.size());
    const double scale = options.cold_start_mean - 0.5;
    for (std::size_t i = 0; i < bins.size(); ++i) {
      const double above_lo = std::exp(-(bins.lo(i) - 1) / scale);
      const double above_hi = i + 1 == bins.size() ? 0.0 : std::exp(-(bins.hi(i) - 1) / scale);
      const double mass = above_lo - above_hi;
      cold.mass[i + 1] = cold.mass[i] + mass;
      cold.moment[i + 1] = cold.moment[i] + mass * 0.5 * (bins.lo(i) + bins.hi(i) - 1);
    }
    // Normalise exactly: the last value is 1 up to rounding, and the blend relies on it.
    const double total = cold.mass.back();
    for (std::size_t i = 0; i <= bins.size(); ++i) {
      cold.mass[i] /= total;
      cold.moment[i] /= total;
    }
  }

  // Pseudo-counts of the prior in a histogram holding n observations: prior_weight when empty,
  // half of it at n = prior_weight, then fading like prior_weight² / n. A fixed weight would
  // keep ~prior_weight/n of the prior's mass for good, which in a bucket unlike the global mix
  // (short prompts with short answers, say) drags the mean and fattens the p99 long after the
  // bucket has plenty of its own evidence; on the Azure trace fading also lowers the error.
  double prior_pseudo_counts(double n) const {
    const double w = options.prior_weight;
    return w * w / (w + n);
  }

  blend bucket_blend(std::size_t b) const {
    const auto& own = buckets[b].observed;
    return {own.empty() ? nullptr : &own, &prior, prior_pseudo_counts(own.total)};
  }
  blend global_blend() const {
    return {global.empty() ? nullptr : &global, &cold, prior_pseudo_counts(global.total)};
  }

  // The length at which the cumulative mass reaches `target`, interpolated inside the bin.
  double quantile_at(const blend& d, double target) const {
    const std::size_t n = d.size();
    // Fenwick descent for the last boundary whose blended prefix mass is below target: the
    // tree gives the observed part of each candidate prefix, the prior array the rest, and
    // the blend is monotone, so the usual O(log bins) descent applies unchanged.
    std::size_t i = 0;
    double own_below = 0;
    for (std::size_t step = std::bit_floor(n); step > 0; step >>= 1) {
      const std::size_t next = i + step;
      if (next > n) continue;
      const double own = own_below + (d.own ? d.own->mass_tree[next] : 0.0);
      if (own + d.weight * d.prior->mass[next] < target) {
        i = next;
        own_below = own;
      }
    }
    if (i >= n) {  // target at (or, by rounding, past) the total: the last bin with mass
      i = n - 1;
      while (i > 0 && !(d.bin_mass(i) > 0)) --i;
      own_below = d.own ? d.own->mass_before(i) : 0.0;
    }
    const double below = own_below + d.weight * d.prior->mass[i];
    const double mass = d.bin_mass(i);
    const double frac = mass > 0 ? std::clamp((target - below) / mass, 0.0, 1.0) : 1.0;
    const double x = bins.lo(i) - 0.5 + frac * (bins.hi(i) - bins.lo(i));
    return std::max(1.0, x);
  }

  void summarise(summary_cache& c, const blend& d) const {
    const double total = d.total();
    c.prediction.mean = d.total_moment() / total;
    c.prediction.p50 = quantile_at(d, 0.5 * total);
    c.prediction.p90 = quantile_at(d, 0.9 * total);
    c.prediction.p99 = quantile_at(d, 0.99 * total);
    const double ratio = c.prediction.p99 / c.prediction.p90;
    c.tail_index = ratio > 1 + 1e-9 ? std::clamp(std::log(10.0) / std::log(ratio),
                                                 min_tail_index, max_tail_index)
                                    : max_tail_index;
    c.valid = true;
  }

  void refresh_prior() {
    const blend g = global_blend();
    const double total = g.total();
    prior.reset(bins.size());
    for (std::size_t i = 0; i <= bins.size(); ++i) {
      prior.mass[i] = g.mass(i) / total;
      prior.moment[i] = g.moment(i) / total;
    }
    ++prior_version;
    next_prior_refresh = observations < 64
                             ? observations + 1
                             : observations + std::max<std::uint64_t>(1, observations / 32);
  }

  const summary_cache& bucket_summary(std::size_t b) {
    auto& c = buckets[b].cache;
    if (!c.valid || c.prior_version != prior_version) {
      summarise(c, bucket_blend(b));
      c.prior_version = prior_version;
    }
    return c;
  }

  const summary_cache& global_summary() {
    if (!global_cache.valid) summarise(global_cache, global_blend());
    return global_cache;
  }

  void observe(int input_tokens, int output_tokens) {
    const int length = std::clamp(output_tokens, 1, bins.max_tokens());
    const std::size_t bin = bins.bin_of(length);
    auto& bk = buckets[bucket_of(input_tokens)];
    if (bk.observed.count.empty()) bk.observed.reset(bins.size());
    bk.observed.add(bin, length);
    bk.cache.valid = false;
    global.add(bin, length);
    global_cache.valid = false;
    ++observations;
    if (observations >= next_prior_refresh) refresh_prior();
  }

  // The part of the distribution above n tokens (L ≥ n + 1): its mass (in observation units)
  // and the sum of its lengths. A bin split by n contributes the fraction of its integer
  // lengths above n, at their mean, i.e. uniform within the bin.
  struct tail {
    double mass = 0;
    double moment = 0;
  };
  tail tail_above(const blend& d, int n) const {
    tail t;
    const int first = n + 1;
    if (first > bins.max_tokens()) return t;
    const std::size_t i = bins.bin_of(std::max(first, 1));
    if (first <= bins.lo(i)) {
      t.mass = d.mass_from(i);
      t.moment = d.moment_from(i);
    } else {
      const double bin_mass = d.bin_mass(i);
      const double frac =
          static_cast<double>(bins.hi(i) - first) / static_cast<double>(bins.hi(i) - bins.lo(i));
      t.mass = d.mass_from(i + 1) + frac * bin_mass;
      t.moment = d.moment_from(i + 1) + frac * bin_mass * 0.5 * (first + bins.hi(i) - 1);
    }
    return t;
  }

  // The estimates below mix the conditional estimate (weighted by the tail's mass, in
  // observations) with the Pareto continuation (weighted as one observation). With plenty of
  // history above n the continuation is negligible; with none it is all there is, so a query
  // that has outlived every observation is never predicted to be about to finish.
  double expected_remaining(int input_tokens, int generated) {
    const std::size_t b = bucket_of(input_tokens);
    const summary_cache& s = bucket_summary(b);
    const blend d = bucket_blend(b);
    const int n = std::max(0, generated);
    const double continuation =
        std::max({1.0, s.prediction.mean - n, n / (s.tail_index - 1.0)});
    const tail t = tail_above(d, n);
    if (!(t.mass > 0)) return continuation;
    const double conditional = std::max(1.0, t.moment / t.mass - n);
    return (t.mass * conditional + continuation) / (t.mass + 1.0);
  }

  double remaining_quantile(int input_tokens, int generated, double q) {
    const std::size_t b = bucket_of(input_tokens);
    const summary_cache& s = bucket_summary(b);
    const blend d = bucket_blend(b);
    const int n = std::max(0, generated);
    const double total = d.total();
    // Pareto continuation from n: P(L − n > y | L > n) = (1 + y/n)^−α. Not below the
    // unconditional quantile minus n either (a just-started query is a fresh draw).
    const double continuation =
        std::max({1.0, quantile_at(d, q * total) - n,
                  n * (std::pow(1.0 - q, -1.0 / s.tail_index) - 1.0)});
    const tail t = tail_above(d, n);
    if (!(t.mass > 0)) return continuation;
    const double x = quantile_at(d, total - (1.0 - q) * t.mass);
    const double conditional = std::max(1.0, x - n);
    // A weighted average of two quantiles rather than the quantile of the mixture: monotone in
    // q and n, and cheap; the two only differ where the history is thin anyway.
    return (t.mass * conditional + continuation) / (t.mass + 1.0);
  }
};

length_predictor::length_predictor(length_predictor_options options)
    : impl_(std::make_unique<impl>(options)) {}
length_predictor::~length_predictor() = default;
length_predictor::length_predictor(length_predictor&&) noexcept = default;
length_predictor& length_predictor::operator=(length_predictor&&) noexcept = default;

void length_predictor::observe(int input_tokens, int output_tokens) {
  impl_->observe(input_tokens, output_tokens);
}

length_prediction length_predictor::predict(int input_tokens) const {
  return impl_->bucket_summary(impl_->bucket_of(input_tokens)).prediction;
}

double length_predictor::expected_remaining(int input_tokens, int generated_tokens) const {
  return impl_->expected_remaining(input_tokens, generated_tokens);
}

double length_predictor::remaining_quantile(int input_tokens, int generated_tokens,
                                            double q) const {
  if (!(q > 0 && q < 1))
    throw std::invalid_argument("remaining_quantile: q must be in (0, 1), got " +
                                std::to_string(q));
  return impl_->remaining_quantile(input_tokens, generated_tokens, q);
}

length_prediction length_predictor::predict_global() const {
  return impl_->global_summary().prediction;
}

double length_predictor::quantile(int input_tokens, double q) const {
  if (!(q > 0 && q < 1))
    throw std::invalid_argument("quantile: q must be in (0, 1), got " + std::to_string(q));
  const blend d = impl_->bucket_blend(impl_->bucket_of(input_tokens));
  return impl_->quantile_at(d, q * d.total());
}

std::uint64_t length_predictor::observations() const { return impl_->observations; }

const length_predictor_options& length_predictor::options() const { return impl_->options; }

}  // namespace aladdin
