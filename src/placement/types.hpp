#pragma once
// Vocabulary of placement: ids, SLOs, the query as placement sees it, and typed outcomes.

#include <compare>
#include <cstdint>
#include <functional>
#include <string_view>

#include "model/slo.hpp"

namespace aladdin {

// A worker's place in one cluster_state: dense, reused by nobody, meaningful only to that
// cluster (a policy's answer, an index into its summaries).
struct worker_slot {
  std::uint32_t value = 0;
  friend auto operator<=>(const worker_slot&, const worker_slot&) = default;
};

// A worker's stable identity in the fleet: what the state store allocates, the wire carries
// and the desk is told. Never an index into a cluster_state (that is a worker_slot).
struct worker_id {
  std::uint32_t value = 0;
  friend auto operator<=>(const worker_id&, const worker_id&) = default;
};

struct query_id {
  std::uint64_t value = 0;
  friend auto operator<=>(const query_id&, const query_id&) = default;
};

// One running query as a worker's heartbeat lists it: how many output tokens it has produced.
struct progress_report {
  query_id id;
  int generated_tokens = 0;
};


// A new query as placement sees it. The output length is not known: `expected_output_tokens`
// comes from a length_source (a prediction for every policy; the truth only for the oracle).
struct query_request {
  query_id id;
  int input_tokens = 0;
  double arrival_s = 0;
  slo_target slo;
  double expected_output_tokens = 0;
};

// Why no worker was chosen. `kv`, `ttft` and `atgt` name the constraint that excluded the most
// workers, so an operator can tell "add memory" from "add compute".
enum class reject_reason : std::uint8_t { none, no_workers, kv, ttft, atgt };

constexpr std::string_view to_string(reject_reason r) {
  switch (r) {
    case reject_reason::none: return "none";
    case reject_reason::no_workers: return "no_workers";
    case reject_reason::kv: return "kv";
    case reject_reason::ttft: return "ttft";
    case reject_reason::atgt: return "atgt";
  }
  return "unknown";
}

struct placement_outcome {
  bool placed = false;
  worker_slot worker;
  reject_reason reason = reject_reason::none;
  // How full the chosen worker is after the query, in [0, 1] on its most loaded dimension
  // (policies that do not measure it leave 0).
  double fit = 0;

  static placement_outcome to(worker_slot w, double fit = 0) { return {true, w, reject_reason::none, fit}; }
  static placement_outcome rejected(reject_reason r) { return {false, worker_slot{}, r, 0}; }
};

}  // namespace aladdin

template <>
struct std::hash<aladdin::worker_id> {
  std::size_t operator()(const aladdin::worker_id& w) const noexcept {
    return std::hash<std::uint32_t>{}(w.value);
  }
};

template <>
struct std::hash<aladdin::query_id> {
  std::size_t operator()(const aladdin::query_id& q) const noexcept {
    return std::hash<std::uint64_t>{}(q.value);
  }
};
