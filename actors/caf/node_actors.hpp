#pragma once
// Spawn functions of the node's actors. Each actor is a thin shell: it turns messages into
// calls on one plain object (intake rules, placement desk, worker tracker, forecaster, plan
// keeper, fleet roster) and carries out what comes back (send, post a frame, start a timer).
// The composition root (control_node.cpp) wires them; the actor tests spawn them one by one
// on CAF's deterministic scheduler.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/caf/node_messages.hpp"
#include "actors/node/plan_keeper.hpp"
#include "actors/node/recovery_book.hpp"

namespace aladdin::node {

// Query intake: validates, journals (durably, before replying queryAccepted), replies, and
// passes accepted queries to placement and their arrivals to the forecaster.
caf::actor spawn_intake(caf::actor_system& sys, node_context& ctx, caf::actor placement,
                        caf::actor forecaster);

// Placement: the desk, worker registration, re-adoption after a restart. Spawns one proxy per
// registered worker (linked: they go down with it).
caf::actor spawn_placement(caf::actor_system& sys, node_context& ctx, desk_options desk,
                           caf::actor forecaster, recovery_book book,
                           std::vector<worker_record> known_workers);

// Worker proxy (spawned by placement).
struct proxy_setup {
  std::uint32_t worker = 0;
  std::string name;
  routing_id peer;
  tracker_options tracking;
};
caf::actor spawn_proxy(caf::local_actor* parent, node_context& ctx, proxy_setup setup,
                       caf::actor placement);

// Demand forecasting: arrivals and completions in, forecasts out (request/response).
caf::actor spawn_forecaster(caf::actor_system& sys, node_context& ctx, forecaster_options options);

// Configuration planning: a round every plan interval; targets to the provisioner.
caf::actor spawn_planner(caf::actor_system& sys, node_context& ctx, plan_settings settings,
                         caf::actor forecaster, caf::actor provisioner);

// Provisioner: local (starts and stops emulated worker processes) or static (waits for named
// workers). `worker_endpoint` is where launched workers connect.
struct provisioner_setup {
  bool local = true;
  std::string worker_endpoint;
  std::vector<std::string> expected;  // static: names; local: workers of a previous run
  std::string log_dir;                // local: one log file per worker
};
caf::actor spawn_provisioner(caf::actor_system& sys, node_context& ctx, provisioner_setup setup,
                             caf::actor placement);

}  // namespace aladdin::node
