#pragma once
// The messages of the client and worker channels as plain C++ values: what the bridge hands to
// the actors after decoding, and what the actors hand back to be encoded. Actors never see
// Cap'n Proto: decoding happens once, on the bridge thread, with the codec's limits; encoding
// happens there too, where the per-connection sequence numbers live.
//
// Field names and units follow schema/client.capnp and schema/worker.capnp.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace aladdin::node {

// The ZeroMQ routing id of a peer (bytes, not text). Clients choose theirs; it is journaled so
// that replies reach a client that reconnects with the same id.
using routing_id = std::string;

enum class channel : std::uint8_t { client, worker };

// ---- client channel ----------------------------------------------------------------------------
enum class reject_code : std::uint8_t { no_capacity, kv, ttft, atgt, invalid, overloaded, draining };
enum class failure_code : std::uint8_t {
  worker_lost, engine_rejected, cancelled, deadline_exceeded, shutting_down, internal, unschedulable
};
// common.capnp ErrorCode.
enum class error_code : std::uint8_t {
  malformed, oversized, unknown_message, version_mismatch, internal, unknown_worker
};

const char* to_string(reject_code c);
const char* to_string(failure_code c);
const char* to_string(error_code c);

struct submit_query {
  std::uint64_t client_query_id = 0;
  std::uint32_t prompt_tokens = 0;
  std::uint32_t max_output_tokens = 0;
  std::uint64_t ttft_slo_micros = 0;
  std::uint64_t atgt_slo_micros = 0;
  std::string model;
};
struct query_accepted {
  std::uint64_t client_query_id = 0;
  std::uint64_t query_id = 0;
};
struct query_rejected {
  std::uint64_t client_query_id = 0;
  reject_code reason = reject_code::invalid;
  std::string detail;
};
struct client_first_token {
  std::uint64_t query_id = 0;
  std::uint64_t at_micros = 0;
};
struct token_progress {
  std::uint64_t query_id = 0;
  std::uint32_t generated_tokens = 0;
};
struct query_finished {
  std::uint64_t query_id = 0;
  std::uint32_t output_tokens = 0;
  std::uint64_t ttft_micros = 0;
  std::uint64_t atgt_micros = 0;
};
struct query_failed {
  std::uint64_t query_id = 0;
  failure_code reason = failure_code::internal;
  std::string detail;
};
struct wire_error {
  error_code code = error_code::internal;
  std::string detail;
};

// A submission together with the client it came from.
struct client_submit {
  routing_id client;
  submit_query query;
};

using client_message = std::variant<submit_query, query_accepted, query_rejected,
                                    client_first_token, token_progress, query_finished,
                                    query_failed, wire_error>;

// ---- worker channel ----------------------------------------------------------------------------
struct register_worker {
  std::string worker_name;
  std::string model;
  std::string gpu;
  std::uint16_t tp = 1;
  std::uint64_t kv_capacity_tokens = 0;
  std::uint32_t block_size = 16;
};
struct registered {
  std::uint32_t worker_id = 0;
  std::uint64_t epoch = 0;
};
struct assign_query {
  std::uint64_t query_id = 0;
  std::uint32_t prompt_tokens = 0;
  std::uint32_t output_tokens_hint = 0;
  std::uint32_t max_output_tokens = 0;
  std::uint64_t arrival_micros = 0;
};
struct cancel_query {
  std::uint64_t query_id = 0;
};
struct query_progress {
  std::uint64_t query_id = 0;
  std::uint32_t generated_tokens = 0;
};
struct heartbeat {
  std::uint32_t worker_id = 0;
  std::uint64_t at_micros = 0;
  std::uint32_t kv_blocks_used = 0;
  std::uint32_t kv_blocks_total = 0;
  std::vector<query_progress> running;
  std::uint32_t waiting_count = 0;
  std::vector<std::uint64_t> waiting;
};
struct worker_first_token {
  std::uint64_t query_id = 0;
  std::uint64_t at_micros = 0;
};
struct query_completed {
  std::uint64_t query_id = 0;
  std::uint32_t output_tokens = 0;
  std::uint64_t at_micros = 0;
};
enum class engine_reject_code : std::uint8_t { too_large, invalid };
struct engine_rejected {
  std::uint64_t query_id = 0;
  engine_reject_code reason = engine_reject_code::invalid;
  std::string detail;
};
struct drain_worker {
  std::uint64_t deadline_micros = 0;
};
struct shutdown_worker {
  std::string reason;
};

using worker_message = std::variant<register_worker, registered, assign_query, cancel_query,
                                    heartbeat, worker_first_token, query_completed,
                                    engine_rejected, drain_worker, shutdown_worker, wire_error>;

// What a worker sends once registered, as the actors see it.
using worker_event = std::variant<heartbeat, worker_first_token, query_completed, engine_rejected>;

// One frame for the bridge to send.
struct outbound {
  channel to = channel::client;
  routing_id peer;
  std::variant<client_message, worker_message> message;

  static outbound client(routing_id peer, client_message m) {
    return {channel::client, std::move(peer), std::move(m)};
  }
  static outbound worker(routing_id peer, worker_message m) {
    return {channel::worker, std::move(peer), std::move(m)};
  }
};

}  // namespace aladdin::node
