#pragma once
// What the node's actors tell each other, and what they share.
//
// The actor graph (one node):
//
//   bridge thread ──submit_batch──▶ intake ──place_batch──▶ placement ──assign_batch──▶ proxy (per worker)
//        │                            │                        ▲   │                      │
//        ├──hello (registerWorker)────┼───────────────────────▶│   ├──drain/retire/adopt─▶│
//        ├──worker_batch (by sender)──┼────────────────────────┼───┼─────────────────────▶│
//        │                            └──arrivals─▶ forecaster ◀──completions─ placement   │
//        │                                            ▲                ◀──report/lost────┘
//        │                                 planner ──forecast request
//        │                                    └──target──▶ provisioner ◀──roster events── placement
//        │                                                     └──drain/retire requests──▶ placement
//        ◀──────────────── outbox (any actor posts frames; the bridge encodes and sends) ───┘
//
// Every message here stays inside one process, so the types are plain structs allowed through
// CAF_ALLOW_UNSAFE_MESSAGE_TYPE (they never cross a middleman).
//
// What an actor depends on is what its spawn function takes (node_actors.hpp): the services
// (node_services), the cross-actor state it reads or writes (node_shared), its own options, and
// the actors it talks to. Only the composition root (control_node.cpp) knows every option.

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/node/node_log.hpp"
#include "actors/node/node_metrics.hpp"
#include "actors/node/node_stats.hpp"
#include "actors/node/text_relay.hpp"
#include "actors/node/ticket.hpp"
#include "actors/node/worker_tracker.hpp"
#include "actors/wire/outbox.hpp"
#include "actors/wire/zmq_bridge.hpp"
#include "plan/forecaster.hpp"
#include "storage/state_store.hpp"
#include "trace/builtin_workload.hpp"

namespace aladdin::node {

// What any actor may use; none of it is an option. Outlives the actor system.
struct node_services {
  state_store* store = nullptr;  // journal, worker registry, plans
  outbox* out = nullptr;         // frames to clients and workers (the bridge sends them)
  node_clock clock;              // model and wall time of an actor's "now"
  node_log log;
  node_metrics* metrics = nullptr;  // events for /metrics (nullptr: not counted)
  text_relay* text = nullptr;    // generated text for HTTP clients (the front door); may be unset
};

// State that really is shared between actors (and the composition root), each value with one
// writer. Outlives the actor system.
struct node_shared {
  // Queries waiting for a worker. Written by placement after each decision; read by the intake
  // (--max-waiting) and the planner (the backlog is demand).
  std::atomic<std::size_t> waiting{0};
  // The node is stopping. Written by the composition root; read by the intake, which then
  // refuses new queries.
  std::atomic<bool> draining{false};
  // The plan epoch in force. Written by the planner (set_epoch); read by placement (it stamps
  // registrations with it) and the composition root; on_epoch (set by the root before any actor
  // runs) passes it to the bridge, which stamps every envelope with it.
  std::atomic<std::uint64_t> epoch{0};
  std::function<void(std::uint64_t)> on_epoch;

  void set_epoch(std::uint64_t e) {
    epoch.store(e);
    if (on_epoch) on_epoch(e);
  }
};

// Routing id → the proxy of the worker registered under it. Written by placement, read by the
// bridge thread for every worker message.
class worker_directory {
 public:
  void add(const routing_id& peer, caf::actor proxy) {
    std::lock_guard lock(mutex_);
    map_[peer] = std::move(proxy);
  }
  void remove(const routing_id& peer, const caf::actor& proxy) {
    std::lock_guard lock(mutex_);
    if (auto it = map_.find(peer); it != map_.end() && it->second == proxy) map_.erase(it);
  }
  caf::actor find(const routing_id& peer) const {
    std::lock_guard lock(mutex_);
    const auto it = map_.find(peer);
    return it == map_.end() ? caf::actor{} : it->second;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return map_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<routing_id, caf::actor> map_;
};

// ---- messages ----------------------------------------------------------------------------------
struct submit_batch {
  std::vector<inbound_sink::client_submit> items;
};
struct place_batch {
  std::vector<ticket> items;
};
struct hello_msg {
  routing_id peer;
  worker_channel::register_worker hello;
};
struct worker_batch {
  std::vector<worker_event> events;
};
struct stray_batch {  // from a sender that is not registered
  routing_id peer;
  std::vector<worker_event> events;
};
struct assign_batch {
  std::vector<dispatch> items;
};
struct report_msg {
  tracker_report report;
};
struct lost_msg {
  std::uint32_t worker = 0;
  std::string name;
  std::string why;
  std::vector<ticket> requeue;  // not started: to place again
};
struct adopt_msg {
  std::vector<std::pair<ticket, bool>> adopted;  // ticket, started
  std::vector<query_id> cancel;
};
struct arrivals_msg {
  std::vector<std::pair<double, int>> items;  // model time, prompt tokens
};
struct completions_msg {
  std::vector<length_sample> items;
};
struct forecast_request {
  double now_s = 0;
  double horizon_s = 0;
};
struct forecast_reply {
  demand_forecast forecast;
  std::vector<length_sample> samples;
};
struct target_msg {
  int workers = 0;
};
struct roster_event {
  enum class kind : std::uint8_t { registered, lost, idle } what;
  std::string name;
};
struct drain_request {  // provisioner → placement: take no new queries on this worker
  std::string name;
};
struct retire_request {  // provisioner → placement: this drained worker leaves
  std::string name;
};
struct cancel_msg {  // front door → placement → the proxies: the client of this query has gone
  query_id query;
  std::string why;
};

// Timers and commands without payload. CAF 0.17 atoms: at most 10 characters.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using beat_atom = caf::atom_constant<caf::atom("beatcheck")>;
using grace_atom = caf::atom_constant<caf::atom("grace")>;
using plan_atom = caf::atom_constant<caf::atom("plan")>;
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using lose_atom = caf::atom_constant<caf::atom("lose")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
// An actor's note to itself: journal what its mailbox brought so far, in one store call.
using journal_atom = caf::atom_constant<caf::atom("journal")>;
// The node stops without waiting any longer: placement fails its waiting queries and asks every
// proxy to fail (and cancel) what its worker holds, all with shuttingDown; replies how many.
using abort_atom = caf::atom_constant<caf::atom("abortall")>;

// ---- typed interfaces --------------------------------------------------------------------------
// The small actors have typed handles, so that what is sent to them is checked when it
// compiles. A CAF 0.17 interface lists every message the actor handles, its own timers too
// (plan_atom, reconcile_atom). Placement and the worker proxies stay dynamic (caf::actor): see
// placement_actor.cpp.
using intake_actor = caf::typed_actor<caf::reacts_to<submit_batch>, caf::reacts_to<journal_atom>,
                                      caf::replies_to<stats_atom>::with<intake_stats>>;
using forecaster_actor = caf::typed_actor<caf::reacts_to<arrivals_msg>, caf::reacts_to<completions_msg>,
                                          caf::replies_to<forecast_request>::with<forecast_reply>>;
using provisioner_actor = caf::typed_actor<caf::reacts_to<target_msg>, caf::reacts_to<roster_event>,
                                           caf::reacts_to<reconcile_atom>,
                                           caf::replies_to<stats_atom>::with<provisioner_stats>>;
using planner_actor = caf::typed_actor<caf::reacts_to<plan_atom>,  //
                                       caf::replies_to<stats_atom>::with<planner_stats>>;

struct peers_msg {  // the composition root → placement, once the provisioner exists
  provisioner_actor provisioner;
};

}  // namespace aladdin::node

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::submit_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::place_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::hello_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::worker_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::stray_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::assign_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::report_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::lost_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::adopt_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::arrivals_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::completions_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::forecast_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::forecast_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::target_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::roster_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::drain_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::retire_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::peers_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::cancel_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::intake_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::placement_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::provisioner_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aladdin::node::planner_stats)
