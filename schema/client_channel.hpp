#pragma once
// The client channel (schema/client.capnp) as plain C++ values, and its one codec: what the
// control node's bridge, the load generator, the benchmark and the tests' raw client speak.
//
// The same contract as the worker channel (schema/worker_channel.hpp): one struct per message,
// units in field names; a receiver refuses a member that travels the other way with
// unknown_message; decoding accepts any bytes at any alignment and never throws; unknown enum
// values are decode errors; every Text is cut by codec::bounded_detail on encode.
//
// tokenProgress (@5 in the schema) is reserved until the HTTP front door streams tokens: it has
// no struct here, and a decoder answers it with unknown_message.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schema/channel_common.hpp"
#include "schema/codec.hpp"

namespace aladdin::client_channel {

using channel_common::error_code;
using channel_common::wire_error;

// ZMQ_MAXMSGSIZE of the node's client ROUTER.
inline constexpr std::int64_t max_transport_bytes = channel_common::max_transport_bytes;

// client.capnp RejectReason and FailureReason, in schema order.
enum class reject_code : std::uint8_t { no_capacity, kv, ttft, atgt, invalid, overloaded, draining, over_context };
enum class failure_code : std::uint8_t {
  worker_lost, engine_rejected, cancelled, deadline_exceeded, shutting_down, internal, unschedulable
};
const char* to_string(reject_code c);
const char* to_string(failure_code c);

// ---- client -> intake ---------------------------------------------------------------------------

struct submit_query {
  std::uint64_t client_query_id = 0;  // chosen by the client; echoed in the reply
  std::uint32_t prompt_tokens = 0;
  std::uint32_t max_output_tokens = 0;  // 0 = unknown: the output length is predicted
  std::uint64_t ttft_slo_micros = 0;
  std::uint64_t atgt_slo_micros = 0;
  std::string model;
  friend bool operator==(const submit_query&, const submit_query&) = default;
};

// ---- intake -> client ---------------------------------------------------------------------------

struct query_accepted {
  std::uint64_t client_query_id = 0;
  std::uint64_t query_id = 0;
  friend bool operator==(const query_accepted&, const query_accepted&) = default;
};

struct query_rejected {
  std::uint64_t client_query_id = 0;
  reject_code reason = reject_code::invalid;
  std::string detail;
  friend bool operator==(const query_rejected&, const query_rejected&) = default;
};

struct first_token {
  std::uint64_t query_id = 0;
  std::uint64_t at_micros = 0;
  friend bool operator==(const first_token&, const first_token&) = default;
};

struct query_finished {
  std::uint64_t query_id = 0;
  std::uint32_t output_tokens = 0;
  std::uint64_t ttft_micros = 0;
  std::uint64_t atgt_micros = 0;
  friend bool operator==(const query_finished&, const query_finished&) = default;
};

struct query_failed {
  std::uint64_t query_id = 0;
  failure_code reason = failure_code::internal;
  std::string detail;
  friend bool operator==(const query_failed&, const query_failed&) = default;
};

// ---- aladdin status ------------------------------------------------------------------------------

struct status_request {
  std::uint64_t request_id = 0;
  friend bool operator==(const status_request&, const status_request&) = default;
};

// The node's status snapshot: what `aladdin status` prints and the front door's /status
// serves (actors/node/node_status.hpp renders it as text and as JSON).
struct worker_status {
  std::string name;
  std::string shape;
  bool draining = false;
  std::uint32_t running = 0;
  std::uint32_t queued = 0;
  std::uint64_t kv_used_tokens = 0;
  std::uint64_t kv_capacity_tokens = 0;
  friend bool operator==(const worker_status&, const worker_status&) = default;
};
struct status_reply {
  std::uint64_t request_id = 0;
  std::string node_name;
  std::string shape;
  bool draining = false;
  std::uint64_t waiting_queries = 0;
  std::uint64_t plan_epoch = 0;
  std::uint32_t plan_target_workers = 0;
  std::uint32_t fleet_launching = 0, fleet_active = 0, fleet_draining = 0;
  std::uint64_t accepted = 0, rejected = 0;
  std::uint64_t judged = 0, slo_met = 0;
  std::uint64_t recent_judged = 0, recent_met = 0;
  std::vector<worker_status> workers;
  friend bool operator==(const status_reply&, const status_reply&) = default;
};
// Most workers one reply lists (the rest are counted in the fleet numbers only).
inline constexpr std::size_t max_status_workers = 4096;

// Every member of the envelope's union that this build sends, in schema order (tokenProgress,
// reserved, left out).
using message = std::variant<submit_query, query_accepted, query_rejected, first_token,
                             query_finished, query_failed, wire_error, status_request, status_reply>;

// The two ends of the channel, and which of them sends each member.
enum class party : std::uint8_t { client, intake };
enum class direction : std::uint8_t { to_intake, to_client, both };
direction direction_of(const message& m);
// Whether `receiver` may be sent `m` (what decode checks).
bool may_receive(party receiver, const message& m);

// The schema's name of the member ("submitQuery"), for logs and error details.
const char* message_name(const message& m);

using received = channel_common::received<message>;

codec::encoded_message encode(const codec::envelope_header& h, const message& m);

// Decodes a frame that `receiver` got. Never throws.
codec::result<received> decode(std::span<const std::byte> bytes, party receiver,
                               const codec::decode_limits& limits = codec::decode_limits::channel());

// The error envelope, for input that could not be decoded.
codec::encoded_message encode_error(const codec::envelope_header& h, codec::decode_errc code,
                                    std::string_view detail);

}  // namespace aladdin::client_channel
