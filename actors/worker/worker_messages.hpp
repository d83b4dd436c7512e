#pragma once
// The worker channel (schema/worker.capnp) as plain C++ values, one struct per message.
//
// worker_core speaks these, not Cap'n Proto readers: the state machine then needs no message
// buffers, its tests build messages as aggregates, and the decision logic stays free of the
// wire format. worker_wire.hpp converts between these and envelopes. Times are wall-clock
// microseconds, as on the wire.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace aladdin::worker {

using micros = std::uint64_t;

// ---- control plane -> worker ------------------------------------------------------------------

struct registered_msg {
  std::uint32_t worker_id = 0;
  std::uint64_t epoch = 0;
  friend bool operator==(const registered_msg&, const registered_msg&) = default;
};

struct assign_query_msg {
  std::uint64_t query_id = 0;
  std::uint32_t prompt_tokens = 0;
  std::uint32_t output_tokens_hint = 0;  // 0 = no prediction
  std::uint32_t max_output_tokens = 0;   // 0 = the engine's limit
  micros arrival = 0;
  friend bool operator==(const assign_query_msg&, const assign_query_msg&) = default;
};

struct cancel_query_msg {
  std::uint64_t query_id = 0;
  friend bool operator==(const cancel_query_msg&, const cancel_query_msg&) = default;
};

struct drain_msg {
  micros deadline = 0;  // 0 = no deadline
  friend bool operator==(const drain_msg&, const drain_msg&) = default;
};

struct shutdown_msg {
  std::string reason;
  friend bool operator==(const shutdown_msg&, const shutdown_msg&) = default;
};

// common.capnp ErrorCode, mirrored so that the core needs no generated header.
enum class error_code : std::uint8_t {
  malformed,
  oversized,
  unknown_message,
  version_mismatch,
  internal,
  unknown_worker,
};
const char* to_string(error_code c);

// Either direction: the peer could not handle something we sent.
struct error_msg {
  error_code code = error_code::internal;
  std::string detail;
  friend bool operator==(const error_msg&, const error_msg&) = default;
};

using inbound = std::variant<registered_msg, assign_query_msg, cancel_query_msg, drain_msg,
                             shutdown_msg, error_msg>;

// ---- worker -> control plane ------------------------------------------------------------------

struct register_worker_msg {
  std::string worker_name;
  std::string model;
  std::string gpu;
  std::uint16_t tp = 0;
  std::uint64_t kv_capacity_tokens = 0;
  std::uint32_t block_size = 0;
  friend bool operator==(const register_worker_msg&, const register_worker_msg&) = default;
};

struct query_progress {
  std::uint64_t query_id = 0;
  std::uint32_t generated_tokens = 0;
  friend bool operator==(const query_progress&, const query_progress&) = default;
};

struct heartbeat_msg {
  std::uint32_t worker_id = 0;
  micros at = 0;
  std::uint32_t kv_blocks_used = 0;
  std::uint32_t kv_blocks_total = 0;
  std::vector<query_progress> running;
  std::uint32_t waiting_count = 0;
  std::vector<std::uint64_t> waiting;
  friend bool operator==(const heartbeat_msg&, const heartbeat_msg&) = default;
};

struct first_token_msg {
  std::uint64_t query_id = 0;
  micros at = 0;
  friend bool operator==(const first_token_msg&, const first_token_msg&) = default;
};

struct query_completed_msg {
  std::uint64_t query_id = 0;
  std::uint32_t output_tokens = 0;
  micros at = 0;
  friend bool operator==(const query_completed_msg&, const query_completed_msg&) = default;
};

enum class reject_reason : std::uint8_t { too_large, invalid };
const char* to_string(reject_reason r);

struct query_rejected_msg {
  std::uint64_t query_id = 0;
  reject_reason reason = reject_reason::invalid;
  std::string detail;
  friend bool operator==(const query_rejected_msg&, const query_rejected_msg&) = default;
};

using outbound = std::variant<register_worker_msg, heartbeat_msg, first_token_msg,
                              query_completed_msg, query_rejected_msg, error_msg>;

}  // namespace aladdin::worker
