#pragma once
// Registration of workers: a registerWorker is checked against the node (its model, a stored
// profile for its shape), given an id — the same id as before when a worker of that name was
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

struct registration {
  bool ok = false;
  std::string error;        // why not, for the worker's error reply
  std::uint32_t worker = 0;
  bool known = false;       // registered before under this name
  worker_profile profile;   // the stored profile, with the worker's own KV capacity
};

// The workers of a previous run that were active or starting, by name: a restarted node
// expects them back (its local provisioner does not start them again).
std::vector<std::string> expected_back(const std::vector<worker_record>& known);

class worker_registry {
 public:
  // `model`: the canonical name of the served model. `known`: the registry read at start.
  worker_registry(state_store& store, std::string model, std::vector<worker_record> known);

  registration register_worker(const worker_channel::register_worker& hello, const routing_id& peer,
                               std::uint64_t epoch);
  void set_state(std::uint32_t worker, worker_state state);
  std::optional<std::uint32_t> id_of(const std::string& name) const;

 private:
  state_store& store_;
  std::string model_;
  std::unordered_map<std::string, worker_record> by_name_;
};

}  // namespace aladdin::node
