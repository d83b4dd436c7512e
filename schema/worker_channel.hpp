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
// Encoding cuts every human-readable Text with codec::bounded_detail.
//
// The text relay (a client that sent text, an engine that takes text). An assignment carries
// `request` (api + the client's JSON body) only for a client that sent text; api = none means a
// token-count client, and then the body is empty. The worker sends queryText only for queries
// whose assignment carried a request: the generated text in order, seq counting that query's
// chunks from 0. Decode refuses (malformed) a request whose api and body disagree (a body with
// api none, an empty body with an api). Size: a frame is at most 64 KiB
// (decode_limits::channel), so the node assigns no body longer than max_request_body_bytes (the
// front door answers 413 first), and a worker splits text into chunks of at most
// max_text_chunk_bytes (split_text does it at UTF-8 boundaries); encode never cuts a body, and
// cuts a longer chunk's text (at a UTF-8 boundary) rather than send a frame the peer refuses.

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
  // Tokens per engine iteration with chunked prefill (prompts are cut into chunks that share
  // an iteration with the decoding batch); 0: the engine runs prefill-first. Placement plans
  // each worker in its own regime.
  std::uint32_t max_batched_tokens = 0;
  friend bool operator==(const register_worker&, const register_worker&) = default;
};
// The budgets a registration may say in max_batched_tokens besides 0, checked by the node and
// by the worker's flag: below one KV block per iteration an engine makes no progress worth
// planning; above 1M tokens the value is a corrupt field, not a configuration.
inline constexpr std::uint32_t kMinBatchedTokens = 16;
inline constexpr std::uint32_t kMaxBatchedTokens = 1u << 20;

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

// worker.capnp FinishReason, in schema order: why the engine stopped.
enum class finish_reason : std::uint8_t { unknown, stop, length };
const char* to_string(finish_reason r);  // "unknown", "stop", "length" (OpenAI's spelling)

struct query_completed {
  std::uint64_t query_id = 0;
  std::uint32_t output_tokens = 0;
  std::uint64_t at_micros = 0;
  finish_reason finish = finish_reason::unknown;
  std::uint32_t prompt_tokens = 0;  // as the engine tokenised the prompt; 0 = unknown
  friend bool operator==(const query_completed&, const query_completed&) = default;
};

// The schema's QueryText: a chunk of a running query's generated text.
struct query_text {
  std::uint64_t query_id = 0;
  std::uint32_t seq = 0;     // this query's chunks, from 0
  std::string text;          // at most max_text_chunk_bytes
  std::uint32_t tokens = 0;  // output tokens this chunk carries
  friend bool operator==(const query_text&, const query_text&) = default;
};

// worker.capnp EngineRejectReason, in schema order.
enum class engine_reject_code : std::uint8_t { too_large, invalid, stream_broken };
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

// worker.capnp EngineRequest.Api, in schema order.
enum class engine_api : std::uint8_t { none, completions, chat_completions };
const char* to_string(engine_api a);  // "none", "completions", "chatCompletions"

// The schema's EngineRequest: what the client asked, for an engine that takes text.
struct engine_request {
  engine_api api = engine_api::none;  // none: a token-count client; body empty
  std::string body;  // the client's JSON body, "model" set to the served name; ≤ max_request_body_bytes
  friend bool operator==(const engine_request&, const engine_request&) = default;
};

struct assign_query {
  std::uint64_t query_id = 0;
  std::uint32_t prompt_tokens = 0;
  std::uint32_t output_tokens_hint = 0;  // predicted output length; 0 = no prediction
  std::uint32_t max_output_tokens = 0;   // hard stop from the client; 0 = the engine's limit
  std::uint64_t arrival_micros = 0;
  engine_request request{};              // api none: the client sent token counts only
  friend bool operator==(const assign_query&, const assign_query&) = default;
};

// Size rules of the text relay (see the header comment): both leave room under the 64 KiB frame.
inline constexpr std::size_t max_request_body_bytes = 56 * 1024;
inline constexpr std::size_t max_text_chunk_bytes = 16 * 1024;

// `text` cut into pieces of at most `max_bytes` (≥ 4), each ending on a UTF-8 character boundary
// (a malformed sequence is cut anywhere, so every piece is non-empty); empty text gives none.
std::vector<std::string> split_text(std::string_view text, std::size_t max_bytes = max_text_chunk_bytes);

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
                             shutdown_worker, wire_error, query_text>;

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
