#pragma once
// Registration of workers: a registerWorker is checked against the node (its model, its time
// scale, its name when the node waits for named workers, a stored profile for its shape), given
// an id — the same id as before when a worker of that name was
// registered already, in this run or a previous one, so that the journal's "dispatched to
// worker n" still names it — and recorded in the state store's registry.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/wire/messages.hpp"
#include "model/latency_model.hpp"
#include "storage/state_store.hpp"

namespace aladdin::node {

// What a worker must match to register with this node.
struct registration_rules {
  std::string model;        // the canonical name of the served model
  // The node's --time-scale. A worker whose engine runs at another speed would make every
  // latency the node predicts wrong by the ratio, so it is refused.
  double time_scale = 1;
  // --provisioner static: the only names accepted (--static-workers). Empty: any name.
  std::vector<std::string> names;
};

struct registration {
  bool ok = false;
  std::string error;        // why not, for the worker's error reply
  std::uint32_t worker = 0;
  bool known = false;       // registered before under this name
  worker_profile profile;   // the stored profile, with the worker's own KV capacity
  // The worker's batching as it said at registration: its chunked-prefill token budget per
  // iteration, 0 for prefill-first. Placement plans the worker in that regime.
  int chunk_tokens = 0;
};


// The workers of a previous run that were active or starting, by name: a restarted node
// expects them back (its local provisioner does not start them again).
std::vector<std::string> expected_back(const std::vector<worker_record>& known);

class worker_registry {
 public:
  // `known`: the registry read at start.
  worker_registry(state_store& store, registration_rules rules, std::vector<worker_record> known);

  registration register_worker(const worker_channel::register_worker& hello, const routing_id& peer,
                               std::uint64_t epoch);
  void set_state(std::uint32_t worker, worker_state state);
  std::optional<std::uint32_t> id_of(const std::string& name) const;

 private:
  state_store& store_;
  // Why `hello` may not register here; empty when it may (before the profile is looked up).
  std::string refusal(const worker_channel::register_worker& hello) const;

  registration_rules rules_;
  std::unordered_map<std::string, worker_record> by_name_;
};

}  // namespace aladdin::node
