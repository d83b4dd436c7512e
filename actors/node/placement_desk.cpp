#include "actors/node/placement_desk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "placement/registry.hpp"

namespace aladdin::node {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

placement_desk::placement_desk(desk_options options)
    : options_(std::move(options)),
      predictor_(options_.predictor),
      lengths_(predictor_),
      cluster_(std::make_unique<cluster_state>(&lengths_, options_.schedule)),
      random_(options_.seed) {
  const policy_info* info = find_policy(options_.policy);
  if (info == nullptr)
    throw std::invalid_argument("unknown policy '" + options_.policy + "' (known: " + policy_names() + ")");
  if (info->uses_true_lengths)
    throw std::invalid_argument("policy '" + options_.policy +
                                "' needs true output lengths, which a live node never knows");
  policy_ = make_policy(options_.policy, {});
}

const worker_slot* placement_desk::cluster_id(std::uint32_t worker) const {
  const auto it = to_cluster_.find(worker);
  return it == to_cluster_.end() ? nullptr : &it->second;
}

bool placement_desk::add_worker(std::uint32_t worker, worker_profile profile) {
  if (to_cluster_.count(worker) != 0) return false;
  const worker_slot id = cluster_->add_worker(std::move(profile));
  to_cluster_.emplace(worker, id);
  if (to_wire_.size() <= id.value) to_wire_.resize(id.value + 1);
  to_wire_[id.value] = worker;
  return true;
}

void placement_desk::drain_worker(std::uint32_t worker) {
  if (const worker_slot* w = cluster_id(worker)) cluster_->drain(*w);
}

void placement_desk::remove_worker(std::uint32_t worker) {
  const worker_slot* w = cluster_id(worker);
  if (w == nullptr) return;
  cluster_->remove_worker(*w);
  to_cluster_.erase(worker);
}

bool placement_desk::has_worker(std::uint32_t worker) const { return cluster_id(worker) != nullptr; }

int placement_desk::outstanding(std::uint32_t worker) const {
  const worker_slot* w = cluster_id(worker);
  return w == nullptr ? 0 : cluster_->at(*w).outstanding();
}

query_request placement_desk::request_of(const ticket& t, double now) const {
  query_request q;
  q.id = t.id;
  q.input_tokens = static_cast<int>(t.prompt_tokens);
  q.arrival_s = t.arrival_s;
  q.slo = t.slo;
  // Its TTFT is lost already: holding it back further would only hurt its ATGT too.
  if (now - t.arrival_s > t.slo.ttft_s) q.slo.ttft_s = kInf;
  q.expected_output_tokens = cluster_->expected_output({q.input_tokens, -1});
  return q;
}

bool placement_desk::fleet_idle() const {
  for (const worker_slot w : cluster_->accepting_workers())
    if (cluster_->summary(w).entries > 0) return false;
  return true;
}

bool placement_desk::try_place(const ticket& t, double now, bool best_effort,
                               std::vector<dispatch>& placed) {
  const query_request q = request_of(t, now);
  decision_context ctx{now, &random_};
  placement_outcome out = policy_->place(*cluster_, q, ctx);
  if (!out.placed) {
    ++counters_.rejections;
    const auto accepting = cluster_->accepting_workers();
    if (!best_effort || accepting.empty()) return false;
    worker_slot least = accepting.front();
    for (const worker_slot w : accepting)
      if (cluster_->summary(w).entries < cluster_->summary(least).entries) least = w;
    out = placement_outcome::to(least);
    ++counters_.forced;
  }
  // Never the client's maxOutputTokens: that is the truth in emulation.
  cluster_->assign(out.worker, q, {q.input_tokens, -1}, now);
  ++counters_.placed;
  const double hint = std::max(1.0, std::round(q.expected_output_tokens));
  placed.push_back({to_wire_[out.worker.value], t,
                    static_cast<std::uint32_t>(std::min(hint, 4294967295.0))});
  return true;
}

void placement_desk::offer(std::vector<ticket>& batch, double now, std::vector<dispatch>& placed) {
  for (auto& t : batch) {
    if (try_place(t, now, false, placed)) continue;
    ++counters_.waited;
    waiting_.push_back(std::move(t));
  }
  batch.clear();
}

void placement_desk::reoffer(std::vector<ticket>& batch, double now, std::vector<dispatch>& placed) {
  for (auto& t : batch) {
    if (try_place(t, now, false, placed)) continue;
    ++counters_.waited;
    const auto at = std::upper_bound(waiting_.begin(), waiting_.end(), t.arrival_s,
                                     [](double a, const ticket& w) { return a < w.arrival_s; });
    waiting_.insert(at, std::move(t));
  }
  batch.clear();
}

void placement_desk::retry(double now, std::vector<dispatch>& placed, std::vector<ticket>& expired) {
  // Waiting is (nearly) in arrival order, so the expired ones are at the front.
  while (!waiting_.empty() && now - waiting_.front().arrival_s > options_.max_wait_s) {
    expired.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    ++counters_.expired;
  }
  if (waiting_.empty()) return;
  const std::size_t attempts = std::min(options_.retry_batch, waiting_.size());
  scratch_.clear();
  for (std::size_t k = 0; k < attempts; ++k) {
    ticket t = std::move(waiting_.front());
    waiting_.pop_front();
    if (!try_place(t, now, false, placed)) scratch_.push_back(std::move(t));
  }
  for (auto it = scratch_.rbegin(); it != scratch_.rend(); ++it) waiting_.push_front(std::move(*it));
  scratch_.clear();
  // Nothing runs anywhere, yet the oldest still does not fit: no completion will ever free
  // room for it, so it goes best effort (one at a time; the next waits for this one's effect).
  if (!waiting_.empty() && fleet_idle() && !cluster_->accepting_workers().empty()) {
    ticket t = std::move(waiting_.front());
    waiting_.pop_front();
    try_place(t, now, true, placed);
  }
}

void placement_desk::first_token(std::uint32_t worker, query_id q, double now) {
  if (const worker_slot* w = cluster_id(worker)) cluster_->start_decoding(*w, q, now);
}

void placement_desk::progress(std::uint32_t worker, query_id q, int generated_tokens, double now) {
  const worker_slot* w = cluster_id(worker);
  if (w == nullptr) return;
  // A heartbeat may list a query as running before its firstToken message was handled.
  cluster_->start_decoding(*w, q, now);
  cluster_->set_progress(*w, q, generated_tokens, now);
}

void placement_desk::completed(std::uint32_t worker, query_id q, int prompt_tokens,
                               int output_tokens, double now) {
  if (const worker_slot* w = cluster_id(worker)) cluster_->complete(*w, q, now);
  if (prompt_tokens > 0 && output_tokens > 0) predictor_.observe(prompt_tokens, output_tokens);
}

void placement_desk::removed(std::uint32_t worker, query_id q, double now) {
  if (const worker_slot* w = cluster_id(worker)) cluster_->complete(*w, q, now);
}

void placement_desk::adopt(std::uint32_t worker, const ticket& t, bool running,
                           int generated_tokens, double now) {
  const worker_slot* w = cluster_id(worker);
  if (w == nullptr || cluster_->at(*w).holds(t.id)) return;
  query_request q = request_of(t, now);
  cluster_->assign(*w, q, {q.input_tokens, -1}, now);
  if (running) {
    cluster_->start_decoding(*w, t.id, now);
    cluster_->set_progress(*w, t.id, std::max(1, generated_tokens), now);
  }
}

}  // namespace aladdin::node
