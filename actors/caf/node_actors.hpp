#pragma once
// Spawn functions of the node's actors. Each actor is a thin shell: it turns messages into
// calls on one plain object (intake rules, placement desk, worker tracker, forecaster, plan
// keeper, a worker_provisioner) and carries out what comes back (send, post a frame, start a
// timer). What a spawn function takes is all the actor depends on: the node's services, the
// cross-actor state it reads or writes, its own options and the actors it talks to. The
// composition root (control_node.cpp) fills the options from serve_options and wires the
// actors; the actor tests spawn them one by one on CAF's deterministic scheduler.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>

#include "actors/caf/node_messages.hpp"
#include "actors/node/fleet_roster.hpp"
#include "actors/node/intake_rules.hpp"
#include "actors/node/plan_keeper.hpp"
#include "actors/node/recovery_book.hpp"
#include "actors/node/worker_registry.hpp"

namespace aladdin::node {

// Query intake: validates, journals (durably, before replying queryAccepted), replies, and
// passes accepted queries to placement and their arrivals to the forecaster. Reads the shared
// backlog (against limits.max_waiting) and the draining flag. With `own_thread` it runs on a
// thread of its own (caf::detached), so that waiting for a journal write (--durability fsync)
// holds up no scheduler thread.
intake_actor spawn_intake(caf::actor_system& sys, node_services& services, const node_shared& shared,
                          intake_limits limits, caf::actor placement, forecaster_actor forecaster,
                          bool own_thread = false);

// Worker proxy (spawned by placement, one per registered worker).
struct proxy_options {
  double heartbeat_timeout_s = 3;  // wall: --heartbeat-timeout
  bool own_thread = false;         // caf::detached: for journal writes that block (--durability fsync)
  tracker_options tracking;
};
struct proxy_setup {  // the worker
  std::uint32_t worker = 0;
  std::string name;
  routing_id peer;
};
caf::actor spawn_proxy(caf::local_actor* parent, node_services& services, const proxy_options& options,
                       proxy_setup setup, caf::actor placement);

// Placement: the desk, worker registration, re-adoption after a restart. Spawns one proxy per
// registered worker (linked: they go down with it) and keeps `directory` current for the
// bridge. Writes the shared backlog; reads the plan epoch.
struct placement_options {
  desk_options desk;
  registration_rules registration;     // what a worker must match to register (model, time scale, name)
  double retry_interval_s = 0.05;      // wall: --retry-interval
  double adopt_grace_s = 5;            // wall: --adopt-grace, after a restart
  bool stops_workers_on_exit = false;  // the workers are this node's (local provisioner)
  std::string decisions_path;          // --decisions: a CSV row per placement once it ends
  proxy_options proxy;
};
caf::actor spawn_placement(caf::actor_system& sys, node_services& services, node_shared& shared,
                           worker_directory& directory, placement_options options,
                           forecaster_actor forecaster, recovery_book book,
                           std::vector<worker_record> known_workers);

// Demand forecasting: arrivals and completions in, forecasts out (request/response).
forecaster_actor spawn_forecaster(caf::actor_system& sys, forecaster_options options);

// Configuration planning: the starting plan, then a round every plan interval; targets to the
// provisioner. Reads the shared backlog; writes the plan epoch.
struct planning_options {
  plan_settings settings;
  double interval_s = 60;   // model: --plan-interval
  int initial_workers = 0;  // the starting plan's target
};
planner_actor spawn_planner(caf::actor_system& sys, node_services& services, node_shared& shared,
                            planning_options options, forecaster_actor forecaster,
                            provisioner_actor provisioner);

// Provisioner: drives `fleet` (local: starts and stops emulated worker processes; static: waits
// for named workers) on a wall-clock tick, and asks placement to drain or retire workers.
provisioner_actor spawn_provisioner(caf::actor_system& sys, node_log& log,
                                    std::unique_ptr<worker_provisioner> fleet, caf::actor placement);

}  // namespace aladdin::node
