#include "model/profile_fit.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "util/csv.hpp"
#include "util/rng.hpp"

namespace aladdin {

namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string format_number(double v, int significant = 4) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", significant, v);
  return buf;
}

std::string format_percent(double fraction) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * fraction);
  return buf;
}

// FNV-1a: a hash whose value is fixed by its definition, unlike std::hash, so that the hold-out
// split of a group is the same on every platform and standard library.
std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

double median(std::vector<double> v) {
  if (v.empty()) return nan_value;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int phase_rank(const std::string& phase) {
  if (phase == "row") return 0;
  if (phase == "prefill") return 1;
  return 2;
}

void sort_rejections(std::vector<rejected_row>* r) {
  std::stable_sort(r->begin(), r->end(), [](const rejected_row& a, const rejected_row& b) {
    if (a.line != b.line) return a.line < b.line;
    return phase_rank(a.phase) < phase_rank(b.phase);
  });
}

// ---------------------------------------------------------------------------------------------
// Linear algebra: the systems are at most 4×4, so plain Gaussian elimination is enough, provided
// the columns are scaled first (Σl² is ~1e8 where the intercept is 1).

constexpr std::size_t max_terms = 4;
using term_vector = std::array<double, max_terms>;
using term_mask = std::array<bool, max_terms>;

// Solves a·x = b in place (a is n×n, row-major) with partial pivoting. False when a pivot is
// negligible next to the matrix, i.e. the system is singular to working precision.
bool solve_linear(std::vector<double> a, std::vector<double> b, std::size_t n,
                  std::vector<double>* x) {
  double norm = 0;
  for (double v : a) norm = std::max(norm, std::fabs(v));
  if (norm == 0) return false;
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < n; ++r)
      if (std::fabs(a[r * n + col]) > std::fabs(a[pivot * n + col])) pivot = r;
    if (std::fabs(a[pivot * n + col]) <= 1e-13 * norm) return false;
    if (pivot != col) {
      for (std::size_t c = 0; c < n; ++c) std::swap(a[col * n + c], a[pivot * n + c]);
      std::swap(b[col], b[pivot]);
    }
    for (std::size_t r = col + 1; r < n; ++r) {
      const double f = a[r * n + col] / a[col * n + col];
      if (f == 0) continue;
      for (std::size_t c = col; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
      b[r] -= f * b[col];
    }
  }
  x->assign(n, 0.0);
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t c = i + 1; c < n; ++c) s -= a[i * n + c] * (*x)[c];
    (*x)[i] = s / a[i * n + i];
  }
  return true;
}

// One measurement of one phase: features (the model's terms) and the time in seconds.
struct sample {
  term_vector x{};
  double y = 0;
  std::size_t row = 0;  // index into the group's rows
};

// Minimises Σ w_i (x_i·β − y_i)² over the active terms; inactive terms are 0. Each column is
// divided by its weighted norm, which gives the normal matrix a unit diagonal.
bool weighted_least_squares(const std::vector<sample>& s, const std::vector<double>& w,
                            const term_mask& active, term_vector* beta) {
  std::vector<std::size_t> idx;
  for (std::size_t j = 0; j < max_terms; ++j)
    if (active[j]) idx.push_back(j);
  const std::size_t k = idx.size();
  if (k == 0) return false;
  std::vector<double> scale(k, 0.0);
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t i = 0; i < s.size(); ++i) scale[a] += w[i] * s[i].x[idx[a]] * s[i].x[idx[a]];
    scale[a] = std::sqrt(scale[a]);
    if (!(scale[a] > 0) || !std::isfinite(scale[a])) return false;
  }
  std::vector<double> m(k * k, 0.0), rhs(k, 0.0);
  for (std::size_t i = 0; i < s.size(); ++i) {
    for (std::size_t a = 0; a < k; ++a) {
      const double xa = s[i].x[idx[a]] / scale[a];
      rhs[a] += w[i] * xa * s[i].y;
      for (std::size_t b = 0; b < k; ++b) m[a * k + b] += w[i] * xa * s[i].x[idx[b]] / scale[b];
    }
  }
  std::vector<double> sol;
  if (!solve_linear(std::move(m), std::move(rhs), k, &sol)) return false;
  *beta = term_vector{};
  for (std::size_t a = 0; a < k; ++a) (*beta)[idx[a]] = sol[a] / scale[a];
  return true;
}

double predict(const term_vector& beta, const sample& s) {
  double t = 0;
  for (std::size_t j = 0; j < max_terms; ++j) t += beta[j] * s.x[j];
  return t;
}

double mape(const std::vector<sample>& s, const term_vector& beta) {
  if (s.empty()) return nan_value;
  double sum = 0;
  for (const auto& x : s) sum += std::fabs(predict(beta, x) - x.y) / x.y;
  return sum / static_cast<double>(s.size());
}

struct solved {
  term_vector beta{};
  double mape = nan_value;
  bool ok = false;
};

// Least mean absolute relative error by iteratively reweighted least squares: weights 1/y² give
// least squares of the relative error; then 1/(y²·|r_i|) turns the squared loss into |r_i|.
// The floor on |r_i| keeps rows that the fit passes through from taking all the weight. The best
// iterate is returned, so a non-monotone step cannot make the result worse.
solved fit_mare(const std::vector<sample>& s, const term_mask& active, const fit_options& o) {
  solved best;
  std::vector<double> w(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) w[i] = 1.0 / (s[i].y * s[i].y);
  term_vector beta{};
  if (!weighted_least_squares(s, w, active, &beta)) return best;
  best = {beta, mape(s, beta), true};
  for (int it = 0; it < o.irls_iterations; ++it) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const double r = std::fabs(predict(beta, s[i]) - s[i].y) / s[i].y;
      w[i] = 1.0 / (s[i].y * s[i].y * std::max(r, o.irls_epsilon));
    }
    if (!weighted_least_squares(s, w, active, &beta)) break;
    const double m = mape(s, beta);
    if (m < best.mape) best = {beta, m, true};
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// The two phases as term lists.

struct term_info {
  const char* name;
  bool optional;
};

struct phase_spec {
  const char* name;  // "prefill" / "decode"
  std::size_t terms;
  std::array<term_info, max_terms> info;
  // Order in which terms are admitted when the data cannot determine all of them: the terms
  // that carry the most physics come first.
  std::array<std::size_t, max_terms> priority;
};

// prefill: x = (Σl, Σl², B, 1) for (k1, q1, s1, c1)
constexpr phase_spec prefill_phase{
    "prefill", 4, {{{"k1", false}, {"q1", true}, {"s1", true}, {"c1", false}}}, {0, 3, 2, 1}};
// decode: x = (Σctx, B, 1) for (k2, c2, c3)
constexpr phase_spec decode_phase{
    "decode", 3, {{{"k2", false}, {"c2", false}, {"c3", false}, {"", false}}}, {2, 0, 1, 3}};

term_vector prefill_features(const profile_row& r) {
  const double b = static_cast<double>(r.batch), p = static_cast<double>(r.prompt);
  return {b * p, b * p * p, b, 1.0};
}

term_vector decode_features(const profile_row& r) {
  const double b = static_cast<double>(r.batch), p = static_cast<double>(r.prompt);
  const double t = static_cast<double>(r.tokens);
  // Mean context over the run: iteration i holds b·(p + i) tokens, i = 0 .. t−1.
  return {b * (p + (t - 1.0) / 2.0), b, 1.0, 0.0};
}

// The terms that the samples can determine: admitted in priority order when their column is
// linearly independent of the admitted ones over the distinct configurations. An optional term
// also needs a spare distinct configuration, so that keeping it is a choice the data can test
// rather than an exact interpolation.
term_mask determinable_terms(const std::vector<sample>& s, const phase_spec& spec,
                             std::vector<std::string>* notes) {
  std::vector<term_vector> distinct;
  for (const auto& x : s)
    if (std::find(distinct.begin(), distinct.end(), x.x) == distinct.end()) distinct.push_back(x.x);
  std::sort(distinct.begin(), distinct.end());

  term_mask active{};
  std::vector<std::vector<double>> basis;  // orthonormal columns of the admitted terms
  for (std::size_t pi = 0; pi < spec.terms; ++pi) {
    const std::size_t j = spec.priority[pi];
    std::vector<double> col(distinct.size());
    double norm = 0;
    for (std::size_t i = 0; i < distinct.size(); ++i) {
      col[i] = distinct[i][j];
      norm += col[i] * col[i];
    }
    norm = std::sqrt(norm);
    bool independent = norm > 0;
    if (independent) {
      for (auto& v : col) v /= norm;
      // Two passes of Gram-Schmidt keep the residual accurate.
      for (int pass = 0; pass < 2; ++pass)
        for (const auto& q : basis) {
          double d = 0;
          for (std::size_t i = 0; i < col.size(); ++i) d += q[i] * col[i];
          for (std::size_t i = 0; i < col.size(); ++i) col[i] -= d * q[i];
        }
      double rest = 0;
      for (double v : col) rest += v * v;
      rest = std::sqrt(rest);
      independent = rest > 1e-7;
      if (independent)
        for (auto& v : col) v /= rest;
    }
    const std::size_t needed = basis.size() + (spec.info[j].optional ? 2 : 1);
    if (independent && distinct.size() >= needed) {
      active[j] = true;
      basis.push_back(std::move(col));
    } else {
      notes->push_back(std::string(spec.name) + " " + spec.info[j].name +
                       " not determined by the data (" + std::to_string(distinct.size()) +
                       " distinct configurations): left at 0");
    }
  }
  return active;
}

// Mean size of a term's contribution, to compare coefficients of different units.
double mean_feature(const std::vector<sample>& s, std::size_t j) {
  double sum = 0;
  for (const auto& x : s) sum += std::fabs(x.x[j]);
  return s.empty() ? 0 : sum / static_cast<double>(s.size());
}

// Fits one phase with the optional-term rule: a term whose coefficient comes out negative is
// physically meaningless and dropped; a term that does not lower the training MAPE by
// min_term_gain is not worth its variance and dropped too. Repeats until stable.
solved fit_with_term_choice(const std::vector<sample>& s, const phase_spec& spec,
                            const fit_options& o, term_mask* active,
                            std::vector<std::string>* notes) {
  while (true) {
    solved fit = fit_mare(s, *active, o);
    if (!fit.ok) {
      // Singular despite the rank check (e.g. extreme weights): drop the optional terms first.
      bool dropped = false;
      for (std::size_t j = 0; j < spec.terms && !dropped; ++j)
        if ((*active)[j] && spec.info[j].optional) {
          (*active)[j] = false;
          dropped = true;
          notes->push_back(std::string(spec.name) + " " + spec.info[j].name +
                           " dropped: the system was singular with it");
        }
      if (!dropped) return fit;
      continue;
    }
    std::size_t worst = max_terms;
    double worst_value = 0;
    for (std::size_t j = 0; j < spec.terms; ++j) {
      if (!(*active)[j] || !spec.info[j].optional || fit.beta[j] >= 0) continue;
      const double contribution = fit.beta[j] * mean_feature(s, j);
      if (worst == max_terms || contribution < worst_value) {
        worst = j;
        worst_value = contribution;
      }
    }
    if (worst != max_terms) {
      (*active)[worst] = false;
      notes->push_back(std::string(spec.name) + " " + spec.info[worst].name +
                       " dropped: its coefficient came out negative (" +
                       format_number(fit.beta[worst], 3) + ")");
      continue;
    }
    bool changed = false;
    for (std::size_t j = 0; j < spec.terms && !changed; ++j) {
      if (!(*active)[j] || !spec.info[j].optional) continue;
      term_mask without = *active;
      without[j] = false;
      const solved alt = fit_mare(s, without, o);
      if (!alt.ok) continue;
      const std::string what = std::string(spec.name) + " " + spec.info[j].name;
      const std::string change = "training MAPE " + format_percent(alt.mape) + " without it, " +
                                 format_percent(fit.mape) + " with it";
      if (fit.mape < alt.mape * (1.0 - o.min_term_gain)) continue;
      *active = without;
      notes->push_back(what + " dropped: too little gain (" + change + ")");
      changed = true;
    }
    if (changed) continue;
    for (std::size_t j = 0; j < spec.terms; ++j) {
      if (!(*active)[j] || !spec.info[j].optional) continue;
      term_mask without = *active;
      without[j] = false;
      const solved alt = fit_mare(s, without, o);
      notes->push_back(std::string(spec.name) + " " + spec.info[j].name + " kept (training MAPE " +
                       format_percent(alt.mape) + " without it, " + format_percent(fit.mape) +
                       " with it)");
    }
    return fit;
  }
}

struct phase_fit {
  solved fit;
  term_mask active{};
  std::vector<bool> used;  // per sample: still in the fit (not an outlier)
};

// Fits a phase on its training samples; gross outliers are rejected and the phase refit, for a
// bounded number of rounds.
phase_fit fit_phase(const std::vector<sample>& all, const std::vector<profile_row>& rows,
                    const phase_spec& spec, const fit_options& o,
                    std::vector<rejected_row>* rejected, std::vector<std::string>* notes) {
  phase_fit out;
  out.used.assign(all.size(), true);
  for (int round = 0;; ++round) {
    std::vector<sample> s;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (out.used[i]) s.push_back(all[i]);
    std::vector<std::string> round_notes;
    out.active = determinable_terms(s, spec, &round_notes);
    out.fit = fit_with_term_choice(s, spec, o, &out.active, &round_notes);
    if (!out.fit.ok || round >= o.outlier_rounds) {
      notes->insert(notes->end(), round_notes.begin(), round_notes.end());
      return out;
    }
    std::vector<double> err;
    for (const auto& x : s) err.push_back(std::fabs(predict(out.fit.beta, x) - x.y) / x.y);
    const double limit = std::max(o.outlier_floor, o.outlier_factor * median(err));
    bool any = false;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (!out.used[i]) continue;
      const double predicted = predict(out.fit.beta, all[i]);
      const double r = std::fabs(predicted - all[i].y) / all[i].y;
      if (r <= limit) continue;
      out.used[i] = false;
      any = true;
      rejected->push_back({rows[all[i].row].line, spec.name,
                           "outlier of the fit: measured " + format_number(all[i].y * 1e3) +
                               " ms, predicted " + format_number(predicted * 1e3) +
                               " ms (off by " + format_percent(r) + ", limit " +
                               format_percent(limit) + ")"});
    }
    if (!any) {
      notes->insert(notes->end(), round_notes.begin(), round_notes.end());
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Screening within one (model, hardware, tp) group.

using config_key = std::tuple<std::int64_t, std::int64_t, std::int64_t>;  // prompt, batch, tokens

std::string describe(const config_key& k) {
  return "batch " + std::to_string(std::get<1>(k)) + ", prompt " + std::to_string(std::get<0>(k)) +
         ", tokens " + std::to_string(std::get<2>(k));
}

struct group_state {
  std::vector<profile_row> rows;
  std::vector<bool> prefill_ok, decode_ok;
  std::vector<rejected_row> rejected;
  std::set<std::pair<std::size_t, std::string>> reported;  // (line, phase) rejected by the parser

  void reject(std::size_t i, const std::string& phase, std::string reason) {
    if (phase != "decode") prefill_ok[i] = false;
    if (phase != "prefill") decode_ok[i] = false;
    if (reported.count({rows[i].line, phase}) != 0) return;
    rejected.push_back({rows[i].line, phase, std::move(reason)});
  }
  double time_ms(std::size_t i, bool prefill) const {
    return prefill ? rows[i].prompt_time_ms : rows[i].token_time_ms;
  }
  bool ok(std::size_t i, bool prefill) const { return prefill ? prefill_ok[i] : decode_ok[i]; }
};

void screen_validity(group_state* g) {
  for (std::size_t i = 0; i < g->rows.size(); ++i) {
    const auto& r = g->rows[i];
    std::string why;
    auto need_positive = [&](const char* column, std::int64_t v) {
      if (v <= 0 && why.empty())
        why = std::string(column) + " " + std::to_string(v) + " is not positive";
    };
    need_positive("tensor_parallel", r.tp);
    need_positive("prompt_size", r.prompt);
    need_positive("batch_size", r.batch);
    need_positive("token_size", r.tokens);
    if (!why.empty()) {
      g->reject(i, "row", why);
      continue;
    }
    auto check_time = [&](const char* column, double t, const char* phase) {
      if (std::isfinite(t) && t > 0) return;
      g->reject(i, phase, std::string(column) + " " + format_number(t, 6) +
                              " is not a positive finite time");
    };
    check_time("prompt_time", r.prompt_time_ms, "prefill");
    check_time("token_time", r.token_time_ms, "decode");
  }
}

std::map<config_key, std::vector<std::size_t>> configurations(const group_state& g) {
  std::map<config_key, std::vector<std::size_t>> by;
  for (std::size_t i = 0; i < g.rows.size(); ++i)
    if (g.prefill_ok[i] || g.decode_ok[i])
      by[{g.rows[i].prompt, g.rows[i].batch, g.rows[i].tokens}].push_back(i);
  return by;
}

// Rule 2: with three or more repeats the median is a trustworthy reference; with two, neither
// run can be blamed, and the later rules decide.
void screen_repeats(group_state* g, const fit_options& o) {
  for (const auto& [key, idx] : configurations(*g)) {
    for (bool prefill : {true, false}) {
      std::vector<double> t;
      for (auto i : idx)
        if (g->ok(i, prefill)) t.push_back(g->time_ms(i, prefill));
      if (t.size() < 3) continue;
      const double med = median(t);
      for (auto i : idx) {
        if (!g->ok(i, prefill)) continue;
        const double off = std::fabs(g->time_ms(i, prefill) / med - 1.0);
        if (off <= o.repeat_tolerance) continue;
        g->reject(i, prefill ? "prefill" : "decode",
                  "disagrees with the " + std::to_string(t.size()) + " repeats of " +
                      describe(key) + ": " + format_number(g->time_ms(i, prefill)) +
                      " ms against their median " + format_number(med) + " ms (" +
                      format_percent(off) + " off)");
      }
    }
  }
}

// Rule 3: a configuration with at least as much work in every dimension cannot be much faster.
// Prefill work is (batch, prompt); decode work is (batch, prompt, tokens).
void screen_dominance(group_state* g, const fit_options& o) {
  const auto by = configurations(*g);
  struct config_info {
    config_key key;
    std::vector<std::size_t> rows;
    double med[2];  // [0] prefill, [1] decode; NaN without usable rows
  };
  std::vector<config_info> configs;
  for (const auto& [key, idx] : by) {
    config_info c{key, idx, {nan_value, nan_value}};
    for (int ph = 0; ph < 2; ++ph) {
      std::vector<double> t;
      for (auto i : idx)
        if (g->ok(i, ph == 0)) t.push_back(g->time_ms(i, ph == 0));
      c.med[ph] = median(t);
    }
    configs.push_back(std::move(c));
  }
  struct conflict {
    std::size_t fast;  // more work, less time
    std::size_t slow;
    int phase;
    double ratio;
  };
  std::vector<conflict> conflicts;
  for (std::size_t a = 0; a < configs.size(); ++a) {
    for (std::size_t b = 0; b < configs.size(); ++b) {
      if (a == b) continue;
      const auto& [pa, ba, ta] = configs[a].key;
      const auto& [pb, bb, tb] = configs[b].key;
      for (int ph = 0; ph < 2; ++ph) {
        const bool more_or_equal = pa >= pb && ba >= bb && (ph == 0 || ta >= tb);
        const bool strictly = pa > pb || ba > bb || (ph == 1 && ta > tb);
        if (!more_or_equal || !strictly) continue;
        const double fa = configs[a].med[ph], fb = configs[b].med[ph];
        if (!(fa < o.dominance_ratio * fb)) continue;  // false for NaN too
        conflicts.push_back({a, b, ph, fa / fb});
      }
    }
  }
  std::vector<bool> alive(configs.size(), true);
  while (true) {
    std::vector<std::size_t> count(configs.size(), 0), as_fast(configs.size(), 0);
    bool any = false;
    for (const auto& c : conflicts) {
      if (!alive[c.fast] || !alive[c.slow]) continue;
      any = true;
      ++count[c.fast];
      ++count[c.slow];
      ++as_fast[c.fast];
    }
    if (!any) return;
    // The configuration in the most conflicts; on a tie, the one that is more often the
    // impossibly fast side (a broken run more often ends early than drags on), then key order.
    std::size_t pick = 0;
    for (std::size_t k = 1; k < configs.size(); ++k)
      if (count[k] > count[pick] || (count[k] == count[pick] && as_fast[k] > as_fast[pick]))
        pick = k;
    const conflict* worst = nullptr;
    for (const auto& c : conflicts) {
      if (!alive[c.fast] || !alive[c.slow] || (c.fast != pick && c.slow != pick)) continue;
      if (worst == nullptr || c.ratio < worst->ratio) worst = &c;
    }
    const auto& fast = configs[worst->fast];
    const auto& slow = configs[worst->slow];
    const char* phase = worst->phase == 0 ? "prefill" : "decode";
    const std::size_t n_conflicts = count[pick];
    std::string reason = std::string("physically inconsistent ") + phase + " time: " +
                         describe(fast.key) + " took " + format_number(fast.med[worst->phase]) +
                         " ms (median), under " + format_number(o.dominance_ratio, 3) +
                         "x the " + format_number(slow.med[worst->phase]) + " ms of " +
                         describe(slow.key) + ", which does less work (this configuration is in " +
                         std::to_string(n_conflicts) +
                         (n_conflicts == 1 ? " such conflict" : " such conflicts") +
                         ", the most of any)";
    for (auto i : configs[pick].rows) g->reject(i, "row", reason);
    alive[pick] = false;
  }
}

// ---------------------------------------------------------------------------------------------

fit_stats stats_of(const std::vector<sample>& pre, const std::vector<sample>& dec,
                   const config_fit& f, std::size_t rows) {
  fit_stats s;
  s.rows = rows;
  s.prefill_rows = pre.size();
  s.decode_rows = dec.size();
  term_vector pb{f.prefill.k1, f.prefill.q1, f.prefill.s1, f.prefill.c1};
  term_vector db{f.decode.k2, f.decode.c2, f.decode.c3, 0.0};
  s.prefill_mape = f.prefill_fitted ? mape(pre, pb) : nan_value;
  s.decode_mape = f.decode_fitted ? mape(dec, db) : nan_value;
  return s;
}

config_fit fit_group(const worker_config& config, group_state g, const fit_options& o) {
  config_fit out;
  out.config = config;
  const std::size_t n = g.rows.size();
  g.prefill_ok.assign(n, true);
  g.decode_ok.assign(n, true);

  screen_validity(&g);
  screen_repeats(&g, o);
  screen_dominance(&g, o);

  // Hold-out split, stratified by configuration (prompt, batch, tokens): the repeats of every
  // configuration are shuffled, the configurations are put in a shuffled order, and systematic
  // sampling with a random start takes every (1/F)-th row of that list. Each configuration of n_c
  // runs thus gives floor or ceil of F·n_c rows to validation, so the validation set has the
  // file's mix of configurations (a plain random split of ~20 rows can, by chance, hold out
  // mostly the hardest configurations), and with F ≤ 0.5 every configuration with two or more
  // runs stays in training, so holding out never changes what the data can determine.
  std::vector<bool> validation(n, false);
  std::size_t eligible = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (g.prefill_ok[i] || g.decode_ok[i]) ++eligible;
  if (o.validate_fraction > 0 && eligible <= o.min_train_rows)
    out.notes.push_back("no rows held out for validation: only " + std::to_string(eligible) +
                        " usable rows, and at least " + std::to_string(o.min_train_rows) +
                        " stay in training");
  if (o.validate_fraction > 0 && eligible > o.min_train_rows) {
    const std::string key = config.model + '\x1f' + config.gpu + '\x1f' + std::to_string(config.tp);
    rng r(o.seed ^ fnv1a(key));
    auto shuffle = [&r](auto* v) {
      for (std::size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[r.below(i)]);
    };
    std::vector<std::vector<std::size_t>> strata;
    for (auto& [k, idx] : configurations(g)) {
      strata.push_back(idx);
      shuffle(&strata.back());
    }
    shuffle(&strata);
    const double start = r.uniform();
    const double f = o.validate_fraction;
    std::size_t position = 0, held_out = 0;
    const std::size_t limit = eligible - o.min_train_rows;
    for (const auto& stratum : strata)
      for (std::size_t i : stratum) {
        const double before = std::floor(static_cast<double>(position) * f + start);
        const double after = std::floor(static_cast<double>(position + 1) * f + start);
        ++position;
        if (after > before && held_out < limit) {
          validation[i] = true;
          ++held_out;
        }
      }
  }

  std::vector<sample> pre_train, dec_train, pre_val, dec_val;
  for (std::size_t i = 0; i < n; ++i) {
    if (g.prefill_ok[i])
      (validation[i] ? pre_val : pre_train)
          .push_back({prefill_features(g.rows[i]), g.rows[i].prompt_time_ms / 1e3, i});
    if (g.decode_ok[i])
      (validation[i] ? dec_val : dec_train)
          .push_back({decode_features(g.rows[i]), g.rows[i].token_time_ms / 1e3, i});
  }

  std::vector<rejected_row> outliers;
  std::vector<bool> train_row_used(n, false);
  auto run = [&](const std::vector<sample>& train, const phase_spec& spec,
                 std::vector<sample>* kept) -> phase_fit {
    phase_fit pf;
    if (train.empty()) {
      out.notes.push_back(std::string(spec.name) + " not fitted: no usable training rows");
      return pf;
    }
    pf = fit_phase(train, g.rows, spec, o, &outliers, &out.notes);
    if (!pf.fit.ok) {
      out.notes.push_back(std::string(spec.name) + " not fitted: singular system");
      return pf;
    }
    for (std::size_t i = 0; i < train.size(); ++i)
      if (pf.used[i]) {
        kept->push_back(train[i]);
        train_row_used[train[i].row] = true;
      }
    return pf;
  };
  std::vector<sample> pre_kept, dec_kept;
  const phase_fit pf = run(pre_train, prefill_phase, &pre_kept);
  const phase_fit df = run(dec_train, decode_phase, &dec_kept);
  if (pf.fit.ok) {
    out.prefill_fitted = true;
    out.prefill = {pf.fit.beta[0], pf.fit.beta[1], pf.fit.beta[2], pf.fit.beta[3]};
    out.has_q1 = pf.active[1];
    out.has_s1 = pf.active[2];
  }
  if (df.fit.ok) {
    out.decode_fitted = true;
    out.decode = {df.fit.beta[0], df.fit.beta[1], df.fit.beta[2]};
  }
  for (auto& r : outliers) g.rejected.push_back(std::move(r));

  for (std::size_t i = 0; i < n; ++i) {
    if (validation[i]) out.validation_lines.push_back(g.rows[i].line);
    else if (train_row_used[i]) out.train_lines.push_back(g.rows[i].line);
  }
  out.train = stats_of(pre_kept, dec_kept, out, out.train_lines.size());
  out.validation = stats_of(pre_val, dec_val, out, out.validation_lines.size());
  out.rejected = std::move(g.rejected);
  sort_rejections(&out.rejected);
  return out;
}

using group_key = std::tuple<std::string, std::string, int>;

group_key key_of(const worker_config& c) { return {c.model, c.gpu, c.tp}; }

}  // namespace

// ---------------------------------------------------------------------------------------------

parsed_profile parse_profile(std::istream& in, const std::string& source) {
  csv_reader reader(in, source);
  const std::size_t c_model = reader.column("model");
  const std::size_t c_hardware = reader.column("hardware");
  const std::size_t c_prompt = reader.column("prompt_size");
  const std::size_t c_batch = reader.column("batch_size");
  const std::size_t c_tokens = reader.column("token_size");
  const std::size_t c_prompt_time = reader.column("prompt_time");
  const std::size_t c_token_time = reader.column("token_time");
  const std::size_t c_tp = reader.column("tensor_parallel");

  parsed_profile out;
  std::vector<std::string_view> f;
  std::size_t line = 0;
  while (true) {
    try {
      if (!reader.next(&f, &line)) break;
    } catch (const input_error& e) {
      // A row with the wrong number of fields is one broken row, not a broken file. csv_reader
      // names the line only in its message ("<source>:<line>: <what>"), so it is read back from
      // there; anything else is a genuine file error.
      const std::string msg = e.what();
      const std::string prefix = source + ":";
      std::size_t bad_line = 0, pos = prefix.size();
      if (msg.compare(0, prefix.size(), prefix) != 0) throw;
      while (pos < msg.size() && msg[pos] >= '0' && msg[pos] <= '9')
        bad_line = bad_line * 10 + static_cast<std::size_t>(msg[pos++] - '0');
      if (bad_line == 0 || msg.compare(pos, 2, ": ") != 0) throw;
      out.rejected.push_back({{bad_line, "row", msg.substr(pos + 2)}, std::nullopt});
      continue;
    }
    profile_row r;
    r.line = line;
    r.model = std::string(f[c_model]);
    r.hardware = std::string(f[c_hardware]);
    std::string why;
    auto add_why = [&](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
    if (r.model.empty()) add_why("model is empty");
    if (r.hardware.empty()) add_why("hardware is empty");
    auto size = [&](std::size_t col, const char* name, std::int64_t* out_value) {
      const auto v = to_integer(f[col]);
      if (!v) {
        add_why(std::string(name) + " '" + std::string(f[col]) + "' is not an integer");
      } else if (*v <= 0 || *v > (std::int64_t{1} << 40)) {
        add_why(std::string(name) + " " + std::to_string(*v) + " is not a positive size");
      } else {
        *out_value = *v;
      }
    };
    std::int64_t tp = 0;
    size(c_tp, "tensor_parallel", &tp);
    const bool key_ok = !r.model.empty() && !r.hardware.empty() && tp > 0 && tp <= (1 << 20);
    r.tp = static_cast<int>(key_ok ? tp : 0);
    size(c_prompt, "prompt_size", &r.prompt);
    size(c_batch, "batch_size", &r.batch);
    size(c_tokens, "token_size", &r.tokens);
    const std::optional<worker_config> config =
        key_ok ? std::optional<worker_config>(r.config()) : std::nullopt;
    if (!why.empty()) {
      out.rejected.push_back({{line, "row", why}, config});
      continue;
    }
    auto time = [&](std::size_t col, const char* name, const char* phase) {
      const auto v = to_double(f[col]);
      std::string bad;
      if (!v) bad = std::string(name) + " '" + std::string(f[col]) + "' is not a finite number";
      else if (*v <= 0) bad = std::string(name) + " " + std::string(f[col]) + " is not positive";
      if (bad.empty()) return *v;
      out.rejected.push_back({{line, phase, bad}, config});
      return nan_value;
    };
    r.prompt_time_ms = time(c_prompt_time, "prompt_time", "prefill");
    r.token_time_ms = time(c_token_time, "token_time", "decode");
    out.rows.push_back(std::move(r));
  }
  return out;
}

fit_result fit_profiles(const parsed_profile& profile, const fit_options& options) {
  std::map<group_key, group_state> groups;
  std::map<group_key, worker_config> configs;
  for (const auto& r : profile.rows) {
    const auto k = key_of(r.config());
    groups[k].rows.push_back(r);
    configs[k] = r.config();
  }
  fit_result out;
  for (const auto& pr : profile.rejected) {
    if (!pr.config) {
      out.unassigned.push_back(pr.rejection);
      continue;
    }
    const auto k = key_of(*pr.config);
    configs[k] = *pr.config;
    auto& g = groups[k];
    // The group's own validity check would find the same fault (a NaN time) again; it is
    // reported once, with the parser's reason, which quotes the field as written.
    g.reported.insert({pr.rejection.line, pr.rejection.phase});
    g.rejected.push_back(pr.rejection);
  }
  sort_rejections(&out.unassigned);
  for (auto& [k, g] : groups) {
    config_fit f = fit_group(configs[k], std::move(g), options);
    out.configs.push_back(std::move(f));
  }
  return out;
}

std::vector<config_fit> fit_profiles(const std::vector<profile_row>& rows,
                                     const fit_options& options) {
  parsed_profile p;
  p.rows = rows;
  return fit_profiles(p, options).configs;
}

double predict_prefill_ms(const prefill_coefficients& c, const profile_row& r) {
  const auto x = prefill_features(r);
  return 1e3 * c.time(x[0], x[1], x[2]);
}

double predict_decode_ms(const decode_coefficients& c, const profile_row& r) {
  const auto x = decode_features(r);
  return 1e3 * c.time(x[0], x[1]);
}

worker_profile to_worker_profile(const config_fit& fit, std::string source, std::string* note) {
  worker_profile p;
  p.config = fit.config;
  p.prefill = fit.prefill;
  p.decode = fit.decode;
  p.source = std::move(source);
  const auto m = find_model(fit.config.model);
  const auto g = find_gpu(fit.config.gpu);
  if (m && g) {
    p.kv = kv_model::from_hardware(*m, *g, fit.config.tp);
    if (note) note->clear();
  } else {
    if (m) p.kv.bytes_per_token = m->kv_bytes_per_token();
    if (note) {
      *note = std::string("KV capacity unknown (0): ") +
              (m ? "" : "model '" + fit.config.model + "' is not in the catalogue") +
              (!m && !g ? "; " : "") +
              (g ? "" : "GPU '" + fit.config.gpu + "' is not in the catalogue");
    }
  }
  return p;
}

}  // namespace aladdin
