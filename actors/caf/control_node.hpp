#pragma once
// The composition root of a control node: opens the state store, fills its catalogue at first
// start, reads what a previous run left (unfinished journal entries, the worker registry, the
// plan epoch), spawns and wires the actors, and runs the ZeroMQ bridge. `aladdin serve`,
// `aladdin up`, the integration tests and the benchmark all run a node through this class.
//
// The header stays free of CAF so that its users compile quickly.

#include <cstdint>
#include <memory>
#include <string>

#include "actors/node/serve_options.hpp"

namespace aladdin {
class state_store;
}

namespace aladdin::node {

struct node_stats {
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t placed = 0;
  std::uint64_t waited = 0;
  std::uint64_t waiting = 0;
  std::uint64_t workers = 0;
  std::uint64_t epoch = 0;
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bad_frames = 0;
  std::uint64_t unknown_worker = 0;
  std::uint64_t unroutable = 0;
};

class control_node {
 public:
  // Opens (or creates) the store in options.data_dir. Throws std::runtime_error naming what
  // failed (the store, a bad option).
  explicit control_node(serve_options options);
  // Uses `store` instead of opening one (tests, benchmarks); it must outlive the node.
  control_node(serve_options options, state_store& store);
  ~control_node();
  control_node(const control_node&) = delete;
  control_node& operator=(const control_node&) = delete;

  // Binds the endpoints (throws std::runtime_error if one is busy) and starts everything.
  void start();
  // Refuses new queries, stops the actors (the local provisioner stops its workers), flushes
  // the bridge and closes the store. Accepted queries stay in the journal for the next start.
  void stop();

  // Bound endpoints, ephemeral ports resolved. Valid after start().
  std::string client_endpoint() const;
  std::string worker_endpoint() const;
  // Counters from the actors and the bridge (asks the actors; bounded wait).
  node_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aladdin::node
