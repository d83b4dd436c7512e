#include "actors/caf/control_node.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "actors/caf/node_actors.hpp"
#include "actors/front/front_door.hpp"
#include "actors/node/catalogue.hpp"
#include "actors/node/command_fleet.hpp"
#include "actors/node/node_status.hpp"
#include "actors/node/process_launcher.hpp"
#include "actors/node/worker_registry.hpp"
#include "model/builtin_profiles.hpp"
#include "storage/memory_store.hpp"
#include "storage/rocksdb_store.hpp"

namespace aladdin::node {

namespace {

// The bridge's inbound side: decoded messages become actor messages.
class actor_sink final : public inbound_sink {
 public:
  const worker_directory* directory = nullptr;
  intake_actor intake;
  caf::actor placement;
  // Answers a status request (set by the composition root; empty while stopping).
  std::function<void(const routing_id&, const client_channel::status_request&)> on_status;

  void client_status(const routing_id& client, const client_channel::status_request& request) override {
    if (on_status) on_status(client, request);
  }
  void client_submits(std::vector<client_submit>& batch) override {
    caf::anon_send(intake, submit_batch{std::move(batch)});
    batch.clear();
  }
  void worker_register(const routing_id& worker, worker_channel::register_worker hello) override {
    caf::anon_send(placement, hello_msg{worker, std::move(hello)});
  }
  bool worker_events(const routing_id& worker, std::vector<worker_event>& events) override {
    if (caf::actor proxy = directory->find(worker)) {
      caf::anon_send(proxy, worker_batch{std::move(events)});
      return true;
    }
    // Completions may still end journaled queries (a restart beat the worker's re-registration).
    const bool completions = std::any_of(events.begin(), events.end(), [](const worker_event& e) {
      return std::holds_alternative<worker_channel::query_completed>(e);
    });
    if (completions) caf::anon_send(placement, stray_batch{worker, std::move(events)});
    return false;
  }
};

// Workers connect to a wildcard bind through loopback.
std::string connectable(std::string endpoint) {
  for (const char* any : {"tcp://0.0.0.0:", "tcp://*:"})
    if (endpoint.rfind(any, 0) == 0) endpoint = "tcp://127.0.0.1:" + endpoint.substr(std::string(any).size());
  return endpoint;
}

// The local provisioner's workers are started as
//   <aladdin> worker --emulate --connect <worker endpoint> --model M --gpu G --tp T --time-scale X
//            [--via-http] --name N
// (the fleet appends --name), with stdout and stderr in <data-dir>/workers/<name>.log.
spawn_spec local_worker_command(const serve_options& o, const std::string& worker_endpoint) {
  spawn_spec s;
  s.program = o.worker_command.empty() ? self_executable() : o.worker_command;
  char scale[32];
  std::snprintf(scale, sizeof scale, "%g", o.time_scale);
  s.args = {"worker", "--emulate", "--connect", worker_endpoint, "--model", o.model, "--gpu", o.gpu,
            "--tp", std::to_string(o.tp), "--time-scale", scale};
  if (o.local_engine == "http") s.args.push_back("--via-http");
  return s;
}

// The command provisioner's options: the operator's commands, and what every run of them is
// told about the workers (actors/node/command_fleet.hpp).
command_fleet_options command_fleet_of(const serve_options& o, const worker_profile& shape,
                                       const std::string& worker_endpoint, const std::vector<std::string>& back) {
  command_fleet_options c;
  c.start_command = o.start_command;
  c.stop_command = o.stop_command;
  c.command_timeout_s = o.command_timeout_s;
  c.retries = static_cast<int>(o.command_retries);
  c.retry_delay_s = o.command_retry_delay_s;
  c.log_dir = o.data_dir + "/workers";
  c.startup_timeout_s = o.startup_timeout_s;
  c.expected_back = back;
  char scale[32];
  std::snprintf(scale, sizeof scale, "%g", o.time_scale);
  c.env = {{"ALADDIN_MODEL", shape.config.model}, {"ALADDIN_GPU", shape.config.gpu},
           {"ALADDIN_TP", std::to_string(shape.config.tp)}, {"ALADDIN_SHAPE", shape.config.label()},
           {"ALADDIN_NODE_ENDPOINT", worker_endpoint}, {"ALADDIN_TIME_SCALE", scale}};
  return c;
}

node_stats collect_stats(caf::blocking_actor* self, const intake_actor& intake, const caf::actor& placement,
                         const provisioner_actor& provisioner, const planner_actor& planner, const zmq_bridge& bridge);

// What the HTTP front door asks of the node, as actor messages.
class door_link final : public front_door_node {
 public:
  intake_actor intake;
  caf::actor placement;
  const node_shared* shared = nullptr;
  const worker_directory* directory = nullptr;
  const control_node* node = nullptr;

  void submit(std::vector<client_submit> batch) override { caf::anon_send(intake, submit_batch{std::move(batch)}); }
  void cancel(query_id q, std::string why) override { caf::anon_send(placement, cancel_msg{q, std::move(why)}); }
  bool ready() const override { return !shared->draining.load() && directory->size() > 0; }
  std::string metrics() const override { return node->render_prometheus(); }
  std::string status_json() const override { return render_status_json(node->status()); }
};

}  // namespace

struct control_node::impl {
  serve_options options;
  std::unique_ptr<rocksdb_store> owned_store;   // --durability wal|fsync
  std::unique_ptr<memory_store> memory;         // --durability memory
  state_store* store = nullptr;
  // What the actors share; outlives the actor system.
  node_services services;
  node_shared shared;
  node_metrics metrics;
  std::unique_ptr<observing_outbox> metered_out;  // the bridge's outbox, every frame counted
  // Queries' ends, counted for wait_drained.
  std::mutex ended_mutex;
  std::condition_variable ended_cv;
  std::uint64_t ended = 0;
  std::mutex status_mutex;  // guards status_open: on_status (bridge thread) against stop()
  bool status_open = true;
  worker_directory directory;
  worker_profile shape;
  intake_limits limits;
  actor_sink sink;
  std::unique_ptr<zmq_bridge> bridge;
  // The OpenAI front door (--http), in front of the bridge's outbox.
  door_link link;
  std::unique_ptr<front_door> door;
  std::unique_ptr<split_outbox> split;
  std::unique_ptr<caf::actor_system_config> config;
  std::unique_ptr<caf::actor_system> system;
  intake_actor intake;
  caf::actor placement;
  forecaster_actor forecaster;
  planner_actor planner;
  provisioner_actor provisioner;
  // Journal compaction: ended entries older than the retention go, every tenth of it. A plain
  // thread, because compact_journal scans the whole journal (outside the store's lock, so the
  // actors' journal writes go on meanwhile) and must not hold up an actor.
  std::thread compactor;
  std::mutex compactor_mutex;
  std::condition_variable compactor_wake;
  bool compactor_stop = false;
  bool started = false;
  bool stopped = false;

  void compact_loop() {
    const auto every = std::chrono::duration<double>(std::max(options.journal_retention_s / 10, 1.0));
    std::unique_lock lock(compactor_mutex);
    while (!compactor_wake.wait_for(lock, every, [&] { return compactor_stop; })) {
      const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
      journal_compaction rule;
      rule.ended_before_micros =
          static_cast<std::uint64_t>(std::max<double>(1, static_cast<double>(wall) - options.journal_retention_s * 1e6));
      auto removed = store->compact_journal(rule);
      if (!removed) services.log.warn("journal compaction failed: %s", removed.error().message.c_str());
      else if (removed.value() > 0) services.log.info("journal: %zu ended queries compacted", removed.value());
    }
  }

  void prepare() {
    if (std::string err = validate(options); !err.empty()) throw std::runtime_error(err);
    if (auto s = seed_catalogue(*store); !s) throw std::runtime_error("cannot fill the catalogue: " + s.error().message);
    // validate() has checked that both are known or fully described.
    const model_spec facts = *options.model_facts();
    const gpu_spec gpu = *options.gpu_facts();
    if (options.overrides_catalogue()) {
      // The operator's architecture replaces what the store holds, for this start and the next.
      if (auto s = store->put_model(facts); !s) throw std::runtime_error("cannot store the model: " + s.error().message);
      if (auto s = store->put_gpu(gpu); !s) throw std::runtime_error("cannot store the GPU type: " + s.error().message);
    }
    auto profile = stored_profile(*store, options.model, options.gpu, static_cast<int>(options.tp));
    if (!profile)
      throw std::runtime_error("no worker profile for " + options.model + " on " + options.gpu + " with tp " +
                               std::to_string(options.tp) + " (the latency coefficients of a shape come from a fitted profile)");
    shape = *profile;
    // The shape's KV capacity follows the architecture and memory given.
    if (options.overrides_catalogue()) shape.kv = kv_model::from_hardware(facts, gpu, static_cast<int>(options.tp));
    if (shape.kv.capacity_tokens <= 0)
      throw std::runtime_error("the weights of " + options.model + " leave no KV cache on " + std::to_string(options.tp) +
                               " x " + options.gpu);
    services.store = store;
    services.log.set_level(options.log);
    services.log.set_format(options.log_format);
    services.log.set_process("serve");
    limits.model = canonical_model(options.model);
    limits.context_tokens = static_cast<std::uint32_t>(std::max(0, facts.context_tokens));
    limits.max_prompt_tokens = options.max_prompt_tokens > 0 ? static_cast<std::uint32_t>(options.max_prompt_tokens)
                               : limits.context_tokens > 0   ? limits.context_tokens
                                                             : 131072;
    limits.kv_capacity_tokens = shape.kv.capacity_tokens;
    limits.default_slo = {options.slo_ttft_s, options.slo_atgt_s};
    limits.max_waiting = static_cast<std::size_t>(options.max_waiting);
  }
};

control_node::control_node(serve_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.durability == durability_level::memory) {
    impl_->memory = std::make_unique<memory_store>();
    impl_->store = impl_->memory.get();
  } else {
    rocksdb_store_options so;
    so.path = impl_->options.data_dir;
    so.sync = impl_->options.durability == durability_level::fsync;
    auto opened = rocksdb_store::open(so);
    if (!opened) throw std::runtime_error("cannot open the state store in " + impl_->options.data_dir + ": " +
                                          opened.error().message);
    impl_->owned_store = std::move(opened).value();
    impl_->store = impl_->owned_store.get();
  }
  impl_->prepare();
}

control_node::control_node(serve_options options, state_store& store) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  impl_->store = &store;
  impl_->prepare();
}

control_node::~control_node() { stop(); }

void control_node::start() {
  impl& m = *impl_;
  if (m.started) return;
  const serve_options& o = m.options;
  bridge_options bo;
  bo.client_endpoint = o.listen;
  bo.worker_endpoint = o.worker_listen;
  bo.sender = o.node_name;
  m.bridge = std::make_unique<zmq_bridge>(bo, m.sink);
  m.bridge->bind();
  // Every reply passes the metrics' observer, then (with --http) the split that hands the HTTP
  // clients' frames to the front door, then the bridge.
  outbox* inner = &m.bridge->out();
  if (!o.http.empty()) {
    front_door_options fo;
    if (std::string err = split_host_port(o.http, fo.host, fo.port); !err.empty())
      throw std::runtime_error("--http " + o.http + ": " + err);
    fo.model = m.limits.model;
    fo.context_tokens = m.limits.context_tokens;
    for (const auto& c : o.slo_class_list()) fo.slo_classes.push_back({c.name, c.ttft_s * 1000, c.atgt_s * 1000});
    m.door = std::make_unique<front_door>(fo, m.link);
    m.split = std::make_unique<split_outbox>(m.bridge->out(), *m.door);
    inner = m.split.get();
    m.services.text = m.door.get();
  }
  m.metered_out = std::make_unique<observing_outbox>(*inner, m.metrics, [&m] {
    {
      std::lock_guard lock(m.ended_mutex);
      ++m.ended;
    }
    m.ended_cv.notify_all();
  });
  m.services.out = m.metered_out.get();
  m.services.metrics = &m.metrics;
  m.services.clock = node_clock::start_now(o.time_scale);
  m.shared.on_epoch = [b = m.bridge.get()](std::uint64_t e) { b->set_epoch(e); };

  auto unfinished = m.store->unfinished();
  if (!unfinished) throw std::runtime_error("cannot read the journal: " + unfinished.error().message);
  auto known = m.store->list_workers();
  if (!known) throw std::runtime_error("cannot read the worker registry: " + known.error().message);

  m.config = std::make_unique<caf::actor_system_config>();
  m.config->set("scheduler.max-threads", static_cast<std::size_t>(o.scheduler_threads));
  m.system = std::make_unique<caf::actor_system>(*m.config);
  caf::actor_system& sys = *m.system;

  const bool local = o.provisioner == provisioner_kind::local;

  forecaster_options fo;
  fo.window_s = o.plan_interval_s;
  m.forecaster = spawn_forecaster(sys, fo);

  placement_options po;
  po.desk.policy = o.policy;
  po.desk.max_wait_s = o.max_wait_s;
  po.registration.model = m.limits.model;
  po.registration.time_scale = o.time_scale;
  if (o.provisioner == provisioner_kind::static_fleet) po.registration.names = o.static_worker_names();
  po.retry_interval_s = o.retry_interval_s;
  po.adopt_grace_s = o.adopt_grace_s;
  po.stops_workers_on_exit = local;
  if (!o.decisions.empty()) {
    if (!std::ofstream(o.decisions, std::ios::app))
      throw std::runtime_error("--decisions: cannot write " + o.decisions);
    po.decisions_path = o.decisions;
    po.desk.record_predictions = true;  // what each chosen worker's schedule predicted
  }
  po.proxy.heartbeat_timeout_s = o.heartbeat_timeout_s;
  // With fsync a journal write blocks for the fsync: the actors that write on the hot path get
  // threads of their own, so that their writes wait together (one group, one fsync) instead of
  // taking the scheduler's threads from everything else.
  const bool blocking_journal = o.durability == durability_level::fsync;
  po.proxy.own_thread = blocking_journal;
  std::vector<std::string> back = expected_back(known.value());
  m.placement = spawn_placement(sys, m.services, m.shared, m.directory, std::move(po), m.forecaster,
                                recovery_book(std::move(unfinished).value()), std::move(known).value());

  std::unique_ptr<worker_provisioner> fleet;
  if (local) {
    local_fleet_options lf;
    lf.command = local_worker_command(o, connectable(m.bridge->worker_endpoint()));
    lf.log_dir = o.data_dir + "/workers";
    lf.startup_timeout_s = o.startup_timeout_s;
    lf.expected_back = std::move(back);
    fleet = std::make_unique<local_fleet>(std::move(lf), m.services.log);
  } else if (o.provisioner == provisioner_kind::command) {
    fleet = std::make_unique<command_fleet>(command_fleet_of(o, m.shape, connectable(m.bridge->worker_endpoint()), back),
                                            m.services.log);
  } else {
    fleet = std::make_unique<static_fleet>(o.static_worker_names(), o.startup_timeout_s);
  }
  m.provisioner = spawn_provisioner(sys, m.services.log, std::move(fleet), m.placement);
  caf::anon_send(m.placement, peers_msg{m.provisioner});

  planning_options plan;
  plan.settings.shape = m.shape;
  plan.settings.alternatives = builtin_shapes(m.shape.config.model, m.shape.config.gpu);
  plan.settings.slo = {o.slo_ttft_s, o.slo_atgt_s};
  plan.settings.min_workers = static_cast<int>(o.floor());
  plan.settings.max_workers = static_cast<int>(o.ceiling());
  plan.settings.horizon_s = 2 * o.plan_interval_s;
  plan.interval_s = o.plan_interval_s;
  plan.initial_workers = static_cast<int>(o.provisioner == provisioner_kind::static_fleet
                                              ? static_cast<std::int64_t>(o.static_worker_names().size())
                                              : o.workers);
  m.planner = spawn_planner(sys, m.services, m.shared, std::move(plan), m.forecaster, m.provisioner);

  m.intake = spawn_intake(sys, m.services, m.shared, m.limits, m.placement, m.forecaster, blocking_journal);
  m.sink.directory = &m.directory;
  m.sink.intake = m.intake;
  m.sink.placement = m.placement;
  // A status request: a detached blocking actor asks the others and posts the reply, so the
  // bridge thread never waits.
  m.sink.on_status = [&m](const routing_id& client, const client_channel::status_request& request) {
    std::lock_guard lock(m.status_mutex);
    if (!m.status_open) return;
    m.system->spawn<caf::detached>([&m, client, request](caf::blocking_actor* self) {
      const node_stats s = collect_stats(self, m.intake, m.placement, m.provisioner, m.planner, *m.bridge);
      m.services.out->post(outbound_frame::client(
          client, status_of(s, m.options.node_name, m.shape.config.label(), m.shared.draining.load(), request.request_id)));
    });
  };
  m.bridge->start();
  if (m.door) {
    m.link.intake = m.intake;
    m.link.placement = m.placement;
    m.link.shared = &m.shared;
    m.link.directory = &m.directory;
    m.link.node = this;
    m.door->start();
  }
  if (o.journal_retention_s > 0) m.compactor = std::thread([&m] { m.compact_loop(); });
  m.started = true;
  m.services.log.info("serving %s (%s, policy %s, provisioner %s) on %s, workers on %s, state in %s",
                      m.shape.config.model.c_str(), m.shape.config.label().c_str(), o.policy.c_str(),
                      to_string(o.provisioner), m.bridge->client_endpoint().c_str(),
                      m.bridge->worker_endpoint().c_str(), o.data_dir.c_str());
  if (m.door) m.services.log.info("OpenAI-compatible HTTP on %s", m.door->url().c_str());
}

void control_node::stop() {
  impl& m = *impl_;
  if (!m.started || m.stopped) return;
  m.stopped = true;
  m.shared.draining.store(true);
  {
    std::lock_guard lock(m.status_mutex);
    m.status_open = false;  // no new status actor from here on
  }
  // No request reaches the actors once they stop; what the actors still send an HTTP client
  // after this goes nowhere.
  if (m.door) m.door->stop();
  if (m.compactor.joinable()) {
    {
      std::lock_guard lock(m.compactor_mutex);
      m.compactor_stop = true;
    }
    m.compactor_wake.notify_all();
    m.compactor.join();
  }
  for (const caf::actor& a : {caf::actor_cast<caf::actor>(m.intake), caf::actor_cast<caf::actor>(m.planner),
                              caf::actor_cast<caf::actor>(m.forecaster), caf::actor_cast<caf::actor>(m.provisioner),
                              m.placement})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  m.system->await_all_actors_done();
  m.bridge->stop();
  m.sink.intake = nullptr;
  m.sink.placement = nullptr;
  m.link.intake = nullptr;
  m.link.placement = nullptr;
  m.intake = nullptr;
  m.planner = nullptr;
  m.forecaster = nullptr;
  m.provisioner = nullptr;
  m.placement = nullptr;
  m.system.reset();
  m.config.reset();
  if (m.owned_store) (void)m.owned_store->close();
}

std::string control_node::client_endpoint() const {
  return impl_->bridge ? impl_->bridge->client_endpoint() : std::string{};
}

std::string control_node::http_url() const { return impl_->door ? impl_->door->url() : std::string{}; }

std::string control_node::worker_endpoint() const {
  return impl_->bridge ? impl_->bridge->worker_endpoint() : std::string{};
}

std::optional<journal_commit_stats> control_node::journal_stats() const {
  if (!impl_->owned_store) return std::nullopt;
  return impl_->owned_store->commit_stats();
}

namespace {

// Asks every actor for its counters (bounded waits) and reads the bridge's: from a blocking
// actor (the caller's scoped actor, or a status request's own).
node_stats collect_stats(caf::blocking_actor* self, const intake_actor& intake, const caf::actor& placement,
                         const provisioner_actor& provisioner, const planner_actor& planner, const zmq_bridge& bridge) {
  node_stats s;
  const auto timeout = std::chrono::seconds(2);
  self->request(intake, timeout, stats_atom::value)
      .receive([&](const intake_stats& v) { static_cast<intake_stats&>(s) = v; }, [](caf::error&) {});
  self->request(placement, timeout, stats_atom::value)
      .receive([&](const placement_stats& v) { static_cast<placement_stats&>(s) = v; }, [](caf::error&) {});
  self->request(provisioner, timeout, stats_atom::value)
      .receive([&](const provisioner_stats& v) { s.fleet = v; }, [](caf::error&) {});
  self->request(planner, timeout, stats_atom::value)
      .receive([&](const planner_stats& v) { s.plan = v; }, [](caf::error&) {});
  const auto& c = bridge.counters();
  s.frames_in = c.frames_in.load();
  s.frames_out = c.frames_out.load();
  s.bad_frames = c.bad_frames.load();
  s.unknown_worker = c.unknown_worker.load();
  s.unroutable = c.unroutable.load();
  return s;
}

}  // namespace

node_stats control_node::stats() const {
  const impl& m = *impl_;
  if (!m.started || m.stopped) return {};
  caf::scoped_actor self{*m.system};
  return collect_stats(self.ptr(), m.intake, m.placement, m.provisioner, m.planner, *m.bridge);
}

client_channel::status_reply control_node::status() const {
  const impl& m = *impl_;
  return status_of(stats(), m.options.node_name, m.shape.config.label(), m.shared.draining.load());
}

void control_node::begin_drain() {
  impl& m = *impl_;
  if (!m.shared.draining.exchange(true)) m.services.log.info("draining: new queries are refused; %zu in flight", in_flight());
}

bool control_node::draining() const { return impl_->shared.draining.load(); }

std::size_t control_node::in_flight() const {
  auto open = impl_->store->unfinished();
  return open ? open.value().size() : 0;
}

bool control_node::wait_drained(double timeout_s) {
  impl& m = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                              std::chrono::duration<double>(std::max(0.0, timeout_s)));
  std::unique_lock lock(m.ended_mutex);
  for (;;) {
    const std::uint64_t seen = m.ended;
    lock.unlock();
    if (in_flight() == 0) return true;
    lock.lock();
    // The journal is read again after every end of a query (or a batch of them), never on a timer.
    if (!m.ended_cv.wait_until(lock, deadline, [&] { return m.ended != seen; })) {
      lock.unlock();
      return in_flight() == 0;
    }
  }
}

std::size_t control_node::fail_in_flight() {
  impl& m = *impl_;
  if (!m.started || m.stopped) return 0;
  std::size_t failed = 0;
  {
    caf::scoped_actor self{*m.system};
    self->request(m.placement, std::chrono::seconds(30), abort_atom::value)
        .receive([&](std::uint64_t n) { failed += n; },
                 [&](caf::error& e) { m.services.log.warn("shutdown: placement did not answer: %s", caf::to_string(e).c_str()); });
  }
  // What neither placement nor a proxy holds (a query of a previous run still waiting for its
  // worker to report it back, say) ends here, from the journal. A query that ended meanwhile is
  // refused by the journal (invalid transition) and not told twice.
  if (auto open = m.store->unfinished(); open) {
    std::vector<outbound_frame> frames;
    const std::uint64_t wall = m.services.clock.wall_micros(std::chrono::steady_clock::now());
    for (const journal_entry& e : open.value()) {
      ticket t;
      t.id = e.id;
      t.client = e.client_id;
      t.client_query_id = e.client_query_id;
      if (fail_query(*m.store, frames, t, client_channel::failure_code::shutting_down,
                     "the node shut down before it was placed", wall))
        ++failed;
    }
    m.services.out->post_all(frames);
  }
  return failed;
}

std::string control_node::render_prometheus() const {
  const impl& m = *impl_;
  return m.metrics.render(stats(), m.shape.config.label(), m.shared.draining.load());
}

std::string refusal_summary(const node_stats& s) {
  const auto n = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  char line[320];
  std::snprintf(line, sizeof line,
                "refused %llu times: kv %llu (memory), ttft %llu, atgt %llu (compute), no workers %llu; "
                "%llu never fit a worker, %llu expired waiting",
                n(s.rejections), n(s.refused_kv), n(s.refused_ttft), n(s.refused_atgt), n(s.refused_no_workers),
                n(s.never_fit), n(s.expired));
  return line;
}

}  // namespace aladdin::node
