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
#include <optional>
#include <string>

#include "actors/node/node_stats.hpp"
#include "actors/node/serve_options.hpp"
#include "storage/rocksdb_store.hpp"
#include "schema/client_channel.hpp"

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
  // Graceful drain, in this order (aladdin serve on SIGTERM or SIGINT):
  //   begin_drain()     new queries are refused (queryRejected{draining}) from now on;
  //                     draining() turns true (the HTTP front door's /ready: false, 503)
  //   wait_drained(t)   returns true as soon as no accepted query is unfinished, false after t
  //                     (woken by every query's end, not by polling)
  //   fail_in_flight()  fails every query still unfinished with shuttingDown, clients told,
  //                     cancelled on their workers; returns how many
  // then stop(). All three may be called from any thread that is not one of the node's actors.
  void begin_drain();
  bool draining() const;
  bool wait_drained(double timeout_s);
  std::size_t fail_in_flight();
  // Accepted queries not ended yet, by the journal (what a restart would pick up).
  std::size_t in_flight() const;

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
  // The journal's group commit: groups, calls, write latency histogram (for a metrics
  // exporter). Empty unless the node opened its own RocksDB store (--durability wal|fsync).
  std::optional<journal_commit_stats> journal_stats() const;

  // GET /metrics: the Prometheus text exposition of the node (actors/node/node_metrics.hpp
  // names every series). Thread-safe: any thread that is not one of the node's actors may call
  // it, concurrently with the node's work, the drain calls and itself; it asks the actors for
  // their state (stats(), a bounded wait) and reads the event series. It must not overlap
  // start() or stop() (the HTTP server stops serving before the node stops). Before start()
  // and after stop() the state series are zero and the event series keep their counts.
  std::string render_prometheus() const;
  // GET /status and `aladdin status`: the snapshot (actors/node/node_status.hpp renders it as
  // text and JSON). The same thread-safety as render_prometheus().
  client_channel::status_reply status() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Placement's refusals by constraint in one phrase ("refused N times: kv …"), for an operator:
// kv says "add memory", ttft and atgt say "add compute" (aladdin serve prints it when it stops,
// aladdin up in its report).
std::string refusal_summary(const node_stats& s);

}  // namespace aladdin::node
