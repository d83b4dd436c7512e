#include "sim/fleet_simulator.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <queue>
#include <stdexcept>

#include "placement/cluster_state.hpp"
#include "placement/length_source.hpp"
#include "placement/registry.hpp"
#include "plan/forecaster.hpp"
#include "util/rng.hpp"

namespace aladdin::sim {

const char* to_string(autoscaler_kind k) {
  switch (k) {
    case autoscaler_kind::none: return "static";
    case autoscaler_kind::reactive: return "reactive";
    case autoscaler_kind::planner: return "planner";
  }
  return "unknown";
}

const char* to_string(serving_mode m) {
  switch (m) {
    case serving_mode::prefill_first: return "prefill-first";
    case serving_mode::chunked: return "chunked";
    case serving_mode::split: return "split";
  }
  return "unknown";
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(q * static_cast<double>(values.size()));
  const auto idx = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[idx];
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t salt) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (salt + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Events other than arrivals (which are read from the sorted trace in order).
enum class event_type : std::uint8_t {
  engine_step = 0,
  prefill_step = 1,
  kv_arrival = 2,
  worker_ready = 3,
  scaling_tick = 4,
};

// A worker the fleet pays for: from the request to start it until its release.
struct worker_life {
  double requested_s = 0;
  double released_s = -1;
  bool ready = false;
  bool draining = false;
  bool cancelled = false;  // released before it was ever ready
  int engine = -1;         // index into engines_ once ready
};

struct event {
  double time;
  event_type type;
  std::uint64_t index;  // engine index, or query id for kv_arrival

  // Min-heap order: time, then type (engines finish before transfers land), then index.
  bool operator>(const event& o) const {
    if (time != o.time) return time > o.time;
    if (type != o.type) return type > o.type;
    return index > o.index;
  }
};

struct query_state {
  double arrival = 0;
  int input = 0;
  int output = 0;
  double first_token = -1;
  double finish = -1;
  bool queued_at_intake = false;
  bool failed = false;
};

class simulation {
 public:
  simulation(const trace& arrivals, const simulation_config& c)
      : arrivals_(arrivals), config_(c), predictor_(c.predictor), random_(mix_seed(c.seed, 0)) {
    const policy_info* info = find_policy(c.policy);
    if (info == nullptr)
      throw std::invalid_argument("unknown policy '" + c.policy + "' (known: " + policy_names() + ")");
    if (!c.truth) throw std::invalid_argument("the simulation needs the workers' ground truth");
    if (c.workers < 1) throw std::invalid_argument("the fleet needs at least one worker");
    if (c.mode == serving_mode::split && c.prefill_workers < 1)
      throw std::invalid_argument("split mode needs at least one prefill worker");
    oracle_ = info->uses_true_lengths;
    policy_ = make_policy(c.policy, c.policy_options);
    if (oracle_)
      lengths_ = std::make_unique<true_lengths>();
    else
      lengths_ = std::make_unique<predicted_lengths>(predictor_);
    const bool split = c.mode == serving_mode::split;
    schedule_options schedule = c.schedule;
    if (split) schedule.atgt_headroom = c.decode_pool_atgt_headroom;
    cluster_ = std::make_unique<cluster_state>(lengths_.get(), schedule);

    worker_profile decode_profile = c.profile;
    if (split) decode_profile.prefill = {};  // prompts arrive prefilled: no stall on decode workers

    engine_options opts;
    opts.mode = c.mode == serving_mode::chunked ? batching_mode::chunked : batching_mode::prefill_first;
    opts.role = split ? engine_role::decode_only : engine_role::unified;
    opts.max_num_seqs = c.max_num_seqs;
    opts.max_batched_tokens = c.max_batched_tokens;
    opts.kv_capacity_tokens = c.profile.kv.capacity_tokens;
    opts.noise_sigma = c.noise_sigma;
    opts.report_progress = false;
    decode_profile_ = decode_profile;
    engine_options_ = opts;
    for (int w = 0; w < c.workers; ++w) {
      lives_.push_back({0, -1, false, false, false, -1});
      make_ready(lives_.size() - 1);
    }
    if (c.scaling.kind != autoscaler_kind::none) {
      if (split) throw std::invalid_argument("scaling in the loop runs in the unified modes only");
      forecaster_ = demand_forecaster({.window_s = c.scaling.interval_s});
      events_.push({c.scaling.interval_s, event_type::scaling_tick, 0});
    }
    if (split) {
      engine_options popts = opts;
      popts.role = engine_role::prefill_only;
      for (int w = 0; w < c.prefill_workers; ++w) {
        prefill_engines_.emplace_back(popts, *c.truth,
                                      mix_seed(c.seed, 500000 + static_cast<std::uint64_t>(w)));
        prefill_scheduled_.push_back(kInf);
        prefill_pending_tokens_.push_back(0);
      }
    }
    queries_.resize(arrivals.size());
  }

  simulation_result run() {
    std::size_t& next_arrival = next_arrival_;
    while (true) {
      const double arrival_time =
          next_arrival < arrivals_.size() ? arrivals_[next_arrival].arrival_s : kInf;
      if (!events_.empty() && events_.top().time <= arrival_time) {
        const event e = events_.top();
        events_.pop();
        now_ = e.time;
        switch (e.type) {
          case event_type::engine_step: on_engine_step(e); break;
          case event_type::prefill_step: on_prefill_step(e); break;
          case event_type::kv_arrival: on_kv_arrival(e.index); break;
          case event_type::worker_ready: on_worker_ready(e.index); break;
          case event_type::scaling_tick: on_scaling_tick(); break;
        }
        continue;
      }
      if (arrival_time < kInf) {
        now_ = arrival_time;
        on_arrival(next_arrival++);
        continue;
      }
      // Nothing runs and nothing arrives: whatever still waits at the intake can only be served
      // best effort now (its SLO is long lost); without this it would wait forever.
      if (!pending_.empty() && force_pending()) continue;
      break;
    }
    return summarise();
  }

 private:
  // --- arrivals and placement ------------------------------------------------------------------
  void on_arrival(std::size_t i) {
    const trace_record& r = arrivals_[i];
    query_state& q = queries_[i];
    q.arrival = r.arrival_s;
    q.input = r.input_tokens;
    q.output = r.output_tokens;
    if (config_.scaling.kind != autoscaler_kind::none) forecaster_.observe_arrival(r.arrival_s, r.input_tokens);
    if (config_.mode == serving_mode::split) {
      send_to_prefill(i);
      return;
    }
    if (!try_place(i)) {
      q.queued_at_intake = true;
      pending_.push_back(i);
    }
  }

  query_lengths lengths_of(std::size_t i) const {
    return {queries_[i].input, oracle_ ? queries_[i].output : -1};
  }

  // Asks the policy for a worker and dispatches the query there. False when no worker takes it.
  bool try_place(std::size_t i, bool best_effort = false) {
    const query_state& qs = queries_[i];
    query_request q;
    q.id = query_id{i};
    q.input_tokens = qs.input;
    q.arrival_s = qs.arrival;
    q.slo = config_.slo;
    const bool split = config_.mode == serving_mode::split;
    // In split mode the TTFT was decided on the prefill pool; once a query has waited past its
    // TTFT SLO that SLO is lost, and holding it back would only hurt its ATGT too.
    if (split || now_ - qs.arrival > config_.slo.ttft_s) q.slo.ttft_s = kInf;
    q.expected_output_tokens = cluster_->expected_output(lengths_of(i));
    decision_context ctx{now_, &random_};
    placement_outcome out = policy_->place(*cluster_, q, ctx);
    if (!out.placed) {
      ++placement_rejections_;
      if (!best_effort || cluster_->accepting_workers().empty()) return false;
      out = placement_outcome::to(least_loaded());
    }
    dispatch(out.worker, q, i);
    return true;
  }

  worker_slot least_loaded() const {
    const auto workers = cluster_->accepting_workers();
    worker_slot best = workers.front();
    for (const worker_slot w : workers)
      if (cluster_->summary(w).entries < cluster_->summary(best).entries) best = w;
    return best;
  }

  void dispatch(worker_slot w, const query_request& q, std::size_t i) {
    query_state& qs = queries_[i];
    cluster_->assign(w, q, lengths_of(i), now_);
    if (config_.mode == serving_mode::split) cluster_->start_decoding(w, q.id, now_);
    engine& e = engines_[w.value];
    const admission a = e.enqueue({i, qs.input, qs.output, qs.arrival}, now_);
    if (a != admission::accepted) {
      cluster_->complete(w, q.id, now_);
      qs.failed = true;
      return;
    }
    reschedule(w.value);
  }

  void retry_pending() {
    if (pending_.empty()) return;
    const std::size_t attempts = std::min(config_.retry_batch, pending_.size());
    retry_scratch_.clear();
    for (std::size_t k = 0; k < attempts; ++k) {
      const std::size_t i = pending_.front();
      pending_.pop_front();
      if (!try_place(i)) retry_scratch_.push_back(i);
    }
    for (auto it = retry_scratch_.rbegin(); it != retry_scratch_.rend(); ++it) pending_.push_front(*it);
  }

  bool force_pending() {
    bool any = false;
    while (!pending_.empty()) {
      const std::size_t i = pending_.front();
      pending_.pop_front();
      any |= try_place(i, /*best_effort=*/true);
    }
    return any;
  }

  // --- engines ------------------------------------------------------------------------------------
  void reschedule(std::size_t w) {
    const double t = engines_[w].next_event_time();
    if (t == scheduled_[w] || t == kInf) return;
    scheduled_[w] = t;
    events_.push({t, event_type::engine_step, w});
  }

  void on_engine_step(const event& e) {
    const std::size_t w = e.index;
    if (scheduled_[w] != e.time || engines_[w].next_event_time() != e.time) return;  // stale
    scheduled_[w] = kInf;
    const step_result& r = engines_[w].step();
    const worker_slot id{static_cast<std::uint32_t>(w)};
    if (config_.calibrate)
      cluster_->observe_iteration(id, r.iteration.prefill_tokens, r.iteration.prefill_seqs,
                                  r.iteration.decode_seqs, r.iteration.end_s - r.iteration.start_s);
    if (r.iteration.decode_seqs > 0) cluster_->advance_decode(id, 1, now_);
    bool freed = false;
    for (const engine_event& ev : r.events) {
      query_state& q = queries_[ev.query_id];
      switch (ev.kind) {
        case event_kind::first_token:
          if (q.first_token < 0) q.first_token = ev.time_s;
          cluster_->start_decoding(id, query_id{ev.query_id}, now_);
          break;
        case event_kind::completed:
          if (q.first_token < 0) q.first_token = ev.time_s;
          q.finish = ev.time_s;
          cluster_->complete(id, query_id{ev.query_id}, now_);
          predictor_.observe(q.input, q.output);
          if (config_.scaling.kind != autoscaler_kind::none) forecaster_.observe_completion(q.output);
          freed = true;
          break;
        case event_kind::handoff:
        case event_kind::preempted:
          break;  // the schedule keeps a preempted query: it is still this worker's
      }
    }
    reschedule(w);
    if (freed) retry_pending();
    if (engine_life_[w] >= 0 && lives_[engine_life_[w]].draining) release_if_empty(engine_life_[w]);
  }

  // --- the fleet's size -------------------------------------------------------------------------
  void make_ready(std::size_t life) {
    worker_life& l = lives_[life];
    l.ready = true;
    l.engine = static_cast<int>(engines_.size());
    cluster_->add_worker(decode_profile_);
    engines_.emplace_back(engine_options_, *config_.truth,
                          mix_seed(config_.seed, 1000 + static_cast<std::uint64_t>(engines_.size())));
    scheduled_.push_back(kInf);
    engine_life_.push_back(static_cast<int>(life));
  }

  void on_worker_ready(std::size_t life) {
    if (lives_[life].cancelled) return;
    make_ready(life);
    retry_pending();
  }

  int paid_workers() const {
    int n = 0;
    for (const auto& l : lives_) n += l.released_s < 0;
    return n;
  }

  void note_paid() {
    const int paid = paid_workers();
    peak_paid_ = std::max(peak_paid_, paid);
    paid_changes_.push_back({now_, paid});
  }

  void release_if_empty(std::size_t life) {
    worker_life& l = lives_[life];
    if (l.released_s >= 0 || !l.ready) return;
    const auto w = static_cast<std::size_t>(l.engine);
    if (engines_[w].busy() || cluster_->at(worker_slot{static_cast<std::uint32_t>(w)}).outstanding() > 0)
      return;
    l.released_s = now_;
    cluster_->remove_worker(worker_slot{static_cast<std::uint32_t>(w)});
    note_paid();
  }

  int desired_workers() {
    const scaling_config& sc = config_.scaling;
    int active = 0, outstanding = static_cast<int>(pending_.size());
    for (const auto& l : lives_) {
      if (!l.ready || l.draining || l.released_s >= 0) continue;
      ++active;
      outstanding += cluster_->summary(worker_slot{static_cast<std::uint32_t>(l.engine)}).entries;
    }
    double want = 0;
    if (sc.kind == autoscaler_kind::planner) {
      const double horizon = sc.startup_s + sc.interval_s;
      const demand_forecast f = forecaster_.forecast(now_, horizon);
      // Queries already waiting at the intake are demand too: clear them within the horizon.
      const double backlog = static_cast<double>(pending_.size()) / horizon;
      want = std::ceil((f.rate_per_s + backlog) / sc.max_rate_per_worker - 1e-9);
    } else {
      const double per_worker = active > 0 ? static_cast<double>(outstanding) / active : outstanding;
      want = std::ceil(std::max(active, 1) * per_worker / sc.target_outstanding_per_worker - 1e-9);
    }
    // Scale up at once; scale down only when every recent recommendation agrees (Kubernetes'
    // HPA does the same), so a dip between two bursts does not release workers it must restart.
    history_.push_back(want);
    if (history_.size() > static_cast<std::size_t>(std::max(sc.stabilization_intervals, 1)))
      history_.erase(history_.begin());
    want = *std::max_element(history_.begin(), history_.end());
    return static_cast<int>(std::clamp(want, static_cast<double>(sc.min_workers),
                                       static_cast<double>(sc.max_workers)));
  }

  void on_scaling_tick() {
    const scaling_config& sc = config_.scaling;
    const int desired = desired_workers();
    int current = 0;
    for (const auto& l : lives_) current += l.released_s < 0 && !l.draining;
    if (desired > current) {
      ++scale_ups_;
      for (int k = current; k < desired; ++k) {
        lives_.push_back({now_, -1, false, false, false, -1});
        ++workers_started_;
        events_.push({now_ + sc.startup_s, event_type::worker_ready, lives_.size() - 1});
      }
      note_paid();
    } else if (desired < current) {
      ++scale_downs_;
      int surplus = current - desired;
      // Cancel workers still starting first (latest first), then drain the emptiest active ones.
      for (std::size_t i = lives_.size(); i-- > 0 && surplus > 0;) {
        worker_life& l = lives_[i];
        if (l.ready || l.released_s >= 0) continue;
        l.cancelled = true;
        l.released_s = now_;
        --surplus;
      }
      while (surplus > 0) {
        std::size_t pick = lives_.size();
        int pick_load = std::numeric_limits<int>::max();
        for (std::size_t i = 0; i < lives_.size(); ++i) {
          const worker_life& l = lives_[i];
          if (!l.ready || l.draining || l.released_s >= 0) continue;
          const int load = cluster_->summary(worker_slot{static_cast<std::uint32_t>(l.engine)}).entries;
          if (load <= pick_load) {  // ties: the newest worker goes
            pick_load = load;
            pick = i;
          }
        }
        if (pick == lives_.size()) break;
        lives_[pick].draining = true;
        cluster_->drain(worker_slot{static_cast<std::uint32_t>(lives_[pick].engine)});
        release_if_empty(pick);
        --surplus;
      }
      note_paid();
    }
    bool work_left = next_arrival_ < arrivals_.size() || !pending_.empty();
    for (const auto& e : engines_) work_left |= e.busy();
    if (work_left) events_.push({now_ + sc.interval_s, event_type::scaling_tick, 0});
  }

  // --- split phase ----------------------------------------------------------------------------
  void send_to_prefill(std::size_t i) {
    std::size_t best = 0;
    for (std::size_t p = 1; p < prefill_engines_.size(); ++p)
      if (prefill_pending_tokens_[p] < prefill_pending_tokens_[best]) best = p;
    const query_state& q = queries_[i];
    const admission a = prefill_engines_[best].enqueue({i, q.input, q.output, q.arrival}, now_);
    if (a != admission::accepted) {
      queries_[i].failed = true;
      return;
    }
    prefill_pending_tokens_[best] += q.input;
    reschedule_prefill(best);
  }

  void reschedule_prefill(std::size_t p) {
    const double t = prefill_engines_[p].next_event_time();
    if (t == prefill_scheduled_[p] || t == kInf) return;
    prefill_scheduled_[p] = t;
    events_.push({t, event_type::prefill_step, p});
  }

  void on_prefill_step(const event& e) {
    const std::size_t p = e.index;
    if (prefill_scheduled_[p] != e.time || prefill_engines_[p].next_event_time() != e.time) return;
    prefill_scheduled_[p] = kInf;
    const step_result& r = prefill_engines_[p].step();
    for (const engine_event& ev : r.events) {
      query_state& q = queries_[ev.query_id];
      if (ev.kind == event_kind::handoff) {
        q.first_token = ev.time_s;
        prefill_pending_tokens_[p] -= q.input;
        const double transfer =
            static_cast<double>(ev.tokens) * config_.profile.kv.bytes_per_token /
            config_.kv_transfer_bytes_per_s;
        events_.push({ev.time_s + transfer, event_type::kv_arrival, ev.query_id});
      } else if (ev.kind == event_kind::completed) {  // a one-token answer never leaves
        q.first_token = q.first_token < 0 ? ev.time_s : q.first_token;
        q.finish = ev.time_s;
        prefill_pending_tokens_[p] -= q.input;
        predictor_.observe(q.input, q.output);
      }
    }
    reschedule_prefill(p);
  }

  void on_kv_arrival(std::size_t i) {
    if (!try_place(i)) {
      queries_[i].queued_at_intake = true;
      pending_.push_back(i);
    }
  }

  // --- results ----------------------------------------------------------------------------------
  simulation_result summarise() const {
    simulation_result r;
    r.queries = queries_.size();
    std::vector<double> ttfts, atgts;
    ttfts.reserve(queries_.size());
    atgts.reserve(queries_.size());
    const double window = config_.timeline_window_s > 0 ? config_.timeline_window_s : 60;
    double last_arrival = 0;
    for (const auto& q : queries_) last_arrival = std::max(last_arrival, q.arrival);
    r.timeline.resize(static_cast<std::size_t>(last_arrival / window) + 1);
    for (std::size_t k = 0; k < r.timeline.size(); ++k) r.timeline[k].start_s = static_cast<double>(k) * window;
    for (const auto& q : queries_) {
      auto& win = r.timeline[static_cast<std::size_t>(q.arrival / window)];
      ++win.arrivals;
      r.queued_at_intake += q.queued_at_intake;
      if (q.failed) {
        ++r.failed;
        continue;
      }
      if (q.finish < 0) {
        ++r.unfinished;
        continue;
      }
      ++r.finished;
      const double ttft = q.first_token - q.arrival;
      const double atgt = q.output > 1 ? (q.finish - q.first_token) / (q.output - 1) : 0.0;
      ttfts.push_back(ttft);
      atgts.push_back(atgt);
      r.missed_ttft += ttft > config_.slo.ttft_s;
      r.missed_atgt += atgt > config_.slo.atgt_s;
      if (ttft <= config_.slo.ttft_s && atgt <= config_.slo.atgt_s) {
        ++r.met_slo;
        ++win.met;
      }
    }
    r.attainment = r.queries > 0 ? static_cast<double>(r.met_slo) / static_cast<double>(r.queries) : 1.0;
    r.ttft_p50_s = quantile(ttfts, 0.5);
    r.ttft_p99_s = quantile(ttfts, 0.99);
    r.atgt_p50_s = quantile(atgts, 0.5);
    r.atgt_p99_s = quantile(atgts, 0.99);
    for (const auto& e : engines_) {
      r.preemptions += e.preemptions();
      r.iterations += e.iterations();
    }
    for (const auto& e : prefill_engines_) r.iterations += e.iterations();
    r.makespan_s = std::max(now_, last_arrival);
    const int tp = config_.profile.config.tp;
    const int prefill = config_.mode == serving_mode::split ? config_.prefill_workers : 0;
    r.gpus = (std::max(peak_paid_, config_.workers) + prefill) * tp;
    double worker_seconds = prefill * r.makespan_s;
    for (const auto& l : lives_)
      worker_seconds += (l.released_s >= 0 ? l.released_s : r.makespan_s) - l.requested_s;
    r.gpu_hours = worker_seconds * tp / 3600.0;
    r.scale_ups = scale_ups_;
    r.scale_downs = scale_downs_;
    r.workers_started = workers_started_;
    // Paid workers at each window's start, from the recorded changes.
    std::size_t change = 0;
    int paid = config_.workers;
    for (auto& win : r.timeline) {
      while (change < paid_changes_.size() && paid_changes_[change].first <= win.start_s)
        paid = paid_changes_[change++].second;
      win.workers = paid + prefill;
    }
    return r;
  }

  const trace& arrivals_;
  const simulation_config& config_;
  length_predictor predictor_;
  rng random_;
  bool oracle_ = false;
  std::unique_ptr<placement_policy> policy_;
  std::unique_ptr<length_source> lengths_;
  std::unique_ptr<cluster_state> cluster_;
  std::vector<engine> engines_;
  std::vector<double> scheduled_;
  std::vector<engine> prefill_engines_;
  std::vector<double> prefill_scheduled_;
  std::vector<double> prefill_pending_tokens_;
  std::vector<query_state> queries_;
  std::priority_queue<event, std::vector<event>, std::greater<>> events_;
  std::deque<std::size_t> pending_;
  std::vector<std::size_t> retry_scratch_;
  std::uint64_t placement_rejections_ = 0;
  double now_ = 0;
  std::size_t next_arrival_ = 0;

  // The fleet's size over time.
  worker_profile decode_profile_;
  engine_options engine_options_;
  std::vector<worker_life> lives_;
  std::vector<int> engine_life_;  // engine index → its life
  demand_forecaster forecaster_;
  std::vector<double> history_;   // reactive recommendations, newest last
  std::vector<std::pair<double, int>> paid_changes_;
  int peak_paid_ = 0;
  std::size_t scale_ups_ = 0, scale_downs_ = 0, workers_started_ = 0;
};

}  // namespace

simulation_result simulate(const trace& arrivals, const simulation_config& config) {
  simulation s(arrivals, config);
  return s.run();
}

}  // namespace aladdin::sim
