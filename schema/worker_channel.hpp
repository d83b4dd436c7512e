#pragma once
// The worker channel (schema/worker.capnp) as plain C++ values, and its one codec: what the
// control node's bridge, the emulated worker, the tests' fake worker and fake node all speak.
//
// One struct per message, field names and units as in the schema (`at_micros`: wall-clock
// microseconds since the Unix epoch). Each message has a direction — which party sends it — and
// a receiver refuses a member that travels the other way (a heartbeat sent to a worker, say)
// with unknown_message: it cannot act on it, and the sender should hear so.
//
// Decoding accepts any bytes — any size, any alignment (ZeroMQ TCP frames are usually not
// 8-byte aligned) — and never throws: a bad frame is a typed codec::decode_error, ready to be
// answered with encode_error (unless it was itself an error reply: decode_error::answerable).
// Enum values this build does not know (a newer peer) are decode errors too, never mapped to a
// neighbour. Every field is copied out at once under a try/catch, which doubles as the
// validation (the codec's own visit of every field is skipped: decode_limits::visit_fields).
// Encoding cuts every Text with codec::bounded_detail.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schema/channel_common.hpp"
#include "schema/codec.hpp"

namespace aladdin::worker_channel {

using channel_common::error_code;
using channel_common::wire_error;

// ZMQ_MAXMSGSIZE of both ends of the channel (the node's ROUTER, the worker's DEALER).
inline constexpr std::int64_t max_transport_bytes = channel_common::max_transport_bytes;

// ---- worker -> control plane --------------------------------------------------------------------

struct register_worker {
  std::string worker_name;  // stable across restarts of the worker process
  std::string model;
  std::string gpu;
  std::uint16_t tp = 1;     // GPUs per worker
  std::uint64_t kv_capacity_tokens = 0;
  std::uint32_t block_size = 16;  // tokens per KV block
  double time_scale = 1;          // engine seconds per wall second (1: a real GPU)
  friend bool operator==(const register_worker&, const register_worker&) = default;
};

struct query_progress {
  std::uint64_t query_id = 0;
  std::uint32_t generated_tokens = 0;
  friend bool operator==(const query_progress&, const query_progress&) = default;
};

struct heartbeat {
  std::uint32_t worker_id = 0;
  std::uint64_t at_micros = 0;
  std::uint32_t kv_blocks_used = 0;
  std::uint32_t kv_blocks_total = 0;
  std::vector<query_progress> running;
  std::uint32_t waiting_count = 0;
  std::vector<std::uint64_t> waiting;  // the head of the queue; waiting_count is the full count
  friend bool operator==(const heartbeat&, const heartbeat&) = default;
};

struct first_token {
  std::uint64_t query_id = 0;
  std::uint64_t at_micros = 0;
  friend bool operator==(const first_token&, const first_token&) = default;
};

struct query_completed {
  std::uint64_t query_id = 0;
  std::uint32_t output_tokens = 0;
  std::uint64_t at_micros = 0;
  friend bool operator==(const query_completed&, const query_completed&) = default;
};

// worker.capnp EngineRejectReason, in schema order.
enum class engine_reject_code : std::uint8_t { too_large, invalid };
const char* to_string(engine_reject_code c);

// The schema's QueryRejected: the engine refused an assignment.
struct engine_rejected {
  std::uint64_t query_id = 0;
  engine_reject_code reason = engine_reject_code::invalid;
  std::string detail;
  friend bool operator==(const engine_rejected&, const engine_rejected&) = default;
};

// ---- control plane -> worker --------------------------------------------------------------------

struct registered {
  std::uint32_t worker_id = 0;
  std::uint64_t epoch = 0;
  friend bool operator==(const registered&, const registered&) = default;
};

struct assign_query {
  std::uint64_t query_id = 0;
  std::uint32_t prompt_tokens = 0;
  std::uint32_t output_tokens_hint = 0;  // predicted output length; 0 = no prediction
  std::uint32_t max_output_tokens = 0;   // hard stop from the client; 0 = the engine's limit
  std::uint64_t arrival_micros = 0;
  friend bool operator==(const assign_query&, const assign_query&) = default;
};

struct cancel_query {
  std::uint64_t query_id = 0;
  friend bool operator==(const cancel_query&, const cancel_query&) = default;
};

// The schema's Drain: finish what runs, accept nothing new.
struct drain_worker {
  std::uint64_t deadline_micros = 0;  // 0 = no deadline
  friend bool operator==(const drain_worker&, const drain_worker&) = default;
};

// The schema's Shutdown: stop now.
struct shutdown_worker {
  std::string reason;
  friend bool operator==(const shutdown_worker&, const shutdown_worker&) = default;
};

// Every member of the envelope's union, in schema order.
using message = std::variant<register_worker, registered, assign_query, cancel_query, heartbeat,
                             first_token, query_completed, engine_rejected, drain_worker,
                             shutdown_worker, wire_error>;

// The two ends of the channel, and which of them sends each member.
enum class party : std::uint8_t { control_plane, worker };
enum class direction : std::uint8_t { to_control_plane, to_worker, both };
direction direction_of(const message& m);
// Whether `receiver` may be sent `m` (what decode checks).
bool may_receive(party receiver, const message& m);

// The schema's name of the member ("heartbeat", "queryRejected"), for logs and error details.
const char* message_name(const message& m);

using received = channel_common::received<message>;

codec::encoded_message encode(const codec::envelope_header& h, const message& m);

// Decodes a frame that `receiver` got. Never throws.
codec::result<received> decode(std::span<const std::byte> bytes, party receiver,
                               const codec::decode_limits& limits = codec::decode_limits::channel());

// The error envelope, for input that could not be decoded.
codec::encoded_message encode_error(const codec::envelope_header& h, codec::decode_errc code,
                                    std::string_view detail);

}  // namespace aladdin::worker_channel
