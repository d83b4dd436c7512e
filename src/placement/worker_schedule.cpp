#include "placement/worker_schedule.hpp"

#include <algorithm>
#include <cassert>
#include <limits>
#include <numeric>

namespace aladdin {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

worker_schedule::worker_schedule(worker_profile profile, const length_source* lengths,
                                 schedule_options options)
    : worker_schedule(nullptr, lengths, options) {
  owned_shape_ = std::make_unique<worker_shape_model>();
  owned_shape_->profile = std::move(profile);
  shape_ = owned_shape_.get();
  rebuild(0);
}

worker_schedule::worker_schedule(const worker_shape_model* shape, const length_source* lengths,
                                 schedule_options options)
    : shape_(shape), lengths_(lengths), options_(options) {
  assert(lengths_ != nullptr);
  if (shape_ != nullptr) rebuild(0);
}

worker_schedule::entry* worker_schedule::find(query_id q) {
  const auto it = index_.find(q);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const worker_schedule::entry* worker_schedule::find(query_id q) const {
  const auto it = index_.find(q);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

bool worker_schedule::holds(query_id q) const { return find(q) != nullptr; }

int worker_schedule::generated_of(const entry& e) const {
  return static_cast<int>(e.base + iteration_) - e.lengths.input_tokens;
}

double worker_schedule::kv_used_tokens() const {
  return sum_base_ + static_cast<double>(entries_.size()) * iteration_;
}

double worker_schedule::prefill_one_s(double tokens) const {
  return shape_->prefill_one_s(tokens);
}

double worker_schedule::decode_s(double context, double batch) const {
  return shape_->decode_s(context, batch);
}

double worker_schedule::iteration_s() const {
  if (entries_.empty()) return 0;
  const auto m = static_cast<double>(entries_.size());
  return decode_s(sum_base_ + m * iteration_, m);
}

void worker_schedule::add_queued(const query_request& q, const query_lengths& lengths,
                                 double now) {
  if (!index_.try_emplace(q.id, entries_.size()).second) return;
  entry e;
  e.id = q.id;
  e.lengths = lengths;
  e.slo = q.slo;
  e.arrival_s = q.arrival_s;
  e.seq = next_seq_++;
  e.prefill_s = prefill_one_s(q.input_tokens);
  // Until its prefill, a query is planned as if it started decoding now.
  e.base = q.input_tokens - iteration_;
  e.finish = iteration_ + std::max(1.0, q.expected_output_tokens);
  e.atgt_finish = e.finish;
  e.stall_finish = e.finish;
  // Its decode iterations after the first token, at the ATGT length quantile (as running
  // queries are planned), and at the stall-capping one.
  e.queued_decodes = atgt_length(lengths, 0, std::max(1.0, q.expected_output_tokens)) - 1;
  e.queued_stall_decodes = stall_length(lengths, 0, std::max(1.0, q.expected_output_tokens)) - 1;
  pending_prefill_s_ += e.prefill_s;
  pending_prefill_tokens_ += q.input_tokens;
  entries_.push_back(e);
  rebuild(now);
}

void worker_schedule::start_decoding(query_id q, double now) {
  entry* e = find(q);
  if (e == nullptr || e->running) return;
  begin_decoding(*e, now);
  rebuild(now);
}

void worker_schedule::begin_decoding(entry& e, double now) {
  e.running = true;
  pending_prefill_s_ -= e.prefill_s;
  pending_prefill_tokens_ -= e.lengths.input_tokens;
  if (pending_prefill_s_ < 1e-12) pending_prefill_s_ = 0;
  if (pending_prefill_tokens_ < 0.5) pending_prefill_tokens_ = 0;
  e.first_token_s = now;
  e.base = e.lengths.input_tokens + 1 - iteration_;  // the prefill produced token 1
  repredict(e, 1);
}

void worker_schedule::repredict(entry& e, double generated) {
  const int n = static_cast<int>(generated);
  const double remaining = std::max(1.0, lengths_->expected_remaining(e.lengths, n));
  const double low = atgt_length(e.lengths, n, remaining);
  e.finish = iteration_ + remaining;
  e.atgt_finish = iteration_ + low;
  e.stall_finish = iteration_ + stall_length(e.lengths, n, remaining);
  // ATGT = (t_last − t_first) / (L − 1): the decode time budget ends at first + slo·(L − 1)
  // (the anchor itself is worked out in rebuild, with the headroom in force then).
  e.budget_tokens = generated + low - 1;
}

double worker_schedule::atgt_length(const query_lengths& q, int generated, double mean) const {
  const double p = options_.atgt_length_quantile;
  if (!(p > 0 && p < 1)) return mean;
  return std::clamp(lengths_->remaining_quantile(q, generated, p), 1.0, mean);
}

double worker_schedule::stall_length(const query_lengths& q, int generated, double mean) const {
  if (options_.chunk_tokens <= 0) return mean;  // not used
  return std::max(mean, lengths_->remaining_quantile(q, generated, kStallLengthQuantile));
}

void worker_schedule::advance_decode(int iterations, double now) {
  if (iterations <= 0) return;
  iteration_ += iterations;
  bool changed = false;
  for (auto& e : entries_) {
    if (!e.running) {
      // A queued query makes no progress: keep its planned context and end where they were.
      e.base -= iterations;
      e.finish += iterations;
      e.atgt_finish += iterations;
      e.stall_finish += iterations;
      changed = true;
    }
  }
  if (running_ > 0 && iteration_ >= min_finish_) {
    // Some queries outlived their prediction: ask the length source again (it conditions on
    // the tokens already produced, so the new estimate is never "about to finish").
    for (auto& e : entries_)
      if (e.running && e.atgt_finish <= iteration_) repredict(e, generated_of(e));
    changed = true;
  }
  if (changed) rebuild(now);
}

void worker_schedule::resync(entry& e, int generated_tokens) {
  e.base = e.lengths.input_tokens + generated_tokens - iteration_;
  repredict(e, generated_tokens);
}

void worker_schedule::set_progress(query_id q, int generated_tokens, double now) {
  entry* e = find(q);
  if (e == nullptr || !e->running) return;
  resync(*e, generated_tokens);
  rebuild(now);
}

void worker_schedule::apply_progress(std::span<const progress_report> running, double now) {
  bool changed = false;
  for (const progress_report& r : running) {
    entry* e = find(r.id);
    if (e == nullptr) continue;
    if (!e->running) begin_decoding(*e, now);
    resync(*e, r.generated_tokens);
    changed = true;
  }
  // The rebuild reads only the entries and `now`, so one at the end leaves exactly the state
  // that one after every query would.
  if (changed) rebuild(now);
}

void worker_schedule::remove(query_id q) {
  const auto found = index_.find(q);
  if (found == index_.end()) return;
  const std::size_t k = found->second;
  index_.erase(found);
  entry& e = entries_[k];
  if (!e.running) {
    pending_prefill_s_ -= e.prefill_s;
    pending_prefill_tokens_ -= e.lengths.input_tokens;
    if (pending_prefill_s_ < 1e-12 || entries_.size() == 1) pending_prefill_s_ = 0;
    if (pending_prefill_tokens_ < 0.5 || entries_.size() == 1) pending_prefill_tokens_ = 0;
  }
  if (k + 1 != entries_.size()) {
    e = entries_.back();
    index_[e.id] = k;
  }
  entries_.pop_back();
  rebuild(last_now_);
}

void worker_schedule::rebuild(double now) {
  last_now_ = now;
  const std::size_t m = entries_.size();
  sum_base_ = 0;
  sum_base_running_ = 0;
  running_ = 0;
  min_finish_ = kInf;
  min_queued_atgt_ = kInf;
  for (const auto& e : entries_) {
    sum_base_ += e.base;
    if (e.running) {
      ++running_;
      sum_base_running_ += e.base;
      min_finish_ = std::min(min_finish_, e.atgt_finish);
    } else {
      min_queued_atgt_ = std::min(min_queued_atgt_, e.slo.atgt_s * atgt_headroom());
    }
  }

  // The least batch factor the TTFT rule can scale prefills by (schedule_summary::
  // prefill_factor_floor): worked out here, once per change, not per question.
  prefill_factor_floor_ = prefill_sum_factor();
  if (options_.chunk_tokens > 0)
    for (int k = 1; k <= queued() + 1; ++k)
      prefill_factor_floor_ = std::min(prefill_factor_floor_, shape_->prefill_batch_factor(k));

  // KV profile over entries sorted by predicted finish.
  order_.resize(m);
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  std::sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
    if (entries_[a].finish != entries_[b].finish) return entries_[a].finish < entries_[b].finish;
    return entries_[a].id < entries_[b].id;
  });
  finish_sorted_.resize(m);
  suffix_base_.resize(m + 1);
  suffix_peak_max_.resize(m + 1);
  prefix_peak_plus_finish_max_.resize(m);
  suffix_base_[m] = 0;
  suffix_peak_max_[m] = -kInf;
  for (std::size_t k = m; k-- > 0;) {
    const entry& e = entries_[order_[k]];
    finish_sorted_[k] = e.finish;
    suffix_base_[k] = suffix_base_[k + 1] + e.base;
    // Just before entry k ends, it and every later-ending entry hold base + finish_k tokens.
    const double peak_k = suffix_base_[k] + static_cast<double>(m - k) * e.finish;
    suffix_peak_max_[k] = std::max(suffix_peak_max_[k + 1], peak_k);
  }
  double running_max = -kInf;
  for (std::size_t k = 0; k < m; ++k) {
    const double peak_k = suffix_base_[k] + static_cast<double>(m - k) * finish_sorted_[k];
    running_max = std::max(running_max, peak_k + finish_sorted_[k]);
    prefix_peak_plus_finish_max_[k] = running_max;
  }
  peak_kv_ = m == 0 ? 0 : suffix_peak_max_[0];

  // ATGT bounds over running entries whose budget can still be met at the current iteration
  // time. A query already past saving is left out: refusing new work would not save it, and
  // would idle the worker until it ends.
  const double t_now = iteration_s();
  min_anchor_ = kInf;
  max_remaining_ = 0;
  least_slack_ = kInf;
  least_slack_anchor_ = 0;
  least_slack_remaining_ = 0;
  least_slack_stall_tokens_ = 0;
  // Queued budgets, in prefill order.
  queued_ttft_anchor_ = kInf;
  has_queued_budgets_ = false;
  order_.clear();
  for (std::size_t k = 0; k < m; ++k)
    if (!entries_[k].running) order_.push_back(k);
  std::sort(order_.begin(), order_.end(),
            [&](std::size_t a, std::size_t b) { return entries_[a].seq < entries_[b].seq; });
  {
    const double in_flight = running_ > 0 ? t_now : 0.0;
    // Prefill sums as the batch they will run in, with one more prompt (the one a check asks
    // about) joining it.
    const double batch = prefill_sum_factor();
    const bool chunked = options_.chunk_tokens > 0;
    const double chunk_stall = chunked ? chunk_stall_s() : 0.0;
    double ahead_s = 0, ahead_tokens = 0, behind = pending_prefill_s_;
    int ahead_prompts = 0;
    for (const std::size_t k : order_) {
      entry& e = entries_[k];
      ahead_s += e.prefill_s;
      ahead_tokens += e.lengths.input_tokens;
      ++ahead_prompts;
      behind -= e.prefill_s;
      const double to_first_token =
          chunked ? chunked_first_token_s(*shape_, options_.chunk_tokens, running_,
                                          running_context_tokens(), ahead_s,
                                          ahead_tokens, ahead_prompts)
                  : ahead_s * batch;
      const double ttft_anchor = e.arrival_s + e.slo.ttft_s * ttft_headroom() - to_first_token - in_flight;
      const double budget = e.slo.atgt_s * atgt_headroom() * e.queued_decodes;
      // The prompts queued behind it stall its decodes once it has its first token (one chunk
      // per token at most when chunked).
      const double stalled = std::max(0.0, behind) * batch;
      const double room = chunked ? e.queued_stall_decodes * chunk_stall : kInf;
      e.queued_slack_s = budget - std::min(stalled, room);
      e.queued_stall_room_s = std::max(0.0, room - std::min(stalled, room));
      // Past saving on either count: not a reason to refuse new work (as a doomed running one).
      const bool decodes = e.queued_decodes > 0;  // a one-token answer has no ATGT
      e.doomed = ttft_anchor < now || (decodes && e.queued_slack_s - e.queued_decodes * t_now < 0);
      e.queued_ttft_anchor_s = ttft_anchor;
      if (e.doomed) continue;
      has_queued_budgets_ = true;
      queued_ttft_anchor_ = std::min(queued_ttft_anchor_, ttft_anchor);
    }
  }

  for (auto& e : entries_) {
    if (!e.running) continue;
    e.budget_anchor = e.first_token_s + e.slo.atgt_s * atgt_headroom() * e.budget_tokens;
    const double remaining = e.atgt_finish - iteration_;
    const double slack = e.budget_anchor - now - remaining * t_now;
    e.doomed = slack < 0;
    if (e.doomed) continue;
    min_anchor_ = std::min(min_anchor_, e.budget_anchor);
    max_remaining_ = std::max(max_remaining_, remaining);
    if (slack < least_slack_) {
      least_slack_ = slack;
      least_slack_anchor_ = e.budget_anchor;
      least_slack_remaining_ = remaining;
      least_slack_stall_tokens_ = e.stall_finish - iteration_;
    }
  }
}

schedule_summary worker_schedule::summary() const {
  schedule_summary s;
  s.shape = shape_;
  s.entries = static_cast<int>(entries_.size());
  s.running = running_;
  s.sum_context_tokens = kv_used_tokens();
  s.iteration_s = iteration_s();
  s.pending_prefill_s = pending_prefill_s_;
  s.prefill_batch_factor = prefill_sum_factor();
  s.prefill_factor_floor = prefill_factor_floor_;
  s.chunk_tokens = options_.chunk_tokens;
  s.pending_prefill_tokens = pending_prefill_tokens_;
  s.chunk_stall_s = options_.chunk_tokens > 0 ? chunk_stall_s() : 0.0;
  s.min_queued_atgt_s = min_queued_atgt_;
  s.peak_kv_tokens = peak_kv_;
  s.kv_capacity_tokens = shape_->profile.kv.capacity_tokens * options_.kv_headroom;
  s.has_budget_probe = min_anchor_ != kInf;
  s.probe_anchor = least_slack_anchor_;
  s.probe_remaining = least_slack_remaining_;
  s.probe_stall_tokens = least_slack_stall_tokens_;
  return s;
}

double worker_schedule::peak_with(double base_q, double finish_q) const {
  const std::size_t m = finish_sorted_.size();
  if (m == 0) return base_q + finish_q;
  const std::size_t k =
      static_cast<std::size_t>(std::lower_bound(finish_sorted_.begin(), finish_sorted_.end(),
                                                finish_q) -
                               finish_sorted_.begin());
  double peak = -kInf;
  // Entries ending before q: their peaks now also carry q's context at that moment.
  if (k > 0) peak = prefix_peak_plus_finish_max_[k - 1] + base_q;
  // Just before q ends: q plus everything still running.
  peak = std::max(peak, suffix_base_[k] + static_cast<double>(m - k) * finish_q + base_q +
                            finish_q);
  // After q has ended, nothing changes for the rest.
  peak = std::max(peak, suffix_peak_max_[k]);
  return peak;
}

double worker_schedule::prefill_sum_factor() const {
  if (options_.chunk_tokens <= 0) return batch_factor_with_one_more();
  // The queued prompts and one more of their mean size, as they share iterations.
  const int prompts = queued() + 1;
  if (prompts < 2) return 1;
  const double tokens = pending_prefill_tokens_ * prompts / (prompts - 1);
  return shape_->prefill_batch_factor(prompts_per_chunked_iteration(
      chunk_prefill_tokens(options_.chunk_tokens, running_), tokens, prompts));
}

bool worker_schedule::atgt_budgets_hold(double t_new, double stall_s, double now) const {
  if (min_anchor_ == kInf) return true;  // nothing running that can still be saved
  // Sufficient: the smallest budget against the longest remaining life, each suffering the
  // whole stall (never less than its capped share).
  if (min_anchor_ - now - max_remaining_ * t_new - stall_s >= 0) return true;
  // Necessary: the entry with least slack today.
  if (least_slack_anchor_ - now - least_slack_remaining_ * t_new -
          capped_stall_s(stall_s, least_slack_stall_tokens_) < 0)
    return false;
  for (const auto& e : entries_) {
    if (!e.running || e.doomed) continue;
    const double remaining = e.atgt_finish - iteration_;
    if (e.budget_anchor - now - remaining * t_new - capped_stall_s(stall_s, e.stall_finish - iteration_) < 0)
      return false;
  }
  return true;
}

reject_reason worker_schedule::queued_budgets_hold(double t_new, double ttft_delay_q,
                                                  double prefill_q, double now) const {
  if (!has_queued_budgets_) return reject_reason::none;
  // The least TTFT anchor holding is enough for all of them; otherwise look at each, leaving
  // out those whose first token is lost by now.
  const bool ttft_holds = queued_ttft_anchor_ - now - ttft_delay_q >= 0;
  const bool chunked = options_.chunk_tokens > 0;
  for (const auto& e : entries_) {
    if (e.running || e.doomed) continue;
    if (!ttft_holds && e.queued_ttft_anchor_s >= now &&
        e.queued_ttft_anchor_s - now - ttft_delay_q < 0)
      return reject_reason::ttft;
    const double stall = chunked ? std::min(prefill_q, e.queued_stall_room_s) : prefill_q;
    if (e.queued_decodes > 0 && e.queued_slack_s - e.queued_decodes * t_new - stall < 0)
      return reject_reason::atgt;
  }
  return reject_reason::none;
}

fit_result worker_schedule::evaluate(const query_request& q, double now) const {
  fit_result r;
  const query_bounds bounds(q, now, options_);
  const double in = bounds.input_tokens;
  const double prefill_q = prefill_one_s(in);
  const auto m = static_cast<double>(entries_.size());
  // The TTFT rule and the stalls are the summary's (schedule_summary::first_token_s, stall_s),
  // so that screening and evaluation can never disagree on them.
  const schedule_summary s = summary();

  r.predicted_ttft_s = bounds.waited_s + s.first_token_s(bounds, prefill_q);
  if (r.predicted_ttft_s > bounds.ttft_limit_on(shape_->margin)) {
    r.reason = reject_reason::ttft;
    return r;
  }

  const double t_new = decode_s(sum_base_ + m * iteration_ + in, m + 1);
  r.predicted_iteration_s = t_new;
  const double limit = bounds.iteration_limit_s(shape_->margin, min_queued_atgt_);
  if (t_new > limit) {
    r.reason = reject_reason::atgt;
    return r;
  }

  const double capacity = shape_->profile.kv.capacity_tokens * options_.kv_headroom;
  r.predicted_peak_kv_tokens = peak_with(in - iteration_, iteration_ + bounds.expected_output_tokens);
  if (r.predicted_peak_kv_tokens > capacity) {
    r.reason = reject_reason::kv;
    return r;
  }

  // Running queries absorb the prefills ahead of them and q's own.
  const double batch = s.prefill_batch_factor;
  if (running_ > 0 && !atgt_budgets_hold(t_new, (pending_prefill_s_ + prefill_q) * batch, now)) {
    r.reason = reject_reason::atgt;
    return r;
  }

  // Queries still waiting for their prefill absorb q's, in their TTFT and in their decodes.
  // Chunked, q delays a first token ahead of it by the chunk of q that shares its last
  // iteration at most.
  const double ttft_delay =
      options_.chunk_tokens > 0
          ? prefill_one_s(std::min(in, chunk_prefill_tokens(options_.chunk_tokens, running_))) * batch
          : prefill_q * batch;
  if (const reject_reason queued = queued_budgets_hold(t_new, ttft_delay, prefill_q * batch, now);
      queued != reject_reason::none) {
    r.reason = queued;
    return r;
  }

  r.feasible = true;
  r.tightness = std::max(capacity > 0 ? r.predicted_peak_kv_tokens / capacity : 1.0,
                         t_new / limit);
  return r;
}

}  // namespace aladdin
