#pragma once
// The predicted schedule of one worker: the queries it holds, their predicted lengths, and what
// the latency model says about TTFT, ATGT and KV if one more query joins. This is the state of
// the "per-worker placement" component; it is kept incrementally (assign, first token, decode
// progress, completion) and answers `evaluate` in O(log n) in the common case.
//
// Time model. Decode progress is counted in decode iterations: every running query gains one
// token per iteration. A query's context at absolute iteration x is base + x, and it is expected
// to finish at iteration `finish`; both stay constant while the worker decodes normally, so
// progress costs O(1) (`advance_decode`) and only arrivals, completions and re-predictions
// rebuild the derived arrays.
//
// Constraints checked for a new query q (prefill-prioritised engine, as vLLM's default):
//   TTFT  (now − arrival) + one decode iteration + queued prefills + prefill(q) ≤ SLO_ttft(q)
//   ATGT  for every running query j: its decode time budget left, slo_j·(L_j − 1) − elapsed_j,
//         covers the prefill stalls (queued prefills + prefill(q)) plus its remaining tokens at
//         the new iteration time t' = t_dec(batch + q); and t' ≤ slo of every queued query and q
//   queued for every query j still waiting for its prefill: prefill(q) fits both in what is
//         left of j's TTFT (q may join j's prefill batch) and in j's decode budget less the
//         prefills queued behind it (q may run right after j's first token)
//   KV    the predicted peak, over the future, of Σ context of all queries + q ≤ capacity,
//         where each query grows one token per iteration and frees its KV at its predicted end
// Tightness (for best fit) is the most loaded dimension after adding q: max(peak KV / capacity,
// t' / tightest ATGT SLO).
//
// Chunked prefill (schedule_options::chunk_tokens = B > 0), as src/sim/engine runs it. With d
// queries decoding, an iteration prefills c = B − d prompt tokens beside the d decodes, so:
//   TTFT  the prompts queued ahead and q's own, T tokens in all, take n = ⌈T / c⌉ iterations;
//         each is also a decode step of the batch (its cost less the per-pass overhead the two
//         halves share), and each chunk beyond a prompt's first pays one more pass
//         (chunked_first_token_s).
//   ATGT  a running query j is stalled by at most one chunk per token it has still to come:
//         min(queued prefills + prefill(q), r_j · prefill(c)), not the whole sum. Its budget is
//         planned with a low quantile of its remaining length (a short life suffers a stall
//         most) but the cap with a high one (kStallLengthQuantile): a query assumed to end soon
//         and then living on would be stalled by every chunk; only one that surely ends first
//         is spared the rest.
//   queued q placed behind a waiting query j delays j's first token by at most the chunk of q
//         that shares j's last iteration, prefill(min(l_q, c)); j's decodes after its first
//         token are stalled by the prompts behind it as a running query's are (capped).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/calibration.hpp"
#include "model/latency_model.hpp"
#include "placement/length_source.hpp"
#include "placement/types.hpp"

namespace aladdin {

struct schedule_options {
  // Fractions of each SLO the model may plan to use; the rest absorbs what the model cannot
  // see: per-iteration jitter, the fit's error (prefill MAPE up to ~9% on the A100 data) and
  // prefill batches that form behind a query. Chosen on the built-in synthetic workload (see
  // README: "Choosing aladdin's margins"), not on the trace it is evaluated on.
  double ttft_headroom = 0.9;
  double atgt_headroom = 0.9;
  double kv_headroom = 1.0;
  // ATGT budgets are checked against this quantile of each running query's remaining length
  // (the KV peak uses the mean). A prefill stall is spread over the tokens still to come, so a
  // query that ends sooner than expected suffers it most: planning with a low quantile protects
  // the queries that turn out short. Outside (0, 1) the mean is used.
  double atgt_length_quantile = 0.2;
  // The engine's batching. 0: prefill-first (vLLM v0's default) — a prefill batch runs alone
  // and stalls every running decode for its whole length. > 0: chunked prefill with this token
  // budget per iteration (vLLM's default since 0.6 and in V1): every iteration decodes one
  // token of each running query first and spends the rest of the budget on prompt chunks, FCFS.
  // See "Chunked prefill" below for what that changes in the checks.
  int chunk_tokens = 0;
};

// A worker shape as the workers of that shape share it: the fitted profile and its online
// calibration. Owned by whoever owns the schedules (the cluster state); one per shape, so the
// coefficients stay in cache while a policy screens thousands of workers.
// What the workers of a shape do. A decode-only worker (split serving's decode pool) receives
// its queries prefilled, KV cache and first token included: no prefill runs there, so none
// stalls its decodes and none delays a query's start.
enum class worker_role : std::uint8_t { unified, decode_only };

// Online corrections of the planning margins of one shape, from the SLO outcomes of the queries
// placed on it (placement/slo_feedback.hpp): each multiplies the configured headroom. 1 leaves
// it as configured.
struct slo_margin {
  double ttft = 1;
  double atgt = 1;
  friend bool operator==(const slo_margin&, const slo_margin&) = default;
};

struct worker_shape_model {
  worker_profile profile;
  latency_calibration calibration;
  worker_role role = worker_role::unified;
  slo_margin margin;  // set through cluster_state::set_margin, which rebuilds the schedules

  double prefill_one_s(double tokens) const {
    if (role == worker_role::decode_only) return 0;
    return profile.prefill.time_one(tokens) * calibration.prefill_factor(tokens);
  }
  // Prompts that wait together are prefilled as one batch: its time over the sum of theirs.
  double prefill_batch_factor(int prompts) const {
    return prompts < 2 ? 1.0 : calibration.prefill_batch_factor(prompts);
  }
  double decode_s(double context, double batch) const {
    return profile.decode.time(context, batch) * calibration.decode_factor(batch);
  }
  // What a forward pass costs whatever its work (weights read, kernels launched): a decode of one
  // sequence with no context. A chunked iteration pays it once for both halves.
  double pass_overhead_s() const { return decode_s(0, 1); }
};

// Chunked prefill: the quantile of a running query's remaining length that caps the stall it is
// planned to suffer (see "Chunked prefill" above). With the true lengths (the oracle) every
// quantile is the length itself.
inline constexpr double kStallLengthQuantile = 0.95;

// Chunked prefill: prompt tokens one iteration prefills beside `running` decodes (at least one).
inline double chunk_prefill_tokens(int chunk_tokens, int running) {
  return std::max(1.0, static_cast<double>(chunk_tokens - running));
}
// Prompts that share a chunked iteration are prefilled as one batch: on average per_iteration /
// (tokens / prompts) of them, at least one, at most all.
inline int prompts_per_chunked_iteration(double per_iteration, double tokens, int prompts) {
  if (!(tokens > 0) || prompts < 2) return 1;
  return static_cast<int>(
      std::clamp(std::ceil(per_iteration * prompts / tokens), 1.0, static_cast<double>(prompts)));
}

// Chunked prefill: the time from now until the last of `prompts` queued prompts — `tokens`
// prompt tokens whose prefills, each alone, add up to `sum_prompt_s` — has its first token, on
// a worker decoding `running` queries that hold `running_context` tokens, under a token budget of
// `chunk_tokens` per iteration (see "Chunked prefill" above). The prompts ahead of the last join
// the decode batch as their prefills end, so on average half of them decode beside its chunks.
// The one rule worker_schedule::evaluate and schedule_summary::screen (and the queued budgets)
// share.
inline double chunked_first_token_s(const worker_shape_model& shape, int chunk_tokens, int running,
                                    double running_context, double sum_prompt_s, double tokens,
                                    int prompts) {
  if (!(tokens > 0) || prompts < 1) return 0;
  const double joining = 0.5 * (prompts - 1);
  const double decoding = running + joining;
  const double per_iteration = std::max(1.0, chunk_tokens - decoding);
  const double iterations = std::ceil(tokens / per_iteration);
  const int together = prompts_per_chunked_iteration(per_iteration, tokens, prompts);
  const double context = running_context + tokens * joining / prompts;
  const double decode_half =
      decoding > 0 ? std::max(0.0, shape.decode_s(context, decoding) - shape.pass_overhead_s()) : 0.0;
  return sum_prompt_s * shape.prefill_batch_factor(together) +
         (iterations - 1) * std::max(0.0, shape.prefill_one_s(0)) + iterations * decode_half;
}

// A new query as the model's checks see it: what depends only on the query, the time and the
// options, worked out once (a policy screens thousands of workers with one). Both
// worker_schedule::evaluate and schedule_summary::screen check a query through it.
struct query_bounds {
  query_bounds(const query_request& q, double now, const schedule_options& options)
      : input_tokens(q.input_tokens),
        expected_output_tokens(std::max(1.0, q.expected_output_tokens)),
        waited_s(std::max(0.0, now - q.arrival_s)),
        ttft_limit_s(q.slo.ttft_s * options.ttft_headroom),
        atgt_limit_s(q.slo.atgt_s * options.atgt_headroom),
        now_s(now) {}

  double input_tokens;
  double expected_output_tokens;  // what its KV footprint is planned with (≥ 1)
  double waited_s;                // since its arrival
  double ttft_limit_s;            // its TTFT SLO after headroom
  double atgt_limit_s;            // its ATGT SLO after headroom
  double now_s;

  // Its limits on a worker of a shape, whose learnt margin scales the headroom.
  double ttft_limit_on(const slo_margin& m) const { return ttft_limit_s * m.ttft; }
  // The decode iteration once it is in the batch must suit every queued query and itself.
  double iteration_limit_s(const slo_margin& m, double min_queued_atgt_s) const {
    return std::min(atgt_limit_s * m.atgt, min_queued_atgt_s);
  }
};

// What a worker's summary alone says about a new query (schedule_summary::screen). A worker
// the screen rejects, evaluate rejects too; for one it passes, evaluate's tightness lies in
// [low, high].
struct screen_result {
  reject_reason reason = reject_reason::none;  // none: passed, evaluate decides
  double low = 0;   // tightness after adding the query is at least this
  double high = 0;  // and at most this
  bool passed() const { return reason == reject_reason::none; }
};

// The few numbers a policy needs to screen a worker without walking its queries: enough to
// decide TTFT and the decode-rate limit exactly, and to bound the tightness after a new query.
struct schedule_summary {
  const worker_shape_model* shape = nullptr;
  int entries = 0;                 // queued + running
  int running = 0;
  double sum_context_tokens = 0;   // held now
  double iteration_s = 0;          // decode iteration of the current batch
  double pending_prefill_s = 0;    // Σ of the queued prompts' prefills, each alone
  // The batch factor once one more prompt joins the queue (worker_shape_model): every prefill
  // sum the checks use is scaled by it.
  double prefill_batch_factor = 1;
  double min_queued_atgt_s = 0;    // tightest ATGT limit among queued queries (∞: none)
  double peak_kv_tokens = 0;       // predicted future peak without a new query
  double kv_capacity_tokens = 0;   // after headroom
  // The least batch factor first_token_s scales the prefills with, whatever the new query: a
  // lower bound for indexes over many workers (headroom_index). Prefill-first: exactly
  // prefill_batch_factor; chunked: the least factor of any number of the queued prompts and one
  // more sharing an iteration.
  double prefill_factor_floor = 1;
  // Chunked prefill (0: prefill-first): the budget, the queued prompts' tokens, and what one
  // iteration's chunk can stall a running decode by at most.
  int chunk_tokens = 0;
  double pending_prefill_tokens = 0;
  double chunk_stall_s = 0;
  // The running query with the least ATGT slack at today's iteration time: a query that would
  // break its budget fails the worker without a look at the others (a necessary condition).
  bool has_budget_probe = false;
  double probe_anchor = 0;         // its decode time budget ends here
  double probe_remaining = 0;      // its tokens still to come (at the ATGT length quantile)
  double probe_stall_tokens = 0;   // chunked: the tokens its stall is capped by (high quantile)

  double prefill_one_s(double tokens) const { return shape->prefill_one_s(tokens); }
  double decode_s(double context, double batch) const { return shape->decode_s(context, batch); }
  // q's predicted time to first token beyond what it has waited (TTFT = q.waited_s + this).
  double first_token_s(const query_bounds& q, double prefill_s) const {
    if (chunk_tokens > 0)
      return (running > 0 ? iteration_s : 0.0) +
             chunked_first_token_s(*shape, chunk_tokens, running,
                                   sum_context_tokens - pending_prefill_tokens,
                                   pending_prefill_s + prefill_s,
                                   pending_prefill_tokens + q.input_tokens, entries - running + 1);
    // Prefill-first: the decode iteration in flight, the prefills queued ahead and its own, as
    // one batch.
    return (running > 0 ? iteration_s : 0.0) + (pending_prefill_s + prefill_s) * prefill_batch_factor;
  }
  // The stall q's prefill and those queued ahead put on a running query that surely ends
  // within `stall_tokens` tokens.
  double stall_s(double prefill_s, double stall_tokens) const {
    return capped_stall_s((pending_prefill_s + prefill_s) * prefill_batch_factor, stall_tokens);
  }
  // A stall of `all` seconds of prefill as such a query suffers it: all of it under
  // prefill-first, one chunk per token at most under chunked prefill.
  double capped_stall_s(double all, double stall_tokens) const {
    return chunk_tokens > 0 ? std::min(all, stall_tokens * chunk_stall_s) : all;
  }

  // The constraints of evaluate that these numbers decide: TTFT and the decode-rate limit
  // exactly, the KV footprint of q alone, and the ATGT budget of the running query with least
  // slack (a necessary condition); then bounds on the tightness: from below, the exact latency
  // part and today's KV peak; from above, q can raise the KV peak by at most its own footprint.
  // `q` must come from the options the schedule was built with; `prefill_s` is q's prefill on
  // this shape, prefill_one_s(q.input_tokens), which a caller screening many workers of one
  // shape computes once.
  screen_result screen(const query_bounds& q, double prefill_s) const;
};

inline screen_result schedule_summary::screen(const query_bounds& q, double prefill_s) const {
  screen_result r;
  const double in = q.input_tokens, expected = q.expected_output_tokens;
  if (q.waited_s + first_token_s(q, prefill_s) > q.ttft_limit_on(shape->margin)) {
    r.reason = reject_reason::ttft;
    return r;
  }
  const double t_new = decode_s(sum_context_tokens + in, entries + 1.0);
  const double limit = q.iteration_limit_s(shape->margin, min_queued_atgt_s);
  if (t_new > limit) {
    r.reason = reject_reason::atgt;
    return r;
  }
  if (in + expected > kv_capacity_tokens) {
    r.reason = reject_reason::kv;
    return r;
  }
  // The running query with least slack could not absorb q's stall.
  if (has_budget_probe &&
      probe_anchor - q.now_s - probe_remaining * t_new - stall_s(prefill_s, probe_stall_tokens) < 0) {
    r.reason = reject_reason::atgt;
    return r;
  }
  const double latency = t_new / limit;
  r.low = std::max(latency, std::max(peak_kv_tokens, in + expected) / kv_capacity_tokens);
  r.high = std::max(latency, (peak_kv_tokens + in + expected) / kv_capacity_tokens);
  return r;
}

struct fit_result {
  bool feasible = false;
  reject_reason reason = reject_reason::none;  // the first constraint that failed
  double tightness = 0;                        // in [0, 1+] after adding the query
  double predicted_ttft_s = 0;
  double predicted_iteration_s = 0;            // t' with the query in the batch
  double predicted_peak_kv_tokens = 0;
  friend bool operator==(const fit_result&, const fit_result&) = default;
};

class worker_schedule {
 public:
  // The shape (not owned) must outlive the schedule; its calibration corrects the profile's
  // predictions online.
  worker_schedule(const worker_shape_model* shape, const length_source* lengths,
                  schedule_options options = {});
  // A schedule with a shape of its own (tests, tools).
  worker_schedule(worker_profile profile, const length_source* lengths,
                  schedule_options options = {});

  // --- lifecycle, driven by what the worker reports -----------------------------------------
  // Every call costs O(1) to find its query (entries are indexed by id) plus, when something
  // changed, one rebuild of the derived arrays (O(n log n)).
  // Assigned, waiting for its prefill. A query the schedule already holds is not added again.
  void add_queued(const query_request& q, const query_lengths& lengths, double now);
  // Its prefill ended: the first token is out and it joins the decode batch.
  void start_decoding(query_id q, double now);
  // Every running query produced `iterations` more tokens.
  void advance_decode(int iterations, double now);
  // Resynchronise one running query's progress; a queued one is left alone.
  void set_progress(query_id q, int generated_tokens, double now);
  // A heartbeat: the queries the worker reports running and their progress. Each listed query
  // the schedule holds is resynchronised as set_progress does, after starting to decode if it
  // was still queued (a heartbeat may list a query before its first-token report was handled);
  // unknown ids are ignored. One rebuild for the whole batch, none when no listed id is held.
  // The result is exactly that of start_decoding + set_progress per listed query, in order.
  void apply_progress(std::span<const progress_report> running, double now);
  // Finished, failed or moved elsewhere.
  void remove(query_id q);

  // The shape's margin changed (cluster_state::set_margin): budgets are worked out again.
  void refresh_margin() { rebuild(last_now_); }

  // --- questions placement asks ---------------------------------------------------------------
  fit_result evaluate(const query_request& q, double now) const;
  schedule_summary summary() const;

  // --- summary read by every policy -----------------------------------------------------------
  int outstanding() const { return static_cast<int>(entries_.size()); }
  int running() const { return running_; }
  int queued() const { return static_cast<int>(entries_.size()) - running_; }
  double kv_used_tokens() const;        // context held now (queued prompts included)
  double kv_capacity_tokens() const { return shape_->profile.kv.capacity_tokens; }
  double predicted_peak_kv_tokens() const { return peak_kv_; }
  double pending_prefill_s() const { return pending_prefill_s_; }
  double iteration_s() const;           // decode iteration time of the current batch
  double running_context_tokens() const { return sum_base_running_ + running_ * iteration_; }
  bool holds(query_id q) const;
  const worker_profile& profile() const { return shape_->profile; }

 private:
  struct entry {
    query_id id;
    query_lengths lengths;
    slo_target slo;
    double arrival_s = 0;
    bool running = false;
    double prefill_s = 0;      // predicted prefill time (while queued)
    double base = 0;           // context at iteration x is base + x
    double finish = 0;         // predicted iteration of the last token (mean length: KV)
    double atgt_finish = 0;    // the same at the ATGT length quantile (≤ finish)
    double stall_finish = 0;   // chunked: at kStallLengthQuantile (≥ atgt_finish), caps stalls
    double first_token_s = 0;  // running only
    double budget_tokens = 0;  // L − 1 at the ATGT length quantile (running only)
    double budget_anchor = 0;  // slo·(L − 1) + first_token_s: decode time budget ends here
    bool doomed = false;       // its ATGT is lost already: not a reason to refuse new work
    std::uint64_t seq = 0;     // order of assignment: prefills run first come first served
    // Queued only: the decode time budget it will have after its first token, less the
    // prefills already queued behind it (each stalls its decodes or, batched with it, delays
    // its first token), and the decode iterations it is planned to need (ATGT quantile).
    double queued_slack_s = 0;
    double queued_decodes = 0;
    double queued_stall_decodes = 0;  // chunked: the same at kStallLengthQuantile
    double queued_ttft_anchor_s = 0;  // its first token is due by then (after headroom)
    double queued_stall_room_s = 0;   // chunked: what more its decodes can be stalled by at most
  };

  entry* find(query_id q);
  const entry* find(query_id q) const;
  // The state changes of start_decoding and set_progress, without the rebuild.
  void begin_decoding(entry& e, double now);
  void resync(entry& e, int generated_tokens);
  void repredict(entry& e, double generated);
  // The tokens still to come that ATGT budgets are planned with: the ATGT length quantile of
  // the remaining length (at most `mean`, the expectation; `mean` itself outside (0, 1)).
  double atgt_length(const query_lengths& q, int generated, double mean) const;
  // The tokens still to come that cap a chunked stall: kStallLengthQuantile of the remaining
  // length, at least `mean`.
  double stall_length(const query_lengths& q, int generated, double mean) const;
  void rebuild(double now);
  int generated_of(const entry& e) const;
  double peak_with(double base_q, double finish_q) const;
  // Running queries can absorb a stall of `stall_s` seconds of prefill (each as much of it as
  // it would suffer: capped_stall_s) at the new iteration time t_new.
  bool atgt_budgets_hold(double t_new, double stall_s, double now) const;
  double capped_stall_s(double all, double stall_tokens) const {
    return options_.chunk_tokens > 0 ? std::min(all, stall_tokens * chunk_stall_s()) : all;
  }
  // Chunked prefill: the most one iteration's chunk adds to a decode step.
  double chunk_stall_s() const {
    return prefill_one_s(chunk_prefill_tokens(options_.chunk_tokens, running_));
  }
  // The batch factor prefill sums are scaled by once one more prompt joins the queue: the
  // whole queue as one batch under prefill-first, the prompts sharing an iteration when chunked.
  double prefill_sum_factor() const;

  double prefill_one_s(double tokens) const;
  double decode_s(double context, double batch) const;
  // The headrooms in force: the configured ones scaled by the shape's learnt margin.
  double ttft_headroom() const { return options_.ttft_headroom * shape_->margin.ttft; }
  // The batch factor of the queued prompts with one more (schedule_summary::prefill_batch_factor).
  double batch_factor_with_one_more() const { return shape_->prefill_batch_factor(queued() + 1); }
  double atgt_headroom() const { return options_.atgt_headroom * shape_->margin.atgt; }

  std::unique_ptr<worker_shape_model> owned_shape_;  // only when constructed from a profile
  const worker_shape_model* shape_;
  const length_source* lengths_;
  schedule_options options_;
  std::vector<entry> entries_;
  std::unordered_map<query_id, std::size_t> index_;  // id → position in entries_
  int running_ = 0;
  double iteration_ = 0;           // absolute decode iterations since the worker started
  double sum_base_ = 0;            // Σ base over all entries
  double sum_base_running_ = 0;    // Σ base over running entries
  double pending_prefill_s_ = 0;   // Σ prefill_s of queued entries
  double pending_prefill_tokens_ = 0;  // Σ prompt tokens of queued entries
  double prefill_factor_floor_ = 1;    // see schedule_summary::prefill_factor_floor
  double min_finish_ = 0;          // earliest predicted finish among running entries
  double min_queued_atgt_ = 0;     // tightest ATGT SLO among queued entries (∞: none)

  // KV profile, over entries sorted by finish: suffix sums of base, suffix max of the peak
  // reached just before each finish, and prefix max of (that peak + finish).
  std::vector<double> finish_sorted_;
  std::vector<double> suffix_base_;
  std::vector<double> suffix_peak_max_;
  std::vector<double> prefix_peak_plus_finish_max_;
  double peak_kv_ = 0;

  // ATGT bounds over running entries: each must keep anchor − now − remaining·t' − stall ≥ 0.
  // The least anchor against the longest remaining life is a cheap sufficient test; the entry
  // with least slack at today's iteration time is a cheap necessary one; only in between does
  // evaluate walk the entries.
  double min_anchor_ = 0;
  double max_remaining_ = 0;
  double least_slack_ = 0;
  double least_slack_anchor_ = 0;
  double least_slack_remaining_ = 0;
  double least_slack_stall_tokens_ = 0;
  double last_now_ = 0;
  std::vector<std::size_t> order_;  // scratch for rebuild
  std::uint64_t next_seq_ = 0;

  // Queued queries (waiting for their prefill) have budgets too: a prefill placed behind one
  // either joins its prefill batch (its first token comes later: TTFT) or runs right after it
  // (its first decodes stall: ATGT). Which of the two happens depends on when the engine
  // schedules, so a new query must fit in both. Per queued query that can still be saved:
  //   TTFT: arrival + SLO_ttft·h − prefills up to and including its own (− the decode
  //         iteration in flight) ≥ now + prefill(q)
  //   ATGT: queued_slack − queued_decodes · t' ≥ prefill(q)
  double queued_ttft_anchor_ = 0;   // least of the TTFT anchors (∞: none)
  bool has_queued_budgets_ = false;
  // none, or the constraint of a queued query that q would break.
  // `ttft_delay_q`: what q's prefill delays a query queued ahead of it; `prefill_q`: q's
  // prefill as it stalls decodes.
  reject_reason queued_budgets_hold(double t_new, double ttft_delay_q, double prefill_q,
                                    double now) const;
};

}  // namespace aladdin
