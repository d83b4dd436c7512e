#include "placement/placement_desk.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "placement/registry.hpp"

namespace aladdin {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

placement_desk::placement_desk(desk_options options)
    : options_(std::move(options)),
      predictor_(options_.predictor),
      random_(options_.seed),
      feedback_(options_.feedback) {
  const policy_info* info = find_policy(options_.policy);
  if (info == nullptr)
    throw std::invalid_argument("unknown policy '" + options_.policy + "' (known: " + policy_names() + ")");
  if (info->uses_true_lengths && !options_.allow_true_lengths)
    throw std::invalid_argument("policy '" + options_.policy +
                                "' needs true output lengths, which a live node never knows");
  true_lengths_ = info->uses_true_lengths;
  if (true_lengths_)
    lengths_ = std::make_unique<true_lengths>();
  else
    lengths_ = std::make_unique<predicted_lengths>(predictor_);
  cluster_ = std::make_unique<cluster_state>(lengths_.get(), options_.schedule);
  policy_ = make_policy(options_.policy, options_.policy_options);
}

const worker_slot* placement_desk::slot_of(worker_id worker) const {
  const auto it = slot_of_.find(worker);
  return it == slot_of_.end() ? nullptr : &it->second;
}

bool placement_desk::add_worker(worker_id worker, worker_profile profile, worker_role role,
                                std::optional<int> chunk_tokens) {
  if (slot_of_.count(worker) != 0) return false;
  const worker_slot slot = cluster_->add_worker(std::move(profile), role, chunk_tokens);
  slot_of_.emplace(worker, slot);
  if (id_of_.size() <= slot.value) id_of_.resize(slot.value + 1);
  id_of_[slot.value] = worker;
  return true;
}

void placement_desk::drain_worker(worker_id worker) {
  if (const worker_slot* w = slot_of(worker)) cluster_->drain(*w);
}

void placement_desk::remove_worker(worker_id worker) {
  const worker_slot* w = slot_of(worker);
  if (w == nullptr) return;
  cluster_->remove_worker(*w);
  slot_of_.erase(worker);
  // What it held is the caller's to re-place or fail: no outcome will come back from here.
  std::erase_if(placed_, [&](const auto& entry) { return entry.second.worker == worker; });
}

bool placement_desk::has_worker(worker_id worker) const { return slot_of(worker) != nullptr; }

std::vector<query_id> placement_desk::drop_waiting() {
  std::vector<query_id> out;
  out.reserve(waiting_.size());
  for (const auto& w : waiting_) out.push_back(w.query.id);
  waiting_.clear();
  return out;
}

const schedule_summary* placement_desk::summary_of(worker_id worker) const {
  const worker_slot* w = slot_of(worker);
  return w == nullptr ? nullptr : &cluster_->summary(*w);
}

int placement_desk::outstanding(worker_id worker) const {
  const worker_slot* w = slot_of(worker);
  return w == nullptr ? 0 : cluster_->at(*w).outstanding();
}

query_lengths placement_desk::lengths_of(const desk_query& q) const {
  return {q.prompt_tokens, true_lengths_ ? q.true_output_tokens : -1};
}

query_request placement_desk::request_of(const desk_query& d, double now) const {
  query_request q;
  q.id = d.id;
  q.input_tokens = d.prompt_tokens;
  q.arrival_s = d.arrival_s;
  q.slo = d.slo;
  // Its TTFT is lost already: holding it back further would only hurt its ATGT too.
  if (now - d.arrival_s > d.slo.ttft_s) q.slo.ttft_s = kInf;
  q.expected_output_tokens = cluster_->expected_output(lengths_of(d));
  return q;
}

bool placement_desk::fleet_idle() const {
  for (const worker_slot w : cluster_->accepting_workers())
    if (cluster_->summary(w).entries > 0) return false;
  return true;
}

std::optional<worker_slot> placement_desk::soonest_first_token(const query_request& q,
                                                              double now) const {
  // Every other constraint still holds: the same checks with the TTFT SLO lifted.
  query_request relaxed = q;
  relaxed.slo.ttft_s = kInf;
  const query_bounds bounds(relaxed, now, cluster_->options());
  const double waited = std::max(0.0, now - q.arrival_s);
  std::vector<std::pair<double, worker_slot>> soonest;
  const worker_shape_model* shape = nullptr;
  double prefill = 0;
  for (const worker_slot w : cluster_->accepting_workers()) {
    const schedule_summary& s = cluster_->summary(w);
    if (s.shape != shape) {
      shape = s.shape;
      prefill = s.prefill_one_s(q.input_tokens);
    }
    const double ttft = waited + s.first_token_s(bounds, prefill);
    if (ttft > q.slo.ttft_s || !s.screen(bounds, prefill).passed()) continue;
    soonest.push_back({ttft, w});
  }
  std::sort(soonest.begin(), soonest.end());
  for (const auto& [ttft, w] : soonest)
    if (cluster_->at(w).evaluate(relaxed, now).feasible) return w;
  return std::nullopt;
}

bool placement_desk::never_fits(const desk_query& q) const {
  const auto accepting = cluster_->accepting_workers();
  if (accepting.empty()) return false;  // workers may come; nothing is known yet
  for (const worker_slot w : accepting)
    if (static_cast<double>(q.prompt_tokens) < cluster_->at(w).kv_capacity_tokens()) return false;
  return true;
}

void placement_desk::count_refusal(reject_reason r) {
  ++counters_.rejections;
  switch (r) {
    case reject_reason::no_workers: ++counters_.refused_no_workers; break;
    case reject_reason::kv: ++counters_.refused_kv; break;
    case reject_reason::ttft: ++counters_.refused_ttft; break;
    case reject_reason::atgt: ++counters_.refused_atgt; break;
    case reject_reason::none: break;
  }
}

bool placement_desk::try_place(const desk_query& d, double now, bool best_effort,
                               desk_decisions& out, placement_outcome& why,
                               const waiting_query* history) {
  const query_request q = request_of(d, now);
  decision_context ctx{now, &random_};
  placement_outcome chosen = policy_->place(*cluster_, q, ctx);
  bool forced = false, late = false;
  if (!chosen.placed && chosen.reason != reject_reason::no_workers) {
    // A query's TTFT is its own: holding it back at the intake can only make its first token
    // later (a worker's queue is first come first served, so whatever it would wait behind
    // there it waits behind here too, and the clock runs). When a worker refused it for its
    // TTFT alone and still meets the SLO itself as predicted, it goes there now.
    if (const std::optional<worker_slot> w = soonest_first_token(q, now)) {
      chosen = placement_outcome::to(*w);
      late = true;
      ++counters_.late;
    }
  }
  if (!chosen.placed) {
    count_refusal(chosen.reason);
    why = chosen;
    const auto accepting = cluster_->accepting_workers();
    if (!best_effort || accepting.empty()) return false;
    worker_slot least = accepting.front();
    for (const worker_slot w : accepting)
      if (cluster_->summary(w).entries < cluster_->summary(least).entries) least = w;
    chosen = placement_outcome::to(least);
    forced = true;
    ++counters_.forced;
  }
  desk_dispatch placed;
  placed.worker = id_of_[chosen.worker.value];
  placed.query = d.id;
  const double hint = std::max(1.0, std::round(q.expected_output_tokens));
  placed.output_hint = static_cast<std::uint32_t>(std::min(hint, 4294967295.0));
  placed.fit = chosen.fit;
  placed.best_effort = forced;
  placed.ttft_lost = q.slo.ttft_s == kInf && d.slo.ttft_s != kInf;
  placed.late = late;
  if (history != nullptr) {
    placed.refusals = history->refusals;
    placed.last_refusal = history->last;
  }
  if (options_.record_predictions) {
    // A late placement was checked with its TTFT lifted (soonest_first_token): so is its record.
    query_request checked = q;
    if (late) checked.slo.ttft_s = kInf;
    placed.predicted = cluster_->at(chosen.worker).evaluate(checked, now);
    placed.expected_output_tokens = q.expected_output_tokens;
  }
  cluster_->assign(chosen.worker, q, lengths_of(d), now);
  ++counters_.placed;
  placed_[d.id] = {placed.worker, d.arrival_s, d.slo, -1, !forced && !placed.ttft_lost && !late, !forced,
                   history != nullptr, q.expected_output_tokens};
  out.placed.push_back(placed);
  return true;
}

void placement_desk::offer_one(const desk_query& q, double now, bool in_arrival_order,
                               desk_decisions& out) {
  placement_outcome why;
  if (try_place(q, now, false, out, why)) return;
  if (never_fits(q)) {
    ++counters_.never_fit;
    out.refused.push_back({q.id, reject_reason::kv, wait_scope::never_fits, 0});
    return;
  }
  ++counters_.waited;
  if (!in_arrival_order) {
    waiting_.push_back({q, why.reason, 1});
    return;
  }
  const auto at = std::upper_bound(waiting_.begin(), waiting_.end(), q.arrival_s,
                                   [](double a, const waiting_query& w) { return a < w.query.arrival_s; });
  waiting_.insert(at, {q, why.reason, 1});
}

void placement_desk::offer(std::span<const desk_query> batch, double now, desk_decisions& out) {
  for (const auto& q : batch) offer_one(q, now, false, out);
}

void placement_desk::reoffer(std::span<const desk_query> batch, double now, desk_decisions& out) {
  for (const auto& q : batch) offer_one(q, now, true, out);
}

bool placement_desk::withdraw(query_id q) {
  const auto it = std::find_if(waiting_.begin(), waiting_.end(),
                               [&](const waiting_query& w) { return w.query.id == q; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

void placement_desk::retry(double now, desk_decisions& out) {
  // Waiting is (nearly) in arrival order, so the expired ones are at the front.
  while (!waiting_.empty() && now - waiting_.front().query.arrival_s > options_.max_wait_s) {
    const waiting_query& w = waiting_.front();
    out.expired.push_back({w.query.id, w.last, wait_scope::retry, now - w.query.arrival_s});
    waiting_.pop_front();
    ++counters_.expired;
  }
  if (waiting_.empty()) return;
  const std::size_t attempts = std::min(options_.retry_batch, waiting_.size());
  scratch_.clear();
  placement_outcome why;
  for (std::size_t k = 0; k < attempts; ++k) {
    waiting_query w = std::move(waiting_.front());
    waiting_.pop_front();
    if (try_place(w.query, now, false, out, why, &w)) continue;
    w.last = why.reason;
    ++w.refusals;
    scratch_.push_back(std::move(w));
  }
  for (auto it = scratch_.rbegin(); it != scratch_.rend(); ++it) waiting_.push_front(std::move(*it));
  scratch_.clear();
  // Nothing runs anywhere, yet the oldest still does not fit: no completion will ever free room
  // for it, so it goes best effort (one at a time; the next waits for this one's effect).
  if (!waiting_.empty() && fleet_idle() && !cluster_->accepting_workers().empty()) {
    const waiting_query w = waiting_.front();
    waiting_.pop_front();
    try_place(w.query, now, true, out, why, &w);
  }
}

void placement_desk::first_token(worker_id worker, query_id q, double now) {
  if (const worker_slot* w = slot_of(worker)) cluster_->start_decoding(*w, q, now);
  if (const auto it = placed_.find(q); it != placed_.end() && it->second.first_token_s < 0)
    it->second.first_token_s = now;
}

slo_margin placement_desk::margin(worker_id worker) const {
  const worker_slot* w = slot_of(worker);
  return w == nullptr ? slo_margin{} : cluster_->margin(*w);
}

void placement_desk::judge(worker_slot w, worker_id worker, const placed_query& p,
                           int output_tokens, double now) {
  const double first = p.first_token_s >= 0 ? p.first_token_s : now;
  slo_outcome o;
  o.waited = p.waited;
  o.ttft_planned = p.ttft_planned;
  o.ttft_missed = first - p.arrival_s > p.slo.ttft_s;
  o.atgt_planned = p.atgt_planned && output_tokens > 1;
  o.atgt_missed = output_tokens > 1 && (now - first) / (output_tokens - 1) > p.slo.atgt_s;
  ++counters_.judged;
  counters_.ttft_missed += o.ttft_missed;
  counters_.atgt_missed += o.atgt_missed;
  const bool met = !o.ttft_missed && !o.atgt_missed;
  counters_.slo_met += met;
  counters_.length_abs_error_tokens += std::abs(p.expected_output_tokens - output_tokens);
  recent_.push_back(met);
  counters_.recent_met += met;
  if (recent_.size() > desk_counters::recent_window) {
    counters_.recent_met -= recent_.front();
    recent_.pop_front();
  }
  counters_.recent_judged = recent_.size();
  const slo_margin m = feedback_.observe(cluster_->shape_of(w), worker, o);
  // Rebuilding every schedule of the shape costs a pass over its queries: the new margin is put
  // in force once it has moved by 2%, a few misses' worth.
  const slo_margin& applied = cluster_->margin(w);
  if (std::abs(m.ttft / applied.ttft - 1) >= 0.02 || std::abs(m.atgt / applied.atgt - 1) >= 0.02)
    cluster_->set_margin(w, m);
}

void placement_desk::progress(worker_id worker, std::span<const progress_report> running, double now) {
  const worker_slot* w = slot_of(worker);
  if (w == nullptr) return;
  // One schedule update; queries listed as running before their firstToken message was handled
  // start decoding here.
  cluster_->apply_progress(*w, running, now);
}

void placement_desk::advance_decode(worker_id worker, int iterations, double now) {
  if (const worker_slot* w = slot_of(worker)) cluster_->advance_decode(*w, iterations, now);
}

void placement_desk::observe_iteration(worker_id worker, int prefill_tokens, int prefill_sequences,
                                       int decode_sequences, double measured_s) {
  if (const worker_slot* w = slot_of(worker))
    cluster_->observe_iteration(*w, prefill_tokens, prefill_sequences, decode_sequences, measured_s);
}

void placement_desk::completed(worker_id worker, query_id q, int prompt_tokens, int output_tokens,
                               double now) {
  const worker_slot* w = slot_of(worker);
  if (w != nullptr) cluster_->complete(*w, q, now);
  if (const auto it = placed_.find(q); it != placed_.end()) {
    if (w != nullptr) judge(*w, worker, it->second, output_tokens, now);
    placed_.erase(it);
  }
  learn_length(prompt_tokens, output_tokens);
}

void placement_desk::learn_length(int prompt_tokens, int output_tokens) {
  if (prompt_tokens > 0 && output_tokens > 0) predictor_.observe(prompt_tokens, output_tokens);
}

void placement_desk::removed(worker_id worker, query_id q, double now) {
  if (const worker_slot* w = slot_of(worker)) cluster_->complete(*w, q, now);
  placed_.erase(q);
}

void placement_desk::adopt(worker_id worker, const desk_query& d, bool running, int generated_tokens,
                           double now) {
  const worker_slot* w = slot_of(worker);
  if (w == nullptr || cluster_->at(*w).holds(d.id)) return;
  const query_request q = request_of(d, now);
  cluster_->assign(*w, q, lengths_of(d), now);
  if (running) {
    cluster_->start_decoding(*w, d.id, now);
    cluster_->set_progress(*w, d.id, std::max(1, generated_tokens), now);
  }
}

}  // namespace aladdin
