#pragma once
// The composition root of a control node: opens the state store, fills its catalogue at first
// start, reads what a previous run left (unfinished journal entries, the worker registry, the
// plan epoch), spawns and wires the actors, and runs the ZeroMQ bridge. `aladdin serve`,
// `aladdin up`, the integration tests and the benchmark all run a node through this class.
// It is the one place that knows every option: each actor is given only its own (its options
// struct at spawn, actors/caf/node_actors.hpp).
//
// The header stays free of CAF so that its users compile quickly.

#include <cstdint>
#include <memory>
#include <string>

#include "actors/node/node_stats.hpp"
#include "actors/node/serve_options.hpp"

namespace aladdin {
class state_store;
}

namespace aladdin::node {

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
  // The HTTP front door's URL (http://host:port, the port resolved), or empty without --http.
  std::string http_url() const;
  // Counters from the actors and the bridge (asks the actors; bounded wait). All zero before
  // start() and after stop().
  node_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Placement's refusals by constraint in one phrase ("refused N times: kv …"), for an operator:
// kv says "add memory", ttft and atgt say "add compute" (aladdin serve prints it when it stops,
// aladdin up in its report).
std::string refusal_summary(const node_stats& s);

}  // namespace aladdin::node
