#include "sim/fleet_simulator.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <queue>
#include <stdexcept>

#include "placement/decision_log.hpp"
#include "placement/placement_desk.hpp"
#include "plan/autoscaler.hpp"
#include "plan/forecaster.hpp"

namespace aladdin::sim {

const char* to_string(autoscaler_kind k) {
  switch (k) {
    case autoscaler_kind::none: return "static";
    case autoscaler_kind::reactive: return "reactive";
    case autoscaler_kind::planner: return "planner";
    case autoscaler_kind::scheduled: return "scheduled";
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
  bool expired = false;
  bool over_context = false;  // rejected at intake: prompt + output over the model's context
  slo_target slo;             // its own (a trace's SLO class) or the run's
  decision_record decision;  // with record_decisions only
};

// The serving topology, decided once from the configuration: the rest of the simulation asks
// this (or whether it has a prefill pool), never the mode flag.
struct topology {
  batching_mode batching = batching_mode::prefill_first;
  engine_role placed_role = engine_role::unified;  // what the workers placement packs do
  int prefill_workers = 0;                         // a prefill pool in front (split serving)

  static topology of(const simulation_config& c) {
    topology t;
    t.batching = c.mode == serving_mode::chunked ? batching_mode::chunked : batching_mode::prefill_first;
    if (c.mode == serving_mode::split) {
      if (c.prefill_workers < 1) throw std::invalid_argument("split mode needs at least one prefill worker");
      t.placed_role = engine_role::decode_only;
      t.prefill_workers = c.prefill_workers;
    }
    return t;
  }
  // Split serving: a prompt's TTFT is decided on the prefill pool, before placement, and the
  // placed worker receives it prefilled (no prefill stall on the decode pool).
  bool split() const { return prefill_workers > 0; }
};

desk_options desk_options_of(const simulation_config& c, const topology& t) {
  desk_options d;
  d.policy = c.policy;
  d.policy_options = c.policy_options;
  d.schedule = c.schedule;
  // Split mode: the decode pool sees no prefill stalls (see simulation_config).
  if (t.split()) d.schedule.atgt_headroom = c.decode_pool_atgt_headroom;
  // Chunked prefill: placement plans with the engine's token budget.
  if (t.batching == batching_mode::chunked && !t.split()) {
    engine_options e;
    e.mode = batching_mode::chunked;
    e.max_batched_tokens = c.max_batched_tokens;
    d.schedule.chunk_tokens = e.batched_tokens();
  }
  d.predictor = c.predictor;
  d.allow_true_lengths = true;  // the oracle's ceiling is measured here
  d.seed = mix_seed(c.seed, 0);
  d.retry_batch = c.retry_batch;
  d.max_wait_s = c.max_wait_s;
  d.feedback = c.feedback;
  d.record_predictions = c.record_decisions;
  return d;
}

std::unique_ptr<stabilised_autoscaler> make_autoscaler(const scaling_config& sc) {
  std::unique_ptr<autoscaler> inner;
  switch (sc.kind) {
    case autoscaler_kind::none: return nullptr;
    case autoscaler_kind::planner:
      inner = std::make_unique<planner_autoscaler>(sc.startup_s + sc.interval_s, sc.max_workers);
      break;
    case autoscaler_kind::reactive:
      inner = std::make_unique<reactive_autoscaler>(sc.target_outstanding_per_worker);
      break;
    case autoscaler_kind::scheduled:
      inner = std::make_unique<scheduled_autoscaler>(sc.schedule, sc.interval_s);
      break;
  }
  return std::make_unique<stabilised_autoscaler>(
      std::move(inner), scaling_limits{sc.min_workers, sc.max_workers, sc.stabilization_intervals});
}

// Split serving's front: prefill-only engines; a prompt goes to the one with the least queued
// prefill work, and leaves it (handoff) with its first token and its KV cache.
class prefill_pool {
 public:
  prefill_pool(int workers, engine_options options, const ground_truth& truth, std::uint64_t seed) {
    options.role = engine_role::prefill_only;
    for (int w = 0; w < workers; ++w) {
      engines_.emplace_back(options, truth, mix_seed(seed, 500000 + static_cast<std::uint64_t>(w)));
      scheduled_.push_back(kInf);
      pending_tokens_.push_back(0);
    }
  }
  // False when no prefill engine can take it.
  bool admit(std::size_t i, const query_state& q, double now, std::size_t* engine_out) {
    std::size_t best = 0;
    for (std::size_t p = 1; p < engines_.size(); ++p)
      if (pending_tokens_[p] < pending_tokens_[best]) best = p;
    if (engines_[best].enqueue({i, q.input, q.output, q.arrival}, now) != enqueue_result::accepted)
      return false;
    pending_tokens_[best] += q.input;
    *engine_out = best;
    return true;
  }
  // The engine's next step time when it is not scheduled yet (kInf: nothing new to schedule).
  double to_schedule(std::size_t p) {
    const double t = engines_[p].next_event_time();
    if (t == scheduled_[p] || t == kInf) return kInf;
    scheduled_[p] = t;
    return t;
  }
  // Null for a stale event.
  const step_result* step(std::size_t p, double at) {
    if (scheduled_[p] != at || engines_[p].next_event_time() != at) return nullptr;
    scheduled_[p] = kInf;
    return &engines_[p].step();
  }
  void left(std::size_t p, int input_tokens) { pending_tokens_[p] -= input_tokens; }
  std::uint64_t iterations() const {
    std::uint64_t n = 0;
    for (const auto& e : engines_) n += e.iterations();
    return n;
  }
  int workers() const { return static_cast<int>(engines_.size()); }

 private:
  std::vector<engine> engines_;
  std::vector<double> scheduled_;
  std::vector<double> pending_tokens_;
};

class simulation {
 public:
  simulation(const trace& arrivals, const simulation_config& c)
      : arrivals_(arrivals),
        config_(c),
        topology_(topology::of(c)),
        desk_(desk_options_of(c, topology_)),
        model_(find_model(c.profile.config.model).value_or(model_spec{})) {
    if (!c.truth) throw std::invalid_argument("the simulation needs the workers' ground truth");
    if (c.workers < 1) throw std::invalid_argument("the fleet needs at least one worker");
    const bool split = topology_.split();


    engine_options opts;
    opts.mode = topology_.batching;
    opts.role = topology_.placed_role;
    opts.max_num_seqs = c.max_num_seqs;
    opts.max_batched_tokens = c.max_batched_tokens;
    opts.kv_capacity_tokens = c.profile.kv.capacity_tokens;
    opts.noise_sigma = c.noise_sigma;
    opts.report_progress = false;
    engine_options_ = opts;
    for (int w = 0; w < c.workers; ++w) {
      lives_.push_back({0, -1, false, false, false, -1});
      make_ready(lives_.size() - 1);
    }
    if (c.scaling.kind != autoscaler_kind::none) {
      if (split) throw std::invalid_argument("scaling in the loop runs in the unified modes only");
      forecaster_ = demand_forecaster({.window_s = c.scaling.interval_s});
      autoscaler_ = make_autoscaler(c.scaling);
      autoscaler_->start_from(c.workers);
      events_.push({c.scaling.interval_s, event_type::scaling_tick, 0});
    }
    if (split) prefill_ = std::make_unique<prefill_pool>(topology_.prefill_workers, opts, *c.truth, c.seed);
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
      if (desk_.waiting() > 0 && force_waiting()) continue;
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
    q.slo = slo_of(r, config_.slo);
    if (!model_.fits_context(q.input, q.output)) {
      q.over_context = true;
      return;
    }
    if (config_.scaling.kind != autoscaler_kind::none) forecaster_.observe_arrival(r.arrival_s, r.input_tokens);
    if (config_.on_progress && (i + 1) % std::max<std::size_t>(1, arrivals_.size() / 100) == 0)
      config_.on_progress(i + 1, arrivals_.size());
    if (prefill_) {
      send_to_prefill(i);
      return;
    }
    offer(i);
  }

  desk_query desk_query_of(std::size_t i) const {
    const query_state& qs = queries_[i];
    desk_query q;
    q.id = query_id{i};
    q.prompt_tokens = qs.input;
    q.true_output_tokens = qs.output;  // read only by the oracle's desk
    q.arrival_s = qs.arrival;
    q.slo = qs.slo;
    // In split mode the TTFT was decided on the prefill pool.
    if (topology_.split()) q.slo.ttft_s = kInf;
    return q;
  }

  // A query the fleet has not seen yet: placed at once, or it waits at the intake.
  void offer(std::size_t i) {
    const desk_query q = desk_query_of(i);
    desk_.offer({&q, 1}, now_, decisions_);
    if (decisions_.placed.empty() && decisions_.refused.empty()) queries_[i].queued_at_intake = true;
    carry_out();
  }

  // What the desk decided: dispatch to the engines, fail what can never fit or waited too long.
  void carry_out() {
    if (config_.record_decisions) record();
    for (const desk_dispatch& d : decisions_.placed) dispatch(d);
    for (const desk_refusal& r : decisions_.refused) queries_[r.query.value].failed = true;
    for (const desk_refusal& r : decisions_.expired) {
      queries_[r.query.value].failed = true;
      queries_[r.query.value].expired = true;
    }
    decisions_.clear();
  }

  void record() {
    for (const desk_dispatch& d : decisions_.placed) record_placement(queries_[d.query.value].decision, d, now_);
    for (const desk_refusal& f : decisions_.refused)
      record_refusal(queries_[f.query.value].decision, f, decision_kind::never_fit, now_);
    for (const desk_refusal& f : decisions_.expired)
      record_refusal(queries_[f.query.value].decision, f, decision_kind::expired, now_);
  }

  void dispatch(const desk_dispatch& d) {
    const std::size_t i = d.query.value;
    query_state& qs = queries_[i];
    if (topology_.split()) desk_.first_token(d.worker, d.query, now_);
    engine& e = engines_[d.worker.value];
    const enqueue_result a = e.enqueue({i, qs.input, qs.output, qs.arrival}, now_);
    if (a != enqueue_result::accepted) {
      desk_.removed(d.worker, d.query, now_);
      qs.failed = true;
      return;
    }
    reschedule(d.worker.value);
  }

  void retry_waiting() {
    if (desk_.waiting() == 0) return;
    desk_.retry(now_, decisions_);
    carry_out();
  }

  // Nothing runs and nothing arrives: the desk places what waits best effort, one by one.
  bool force_waiting() {
    bool any = false;
    while (desk_.waiting() > 0) {
      desk_.retry(now_, decisions_);
      const bool progressed = !decisions_.empty();
      carry_out();
      if (!progressed) break;
      any = true;
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
    const worker_id id{static_cast<std::uint32_t>(w)};
    if (config_.calibrate)
      desk_.observe_iteration(id, r.iteration.prefill_tokens, r.iteration.prefill_seqs,
                              r.iteration.decode_seqs, r.iteration.end_s - r.iteration.start_s);
    if (r.iteration.decode_seqs > 0) desk_.advance_decode(id, 1, now_);
    bool freed = false;
    for (const engine_event& ev : r.events) {
      query_state& q = queries_[ev.query_id];
      switch (ev.kind) {
        case event_kind::first_token:
          if (q.first_token < 0) q.first_token = ev.time_s;
          desk_.first_token(id, query_id{ev.query_id}, now_);
          break;
        case event_kind::completed:
          if (q.first_token < 0) q.first_token = ev.time_s;
          q.finish = ev.time_s;
          desk_.completed(id, query_id{ev.query_id}, q.input, q.output, now_);
          if (config_.scaling.kind != autoscaler_kind::none) forecaster_.observe_completion(q.output);
          freed = true;
          break;
        case event_kind::handoff:
        case event_kind::preempted:
          break;  // the schedule keeps a preempted query: it is still this worker's
      }
    }
    reschedule(w);
    if (freed) retry_waiting();
    if (engine_life_[w] >= 0 && lives_[engine_life_[w]].draining) release_if_empty(engine_life_[w]);
  }

  // --- the fleet's size -------------------------------------------------------------------------
  void make_ready(std::size_t life) {
    worker_life& l = lives_[life];
    l.ready = true;
    l.engine = static_cast<int>(engines_.size());
    desk_.add_worker(worker_id{static_cast<std::uint32_t>(engines_.size())}, config_.profile,
                     topology_.placed_role == engine_role::decode_only ? worker_role::decode_only
                                                                       : worker_role::unified);
    engines_.emplace_back(engine_options_, *config_.truth,
                          mix_seed(config_.seed, 1000 + static_cast<std::uint64_t>(engines_.size())));
    scheduled_.push_back(kInf);
    engine_life_.push_back(static_cast<int>(life));
  }

  void on_worker_ready(std::size_t life) {
    if (lives_[life].cancelled) return;
    make_ready(life);
    retry_waiting();
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
    const worker_id id{static_cast<std::uint32_t>(w)};
    if (engines_[w].busy() || desk_.outstanding(id) > 0) return;
    l.released_s = now_;
    desk_.remove_worker(id);
    note_paid();
  }

  int desired_workers() {
    const scaling_config& sc = config_.scaling;
    scaling_signal sig;
    sig.backlog = desk_.waiting();
    sig.outstanding = static_cast<int>(desk_.waiting());
    for (const auto& l : lives_) {
      if (!l.ready || l.draining || l.released_s >= 0) continue;
      ++sig.active_workers;
      sig.outstanding += desk_.outstanding(worker_id{static_cast<std::uint32_t>(l.engine)});
    }
    sig.forecast_rate_per_s = forecaster_.forecast(now_, sc.startup_s + sc.interval_s).rate_per_s;
    sig.max_rate_per_worker = sc.max_rate_per_worker;
    sig.now_s = now_;
    return autoscaler_->desired(sig);
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
          const int load = desk_.outstanding(worker_id{static_cast<std::uint32_t>(l.engine)});
          if (load <= pick_load) {  // ties: the newest worker goes
            pick_load = load;
            pick = i;
          }
        }
        if (pick == lives_.size()) break;
        lives_[pick].draining = true;
        desk_.drain_worker(worker_id{static_cast<std::uint32_t>(lives_[pick].engine)});
        release_if_empty(pick);
        --surplus;
      }
      note_paid();
    }
    bool work_left = next_arrival_ < arrivals_.size() || desk_.waiting() > 0;
    for (const auto& e : engines_) work_left |= e.busy();
    if (work_left) events_.push({now_ + sc.interval_s, event_type::scaling_tick, 0});
  }

  // --- split phase ----------------------------------------------------------------------------
  void send_to_prefill(std::size_t i) {
    std::size_t p = 0;
    if (!prefill_->admit(i, queries_[i], now_, &p)) {
      queries_[i].failed = true;
      return;
    }
    reschedule_prefill(p);
  }

  void reschedule_prefill(std::size_t p) {
    const double t = prefill_->to_schedule(p);
    if (t < kInf) events_.push({t, event_type::prefill_step, p});
  }

  void on_prefill_step(const event& e) {
    const std::size_t p = e.index;
    const step_result* r = prefill_->step(p, e.time);
    if (r == nullptr) return;  // stale
    for (const engine_event& ev : r->events) {
      query_state& q = queries_[ev.query_id];
      if (ev.kind == event_kind::handoff) {
        q.first_token = ev.time_s;
        prefill_->left(p, q.input);
        const double transfer =
            static_cast<double>(ev.tokens) * config_.profile.kv.bytes_per_token /
            config_.kv_transfer_bytes_per_s;
        events_.push({ev.time_s + transfer, event_type::kv_arrival, ev.query_id});
      } else if (ev.kind == event_kind::completed) {  // a one-token answer never leaves
        q.first_token = q.first_token < 0 ? ev.time_s : q.first_token;
        q.finish = ev.time_s;
        prefill_->left(p, q.input);
        desk_.learn_length(q.input, q.output);
      }
    }
    reschedule_prefill(p);
  }

  void on_kv_arrival(std::size_t i) { offer(i); }

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
      if (q.over_context) {
        ++r.over_context;
        continue;
      }
      auto& win = r.timeline[static_cast<std::size_t>(q.arrival / window)];
      ++win.arrivals;
      r.queued_at_intake += q.queued_at_intake;
      r.expired += q.expired;
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
      r.missed_ttft += ttft > q.slo.ttft_s;
      r.missed_atgt += atgt > q.slo.atgt_s;
      if (ttft <= q.slo.ttft_s && atgt <= q.slo.atgt_s) {
        ++r.met_slo;
        ++win.met;
      }
    }
    const std::size_t admitted = r.queries - r.over_context;
    r.attainment = admitted > 0 ? static_cast<double>(r.met_slo) / static_cast<double>(admitted) : 1.0;
    r.ttft_p50_s = quantile(ttfts, 0.5);
    r.ttft_p99_s = quantile(ttfts, 0.99);
    r.atgt_p50_s = quantile(atgts, 0.5);
    r.atgt_p99_s = quantile(atgts, 0.99);
    for (const auto& e : engines_) {
      r.preemptions += e.preemptions();
      r.iterations += e.iterations();
    }
    if (prefill_) r.iterations += prefill_->iterations();
    r.makespan_s = std::max(now_, last_arrival);
    const int tp = config_.profile.config.tp;
    const int prefill = prefill_ ? prefill_->workers() : 0;
    r.gpus = (std::max(peak_paid_, config_.workers) + prefill) * tp;
    double worker_seconds = prefill * r.makespan_s;
    for (const auto& l : lives_)
      worker_seconds += (l.released_s >= 0 ? l.released_s : r.makespan_s) - l.requested_s;
    r.gpu_hours = worker_seconds * tp / 3600.0;
    if (config_.record_decisions) {
      r.decisions.reserve(queries_.size());
      for (std::size_t i = 0; i < queries_.size(); ++i) {
        const query_state& q = queries_[i];
        decision_record d = q.decision;
        d.query = i;
        d.arrival_s = q.arrival;
        d.prompt_tokens = q.input;
        d.output_tokens = q.output;
        d.slo = q.slo;  // judged on the whole TTFT, split mode's prefill pool included
        d.first_token_s = q.first_token;
        d.finish_s = q.finish;
        r.decisions.push_back(d);
      }
    }
    if (!engines_.empty()) r.final_margin = desk_.margin(worker_id{0});
    r.scale_ups = scale_ups_;
    r.scale_downs = scale_downs_;
    r.workers_started = workers_started_;
    r.fleet_changes = paid_changes_;
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
  topology topology_;
  placement_desk desk_;
  model_spec model_;  // its context decides what the intake rejects
  desk_decisions decisions_;
  std::vector<engine> engines_;
  std::vector<double> scheduled_;
  std::unique_ptr<prefill_pool> prefill_;  // split serving only
  std::vector<query_state> queries_;
  std::priority_queue<event, std::vector<event>, std::greater<>> events_;
  double now_ = 0;
  std::size_t next_arrival_ = 0;

  // The fleet's size over time.
  engine_options engine_options_;
  std::vector<worker_life> lives_;
  std::vector<int> engine_life_;  // engine index → its life
  demand_forecaster forecaster_;
  std::unique_ptr<stabilised_autoscaler> autoscaler_;
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
