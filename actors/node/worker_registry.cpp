#include "actors/node/worker_registry.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "actors/node/catalogue.hpp"

namespace aladdin::node {

namespace {

std::string hex(const routing_id& peer) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : peer.substr(0, 32)) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace

worker_registry::worker_registry(state_store& store, registration_rules rules, std::vector<worker_record> known)
    : store_(store), rules_(std::move(rules)) {
  for (auto& w : known) by_name_[w.name] = std::move(w);
}

std::string worker_registry::refusal(const worker_channel::register_worker& hello) const {
  if (hello.worker_name.empty() || hello.worker_name.size() > 128) return "workerName must be 1 to 128 characters";
  const std::string name = hello.worker_name.substr(0, 64);
  if (!rules_.names.empty() &&
      std::find(rules_.names.begin(), rules_.names.end(), hello.worker_name) == rules_.names.end()) {
    std::string expected;
    for (const auto& n : rules_.names) expected += (expected.empty() ? "" : ",") + n;
    return "worker '" + name + "' is not one of this node's --static-workers (" + expected.substr(0, 128) +
           "): add it there, or start the worker under one of those names";
  }
  if (canonical_model(hello.model) != rules_.model) return "this node serves " + rules_.model + ", not " + hello.model.substr(0, 64);
  const double node_scale = rules_.time_scale;
  const double scale = hello.time_scale;
  if (!(std::isfinite(scale) && scale > 0) || std::abs(scale - node_scale) > 1e-9 * node_scale) {
    char why[200];
    std::snprintf(why, sizeof why,
                  "worker runs at time scale %g and this node at %g: start the worker with --time-scale %g "
                  "(another speed makes every latency the node predicts wrong)",
                  scale, node_scale, node_scale);
    return why;
  }
  if (const auto b = hello.max_batched_tokens; b != 0 && (b < worker_channel::kMinBatchedTokens || b > worker_channel::kMaxBatchedTokens))
    return "maxBatchedTokens " + std::to_string(b) + " is outside " + std::to_string(worker_channel::kMinBatchedTokens) + ".." +
           std::to_string(worker_channel::kMaxBatchedTokens) +
           " (the engine's chunked-prefill budget per iteration; 0 for prefill-first): start the worker with "
           "--max-batched-tokens as its engine runs";
  return {};
}

registration worker_registry::register_worker(const worker_channel::register_worker& hello,
                                              const routing_id& peer, std::uint64_t epoch) {
  registration r;
  r.error = refusal(hello);
  if (!r.error.empty()) return r;
  auto profile = stored_profile(store_, hello.model, hello.gpu, hello.tp);
  if (!profile) {
    r.error = "no profile for " + hello.model.substr(0, 64) + " on " + hello.gpu.substr(0, 64) + " with tp " +
              std::to_string(hello.tp);
    return r;
  }
  // The engine knows its own memory better than the catalogue does.
  if (hello.kv_capacity_tokens > 0) profile->kv.capacity_tokens = static_cast<double>(hello.kv_capacity_tokens);

  worker_record rec;
  if (auto it = by_name_.find(hello.worker_name); it != by_name_.end()) {
    rec = it->second;
    r.known = true;
  } else {
    auto id = store_.allocate_worker_id();
    if (!id) {
      r.error = "registry unavailable: " + id.error().message;
      return r;
    }
    rec.id = id.value();
    rec.name = hello.worker_name;
  }
  rec.shape = profile->config;
  rec.endpoint = hex(peer);
  rec.state = worker_state::active;
  rec.registered_epoch = epoch;
  if (auto s = store_.upsert_worker(rec); !s) {
    r.error = "registry unavailable: " + s.error().message;
    return r;
  }
  by_name_[rec.name] = rec;
  r.ok = true;
  r.worker = rec.id.value;
  r.profile = std::move(*profile);
  r.chunk_tokens = static_cast<int>(hello.max_batched_tokens);
  return r;
}

void worker_registry::set_state(std::uint32_t worker, worker_state state) {
  for (auto& [name, rec] : by_name_) {
    if (rec.id.value != worker) continue;
    rec.state = state;
    if (auto s = store_.set_worker_state(rec.id, state); !s)
      process_log().error("registry: %s", s.error().message.c_str());
    return;
  }
}

std::optional<std::uint32_t> worker_registry::id_of(const std::string& name) const {
  const auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second.id.value;
}

std::vector<std::string> expected_back(const std::vector<worker_record>& known) {
  std::vector<std::string> names;
  for (const auto& w : known)
    if (w.state == worker_state::active || w.state == worker_state::starting) names.push_back(w.name);
  return names;
}

}  // namespace aladdin::node
