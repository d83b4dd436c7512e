#pragma once
// What the node counts, by name. Each actor answers `stats_atom` with its own struct (intake,
// placement, provisioner, planner; actors/caf/node_messages.hpp lets them through CAF), and
// control_node::stats() puts them side by side with the bridge's frame counters.
//
// Placement's refusals are the placement desk's counters (src/placement/placement_desk.hpp):
// `refused_kv` counts refusals because no worker had the memory (add memory: larger KV, another
// shape); `refused_ttft` / `refused_atgt` because none was fast enough (add compute: more
// workers); `refused_no_workers` because none accepted queries at all. `never_fit` queries could
// never fit any worker (failed unschedulable), `expired` waited past --max-wait.

#include <cstdint>
#include <string>
#include <vector>

#include "placement/placement_desk.hpp"

namespace aladdin::node {

struct intake_stats {
  std::uint64_t accepted = 0;  // journaled and acknowledged
  std::uint64_t rejected = 0;  // queryRejected, every reason (invalid, over_context, kv, overloaded, draining)
};

// One registered worker as placement's schedule sees it.
struct worker_stats {
  std::string name;
  std::string shape;              // worker_config::label(): "llama2-70b/a100-80gb/tp4"
  bool draining = false;
  int running = 0;                // queries decoding or prefilling
  int queued = 0;                 // assigned, not started
  double kv_used_tokens = 0;      // context held now
  double kv_capacity_tokens = 0;  // after headroom
};

// The desk's counters (placed, waited, forced, expired, never_fit, rejections and refusals by
// constraint), and the desk's state now.
struct placement_stats : desk_counters {
  std::uint64_t waiting = 0;  // queries waiting for a worker
  std::uint64_t workers = 0;  // registered workers, draining ones included
  std::vector<worker_stats> worker_list;  // by name
};

// The provisioner's roster.
struct provisioner_stats {
  int target = 0;  // workers it is asked to keep (static: its names)
  int launching = 0;
  int active = 0;
  int draining = 0;
};

// The plan in force.
struct planner_stats {
  std::uint64_t epoch = 0;
  int workers = 0;  // its target for the node's shape
};

// The node's counters. Intake and placement are bases, so that their counts read by their own
// names (s.accepted, s.placed, s.refused_kv) as every report of the node prints them.
struct node_stats : intake_stats, placement_stats {
  provisioner_stats fleet;
  planner_stats plan;
  // The bridge's.
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bad_frames = 0;
  std::uint64_t unknown_worker = 0;
  std::uint64_t unroutable = 0;
};

}  // namespace aladdin::node
