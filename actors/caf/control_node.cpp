#include "actors/caf/control_node.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "actors/caf/node_actors.hpp"
#include "actors/node/catalogue.hpp"
#include "model/builtin_profiles.hpp"
#include "storage/rocksdb_store.hpp"

namespace aladdin::node {

namespace {

// The bridge's inbound side: decoded messages become actor messages.
class actor_sink final : public inbound_sink {
 public:
  node_context* ctx = nullptr;
  caf::actor intake;
  caf::actor placement;

  void client_submits(std::vector<client_submit>& batch) override {
    caf::anon_send(intake, submit_batch{std::move(batch)});
    batch.clear();
  }
  void worker_register(const routing_id& worker, worker_channel::register_worker hello) override {
    caf::anon_send(placement, hello_msg{worker, std::move(hello)});
  }
  bool worker_events(const routing_id& worker, std::vector<worker_event>& events) override {
    if (caf::actor proxy = ctx->directory.find(worker)) {
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

}  // namespace

struct control_node::impl {
  serve_options options;
  std::unique_ptr<rocksdb_store> owned_store;
  state_store* store = nullptr;
  node_context ctx;
  worker_profile shape;
  actor_sink sink;
  std::unique_ptr<zmq_bridge> bridge;
  std::unique_ptr<caf::actor_system_config> config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor intake, placement, forecaster, planner, provisioner;
  // Journal compaction: ended entries older than the retention go, every tenth of it. A plain
  // thread, because compact_journal scans the whole journal and must not hold up an actor.
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
      if (!removed) ctx.log.warn("journal compaction failed: %s", removed.error().message.c_str());
      else if (removed.value() > 0) ctx.log.info("journal: %zu ended queries compacted", removed.value());
    }
  }

  void prepare() {
    if (std::string err = validate(options); !err.empty()) throw std::runtime_error(err);
    if (auto s = seed_catalogue(*store); !s) throw std::runtime_error("cannot fill the catalogue: " + s.error().message);
    auto profile = stored_profile(*store, options.model, options.gpu, static_cast<int>(options.tp));
    if (!profile)
      throw std::runtime_error("no worker profile for " + options.model + " on " + options.gpu + " with tp " +
                               std::to_string(options.tp));
    shape = *profile;
    ctx.store = store;
    ctx.options = options;
    ctx.limits.model = canonical_model(options.model);
    ctx.limits.max_prompt_tokens = static_cast<std::uint32_t>(options.max_prompt_tokens);
    ctx.limits.kv_capacity_tokens = shape.kv.capacity_tokens;
    ctx.limits.default_slo = {options.slo_ttft_s, options.slo_atgt_s};
    ctx.log.set_level(options.log == "quiet"  ? node_log::level::quiet
                      : options.log == "warn" ? node_log::level::warn
                                              : node_log::level::info);
  }
};

control_node::control_node(serve_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  rocksdb_store_options so;
  so.path = impl_->options.data_dir;
  so.sync = impl_->options.sync == "on";
  auto opened = rocksdb_store::open(so);
  if (!opened) throw std::runtime_error("cannot open the state store in " + impl_->options.data_dir + ": " +
                                        opened.error().message);
  impl_->owned_store = std::move(opened).value();
  impl_->store = impl_->owned_store.get();
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
  m.ctx.out = &m.bridge->out();
  m.ctx.on_epoch = [b = m.bridge.get()](std::uint64_t e) { b->set_epoch(e); };
  m.ctx.clock = node_clock::start_now(o.time_scale);

  auto unfinished = m.store->unfinished();
  if (!unfinished) throw std::runtime_error("cannot read the journal: " + unfinished.error().message);
  auto known = m.store->list_workers();
  if (!known) throw std::runtime_error("cannot read the worker registry: " + known.error().message);

  m.config = std::make_unique<caf::actor_system_config>();
  m.config->set("scheduler.max-threads", static_cast<std::size_t>(o.scheduler_threads));
  m.system = std::make_unique<caf::actor_system>(*m.config);
  caf::actor_system& sys = *m.system;

  forecaster_options fo;
  fo.window_s = o.plan_interval_s;
  m.forecaster = spawn_forecaster(sys, m.ctx, fo);

  desk_options desk;
  desk.policy = o.policy;
  desk.max_wait_s = o.max_wait_s;
  std::vector<std::string> back;
  for (const auto& w : known.value())
    if (w.state == worker_state::active || w.state == worker_state::starting) back.push_back(w.name);
  m.placement = spawn_placement(sys, m.ctx, desk, m.forecaster, recovery_book(std::move(unfinished).value()),
                                std::move(known).value());

  provisioner_setup ps;
  ps.local = o.provisioner == "local";
  ps.worker_endpoint = connectable(m.bridge->worker_endpoint());
  ps.expected = ps.local ? back : o.static_worker_names();
  ps.log_dir = o.data_dir + "/workers";
  m.provisioner = spawn_provisioner(sys, m.ctx, ps, m.placement);
  caf::anon_send(m.placement, peers_msg{m.provisioner});

  plan_settings plan;
  plan.shape = m.shape;
  plan.alternatives = builtin_shapes(m.shape.config.model, m.shape.config.gpu);
  plan.slo = {o.slo_ttft_s, o.slo_atgt_s};
  plan.min_workers = static_cast<int>(o.floor());
  plan.max_workers = static_cast<int>(o.ceiling());
  plan.horizon_s = 2 * o.plan_interval_s;
  m.planner = spawn_planner(sys, m.ctx, plan, m.forecaster, m.provisioner);

  m.intake = spawn_intake(sys, m.ctx, m.placement, m.forecaster);
  m.sink.ctx = &m.ctx;
  m.sink.intake = m.intake;
  m.sink.placement = m.placement;
  m.bridge->start();
  if (o.journal_retention_s > 0) m.compactor = std::thread([&m] { m.compact_loop(); });
  m.started = true;
  m.ctx.log.info("serving %s (%s, policy %s) on %s, workers on %s, state in %s",
                 m.shape.config.model.c_str(), m.shape.config.label().c_str(), o.policy.c_str(),
                 m.bridge->client_endpoint().c_str(), m.bridge->worker_endpoint().c_str(), o.data_dir.c_str());
}

void control_node::stop() {
  impl& m = *impl_;
  if (!m.started || m.stopped) return;
  m.stopped = true;
  m.ctx.draining.store(true);
  if (m.compactor.joinable()) {
    {
      std::lock_guard lock(m.compactor_mutex);
      m.compactor_stop = true;
    }
    m.compactor_wake.notify_all();
    m.compactor.join();
  }
  for (auto* a : {&m.intake, &m.planner, &m.forecaster, &m.provisioner, &m.placement})
    caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
  m.system->await_all_actors_done();
  m.bridge->stop();
  m.sink.intake = nullptr;
  m.sink.placement = nullptr;
  m.intake = m.planner = m.forecaster = m.provisioner = m.placement = nullptr;
  m.system.reset();
  m.config.reset();
  if (m.owned_store) (void)m.owned_store->close();
}

std::string control_node::client_endpoint() const {
  return impl_->bridge ? impl_->bridge->client_endpoint() : std::string{};
}

std::string control_node::worker_endpoint() const {
  return impl_->bridge ? impl_->bridge->worker_endpoint() : std::string{};
}

node_stats control_node::stats() const {
  const impl& m = *impl_;
  node_stats s;
  if (!m.started || m.stopped) return s;
  caf::scoped_actor self{*m.system};
  self->request(m.intake, std::chrono::seconds(2), stats_atom::value)
      .receive(
          [&](const std::vector<std::uint64_t>& v) {
            s.accepted = v[0];
            s.rejected = v[1];
          },
          [](caf::error&) {});
  self->request(m.placement, std::chrono::seconds(2), stats_atom::value)
      .receive(
          [&](const std::vector<std::uint64_t>& v) {
            s.placed = v[0];
            s.waited = v[1];
            s.waiting = v[4];
            s.workers = v[5];
          },
          [](caf::error&) {});
  s.epoch = m.ctx.epoch.load();
  const auto& c = m.bridge->counters();
  s.frames_in = c.frames_in.load();
  s.frames_out = c.frames_out.load();
  s.bad_frames = c.bad_frames.load();
  s.unknown_worker = c.unknown_worker.load();
  s.unroutable = c.unroutable.load();
  return s;
}

}  // namespace aladdin::node
