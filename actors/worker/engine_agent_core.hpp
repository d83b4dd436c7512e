#pragma once
// The engine agent's state machine: a worker on the worker channel in front of one
// OpenAI-compatible engine (vLLM's `vllm serve`), as plain C++ — no sockets, no clock reads.
// The caller passes `now` into every call, performs the engine calls it takes from
// take_calls() over HTTP (agent_process does, with actors/http/http_client), feeds the engine's
// answers back (stream_head / stream_data / stream_done, scrape_done) and sends what
// take_outbound() gives on the worker channel. The tests drive it on a fake clock.
//
// Channel lifecycle: worker_session's rules, shared with the emulated worker (registration and
// its retry, heartbeats, held events, unknownWorker, drain, shutdown). Registration waits for
// the first successful scrape of the engine's /metrics, which gives the KV cache's size
// (vllm:cache_config_info num_gpu_blocks × block_size) unless the options fix it.
//
// Assignments. One with a request (api completions / chatCompletions) becomes a streaming call
// to /v1/completions or /v1/chat/completions with the node's body, "stream": true,
// "stream_options": {"include_usage": true, "continuous_usage_stats": true} (vLLM then puts the
// running token count in every chunk, so each queryText says how many tokens it carries;
// without it a chunk with text counts one), and "max_tokens" = the assignment's
// maxOutputTokens when set, and "model" = served_model when given. One without (a token-count client) cannot run on a text engine:
// queryRejected invalid, "engine needs text". A body that is not a JSON object: queryRejected
// invalid. While draining: queryRejected invalid. A duplicate of a live id: ignored.
//
// The stream. The engine's SSE chunks are read with src/api/openai.hpp (sse_reader,
// decode_chunk). The first chunk with text sends firstToken (at the time it arrived), then each
// chunk with text one queryText (seq from 0). The chunk's finish_reason ("stop", "length") and
// the last usage (prompt_tokens, completion_tokens) go into queryCompleted when the stream ends
// with [DONE]. An HTTP error status becomes queryRejected: tooLarge when the engine says the
// context length is exceeded, invalid otherwise, with the engine's message. A chunk that cannot
// be read is an engine fault: queryRejected invalid naming it.
//
// An engine that stops answering. A stream that breaks (connection refused, reset, timeout,
// ended without [DONE]) may mean the engine died: the agent probes /metrics at once and holds
// the query. If the engine answers, the held queries are rejected (invalid, with the reason).
// If /metrics has not answered for engine_lost_after, the engine is lost: the session finishes
// with engine_lost and the agent sends nothing more, so the control node, hearing no
// heartbeats, treats the worker as lost and re-places or fails its queries as for any lost
// worker; the process then exits. Before the first registration an engine that does not answer
// is waited for (engine_silent_for() tells how long, for the log).
//
// Cancellation: a cancel call for the stream (the process closes its connection, which vLLM
// takes as an abort) and the query is forgotten: nothing more is reported for it.
//
// Heartbeats: running = the agent's queries that have produced a token (with their counts),
// waiting = those that have not; waitingCount = the larger of that and the engine's
// vllm:num_requests_waiting; kvBlocksUsed = vllm:kv_cache_usage_perc (or the older
// vllm:gpu_cache_usage_perc) × the cache's blocks, from the last scrape.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/worker/vllm_metrics.hpp"
#include "actors/worker/worker_core.hpp"
#include "actors/worker/worker_session.hpp"
#include "api/openai.hpp"
#include "schema/worker_channel.hpp"

namespace aladdin::worker {

struct agent_options {
  worker_identity identity;
  session_options session;
  micros scrape_interval = 500'000;        // /metrics, > 0
  micros engine_lost_after = 5'000'000;    // /metrics unanswered this long: the engine is lost; > 0
  // The KV cache, when the engine's /metrics does not say (0: read vllm:cache_config_info).
  std::uint64_t kv_capacity_tokens = 0;
  std::uint32_t block_size = 16;
  std::size_t max_heartbeat_waiting_ids = 4096;
  // Engine seconds per wall second, said at registration: 1 for a real GPU; an emulated engine
  // (`worker --emulate --http --time-scale X`) runs at X, and the node must run at X too.
  double time_scale = 1;
  // The engine's chunked-prefill budget per iteration (vLLM's --max-num-batched-tokens), said at
  // registration so the node plans the worker in its regime. vLLM's V1 engine always chunks; the
  // value must be what the engine was started with (its /metrics does not say). 0: the engine
  // runs prefill-first (vLLM V0 without --enable-chunked-prefill).
  std::uint32_t max_batched_tokens = 2048;
  // The model name the engine serves (vLLM's --served-model-name, e.g. meta-llama/Llama-2-70b-hf),
  // put in every request's "model"; empty: the body's (the node's catalogue name).
  std::string served_model;
};

// A call the agent wants made to the engine.
struct engine_call {
  enum class kind : std::uint8_t { stream, cancel, scrape };
  kind what = kind::scrape;
  std::uint64_t query_id = 0;  // stream, cancel
  std::string path;            // stream: "/v1/completions" or "/v1/chat/completions"
  std::string body;            // stream: the JSON body
};

struct agent_stats {
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t completed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t duplicate_assignments = 0;
  std::uint64_t broken_streams = 0;
  std::uint64_t scrapes_ok = 0;
  std::uint64_t scrapes_failed = 0;
};

class engine_agent_core {
 public:
  // Throws std::invalid_argument on bad options.
  engine_agent_core(agent_options options, micros now);

  // Asks for the first scrape; registration follows its success. Call once.
  void start(micros now);
  void handle(const worker_channel::message& message, micros now);

  // The engine's answer to a stream call: its status, body bytes as they come, and its end
  // (`transport_error` set when the connection failed, broke or timed out).
  void stream_head(std::uint64_t query_id, unsigned status, micros now);
  void stream_data(std::uint64_t query_id, std::string_view bytes, micros now);
  void stream_done(std::uint64_t query_id, const std::optional<std::string>& transport_error, micros now);
  // The answer to a scrape call: the body of a 200, or why there was none.
  void scrape_done(const std::optional<std::string>& body, const std::string& error, micros now);

  void advance(micros now);
  micros next_wake() const;
  std::optional<micros> silence_warning(micros now);
  std::vector<worker_channel::message> take_outbound() { return session_.take_outbound(); }
  std::vector<engine_call> take_calls();

  bool finished() const { return session_.finished() || !fatal_.empty(); }
  exit_reason why_finished() const { return session_.why_finished(); }
  // A configuration error that stops the agent (the engine's /metrics has no KV size and none
  // was given); empty otherwise.
  const std::string& fatal() const { return fatal_; }
  // Why the engine counts as lost (exit_reason::engine_lost).
  const std::string& lost_reason() const { return lost_reason_; }
  // How long the engine has not answered /metrics, when the operator should be told (once per
  // scrape_interval × 10); nullopt otherwise.
  std::optional<micros> engine_silence(micros now);
  bool registered() const { return session_.registered(); }
  std::uint32_t worker_id() const { return session_.worker_id(); }
  std::uint64_t epoch() const { return session_.epoch(); }
  const agent_stats& stats() const { return stats_; }
  const session_stats& session_counts() const { return session_.stats(); }
  const agent_options& options() const { return options_; }
  std::size_t active_queries() const { return flights_.size(); }
  const vllm_metrics& last_metrics() const { return metrics_; }

 private:
  struct flight {
    std::uint32_t prompt_tokens = 0;
    unsigned status = 0;
    api::sse_reader sse;
    std::string error_body;  // a non-200 answer, bounded
    bool first_sent = false;
    bool done_seen = false;  // data: [DONE]
    std::uint32_t seq = 0;
    std::uint32_t tokens = 0;
    std::optional<api::usage> usage;
    worker_channel::finish_reason finish = worker_channel::finish_reason::unknown;
    std::string fault;  // a chunk that could not be read
    std::optional<std::string> broken;  // the stream broke: held until the engine is probed
  };

  void on_assign(const worker_channel::assign_query& m, micros now);
  void on_cancel(const worker_channel::cancel_query& m);
  void on_event(std::uint64_t id, flight& f, const std::string& data, micros now);
  void reject(std::uint64_t id, worker_channel::engine_reject_code code, std::string detail);
  void finish_flight(std::uint64_t id, micros now);
  void request_scrape(micros now);
  worker_channel::heartbeat engine_heartbeat() const;

  agent_options options_;
  worker_session session_;
  micros last_now_;
  std::map<std::uint64_t, flight> flights_;  // ordered: heartbeats list them alike every time
  std::vector<engine_call> calls_;
  vllm_metrics metrics_;
  std::uint64_t kv_blocks_total_ = 0;
  std::uint32_t block_size_ = 16;
  bool started_ = false;
  bool scrape_in_flight_ = false;
  micros next_scrape_ = never;
  micros last_answer_ = 0;  // the last successful scrape, or the start
  bool answered_once_ = false;
  micros next_silence_note_ = never;
  std::string fatal_;
  std::string lost_reason_;
  agent_stats stats_;
};

}  // namespace aladdin::worker
