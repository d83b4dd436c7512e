#pragma once
// Actors on CAF's deterministic scheduler (caf/scheduler/test_coordinator.hpp) with virtual
// time: messages run only when the test says so, and delayed messages (heartbeat checks,
// retries, planning rounds) fire only when the test advances the clock. The state store is the
// in-memory one and the outbox records frames instead of sending them.
//
// Every actor a test spawns is registered with the fixture, which sends it an exit on scope
// exit, so that a failing REQUIRE cannot leave an actor alive (~actor_system would hang).
//
// The fixture holds what the composition root would: the services and shared state, the
// directory of proxies, and the options spawn_core gives each actor (a test may change them
// before it spawns).

#include <caf/all.hpp>

#include <algorithm>
#include <vector>

#include "actors/caf/node_actors.hpp"
#include "actors/node/catalogue.hpp"
#include "model/builtin_profiles.hpp"
#include "storage/memory_store.hpp"

namespace aladdin::test {

template <class T, class V>
struct alternative_of;
template <class T, class... Ts>
struct alternative_of<T, std::variant<Ts...>> : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};

inline caf::actor_system_config& deterministic(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  return cfg;
}

struct actor_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  std::shared_ptr<memory_store::contents> contents = memory_store::make_contents();
  memory_store store{contents};
  node::recording_outbox out;
  node::node_services services;
  node::node_shared shared;
  node::worker_directory directory;
  node::intake_limits limits;
  node::placement_options placement_options;  // heartbeat timeout 1 s, adoption grace 2 s, retries every 0.5 s
  std::vector<caf::actor> spawned;

  actor_fixture()
      : sys(deterministic(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    REQUIRE(node::seed_catalogue(store).ok());
    services.store = &store;
    services.out = &out;
    services.clock = node::node_clock(sys.clock().now(), 1'700'000'000'000'000ULL, 1.0);
    services.log.set_level(node::node_log::level::quiet);
    const auto profile = find_builtin_profile("llama2-70b", "a100-80gb", 4);
    limits.model = "llama2-70b";
    limits.kv_capacity_tokens = profile->kv.capacity_tokens;
    placement_options.registration.model = "llama2-70b";
    placement_options.proxy.heartbeat_timeout_s = 1.0;
    placement_options.adopt_grace_s = 2.0;
    placement_options.retry_interval_s = 0.5;
  }

  ~actor_fixture() {
    for (auto& a : spawned) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  template <class Handle>
  Handle keep(Handle a) {
    spawned.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  // Runs every message that can run now; no timer fires.
  void run() {
    while (sched.try_run_once()) {
    }
  }
  // Moves virtual time forward (firing due timers) and runs what follows.
  void advance(std::chrono::milliseconds d) {
    sched.clock().advance_time(d);
    run();
  }

  // ---- helpers ---------------------------------------------------------------------------------
  caf::actor spawn_core(node::recovery_book book = {}, std::vector<worker_record> known = {}) {
    forecaster = keep(node::spawn_forecaster(sys, {}));
    placement = keep(node::spawn_placement(sys, services, shared, directory, placement_options, forecaster,
                                           std::move(book), std::move(known)));
    intake = spawn_intake(limits);
    run();
    return placement;
  }
  // Another intake in front of the same placement, with other limits.
  node::intake_actor spawn_intake(node::intake_limits with) {
    return keep(node::spawn_intake(sys, services, shared, std::move(with), placement, forecaster));
  }

  // `kv_tokens`: the KV capacity the worker reports (0: the catalogue's).
  void register_worker(const std::string& name, std::uint64_t kv_tokens = 0) {
    caf::anon_send(placement, node::hello_msg{"peer-" + name, {name, "llama2-70b", "a100-80gb", 4, kv_tokens, 16}});
    run();
  }
  caf::actor proxy_of(const std::string& name) { return directory.find("peer-" + name); }

  void submit(const std::string& client, std::uint64_t client_query_id, std::uint32_t prompt,
              std::uint32_t max_output = 100) {
    submit_to(intake, client, client_query_id, prompt, max_output);
  }
  void submit_to(const node::intake_actor& to, const std::string& client, std::uint64_t client_query_id,
                 std::uint32_t prompt, std::uint32_t max_output = 100) {
    node::submit_batch b;
    b.items.push_back({client, {client_query_id, prompt, max_output, 2'000'000, 100'000, "llama2-70b"}, {}});
    caf::anon_send(to, std::move(b));
    run();
  }

  // What an actor answers stats_atom with (its named stats struct).
  template <class Stats, class Handle>
  Stats stats_of(const Handle& actor) {
    caf::scoped_actor self{sys};
    auto answer = self->request(actor, caf::infinite, node::stats_atom::value);
    run();  // the actor answers now; the reply waits in self's mailbox
    Stats got{};
    bool answered = false;
    answer.receive(
        [&](const Stats& s) {
          got = s;
          answered = true;
        },
        [&](caf::error&) {});
    REQUIRE(answered);
    return got;
  }
  void from_worker(const std::string& name, std::vector<node::worker_event> events) {
    caf::anon_send(proxy_of(name), node::worker_batch{std::move(events)});
    run();
  }

  // Frames posted since the last call, of type T, with their peers.
  template <class T>
  std::vector<std::pair<node::routing_id, T>> frames() {
    std::vector<std::pair<node::routing_id, T>> found;
    for (auto& f : recorded) {
      if constexpr (alternative_of<T, client_channel::message>::value) {
        if (auto* c = std::get_if<client_channel::message>(&f.message))
          if (auto* x = std::get_if<T>(c)) found.emplace_back(f.peer, *x);
      }
      if constexpr (alternative_of<T, worker_channel::message>::value) {
        if (auto* w = std::get_if<worker_channel::message>(&f.message))
          if (auto* x = std::get_if<T>(w)) found.emplace_back(f.peer, *x);
      }
    }
    return found;
  }
  // Takes what the outbox recorded (call before frames<T>()).
  void collect() {
    auto got = out.take();
    recorded = std::move(got);
  }

  node::forecaster_actor forecaster;
  caf::actor placement;
  node::intake_actor intake;
  std::vector<node::outbound_frame> recorded;
};

}  // namespace aladdin::test
