#pragma once
// The node's OpenAI-compatible HTTP front door: `POST /v1/completions`, `POST
// /v1/chat/completions` (whole answers, or Server-Sent Events with `"stream": true`), `GET
// /v1/models`, `GET /health`, `GET /ready`, `GET /metrics`, `GET /status`, on
// actors/http/http_server.hpp.
//
// One intake, two front ends: an HTTP request becomes the same client_submit a Cap'n Proto
// client's submitQuery becomes, with a routing id of its own (http_client_id: a leading NUL
// byte, which no ZeroMQ client can choose) and the validated body as its engine request, and
// goes to the intake (front_door_node::submit, one batch per burst of requests) — same
// admission, journal and placement. What the
// node answers a client (queryAccepted, queryRejected, queryFinished, queryFailed) comes back as
// frames: split_outbox hands those addressed to an HTTP routing id to deliver() instead of the
// ZeroMQ bridge. The generated text arrives through the text_relay interface from the worker
// proxies, in seq order (a duplicate seq is dropped); a streamed answer gets each chunk as it
// comes, a whole one gets the text at completion.
//
// Prompt length: token ids are counted; text is estimated (src/api/token_estimate.hpp) and
// the estimate calibrated from the engines' own counts at completion. A client that
// disconnects before its answer is complete cancels its query (front_door_node::cancel): the
// worker is told to stop and its capacity is freed.
//
// Errors are OpenAI's error JSON (src/api/openai.hpp): the request's own faults before
// anything is submitted (400, 404 unknown model, 413, over-context 400), the intake's refusals
// after (overloaded 429 and draining 503 with Retry-After; invalid, over-context and kv 400),
// a failure after acceptance as the answer (whole) or as a last SSE event `{"error": ...}`
// (stream). Every request ends with its text or an error.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/http/http_server.hpp"
#include "actors/node/text_relay.hpp"
#include "actors/wire/messages.hpp"
#include "actors/wire/outbox.hpp"
#include "api/openai.hpp"
#include "api/token_estimate.hpp"

namespace aladdin::node {

struct front_door_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;  // 0: any free port
  int threads = 1;
  std::string model;                 // the served model's canonical name
  std::uint32_t context_tokens = 0;  // prompt + max_tokens over it: 400 (0: not checked)
  std::size_t max_body_bytes = worker_channel::max_request_body_bytes;
  unsigned retry_after_s = 1;        // Retry-After of 429 and 503
  std::vector<api::slo_class_ms> slo_classes;  // named classes a request may ask for
  api::token_estimate_options estimate;
};

// What the front door needs of the node (the composition root implements it with actor
// messages; tests with a fake).
class front_door_node {
 public:
  virtual ~front_door_node() = default;
  virtual void submit(std::vector<client_submit> batch) = 0;  // to the intake, in order
  virtual void cancel(query_id q, std::string why) = 0;     // the client has gone
  virtual bool ready() const = 0;        // a registered worker of the served model, not draining
  virtual std::string metrics() const = 0;      // the node's series, Prometheus text format
  virtual std::string status_json() const = 0;  // the node's status snapshot (aladdin status --json)
};

struct front_door_counters {
  std::uint64_t requests = 0;         // generation requests received
  std::uint64_t invalid = 0;          // refused before submission (400, 404, 413)
  std::uint64_t refused = 0;          // refused by the intake
  std::uint64_t completed = 0;        // answered with their text
  std::uint64_t failed = 0;           // failed after acceptance
  std::uint64_t disconnects = 0;      // clients gone before their answer: queries cancelled
  std::uint64_t duplicate_chunks = 0; // text chunks dropped as duplicates
  std::uint64_t streams_open = 0;
  double chars_per_token = 0;         // the estimate's ratio now
  std::uint64_t estimate_samples = 0;
};

// The routing id of an HTTP request (number n), and whether a routing id is one.
routing_id http_client_id(std::uint64_t n);
bool is_http_client(const routing_id& peer);

class front_door final : public text_relay {
 public:
  front_door(front_door_options options, front_door_node& node);
  ~front_door() override;
  front_door(const front_door&) = delete;
  front_door& operator=(const front_door&) = delete;

  // Binds (throws std::runtime_error naming the address) and serves.
  void start();
  // Stops serving; requests still open get nothing more.
  void stop();
  std::uint16_t port() const;
  std::string url() const;  // http://host:port

  // A frame the node addressed to an HTTP client (is_http_client). Any thread; never blocks.
  void deliver(const outbound_frame& frame);
  // text_relay: from the worker proxies.
  void text(query_id q, const worker_channel::query_text& chunk) override;
  void completed(query_id q, const worker_channel::query_completed& done) override;

  front_door_counters counters() const;

 private:
  struct pending;
  void handle(http::http_request req, http::writer_ptr w);
  void generate(api::api_kind api, const http::http_request& req, const http::writer_ptr& w);
  void on_gone(std::uint64_t n);
  void end_with_error(pending& p, const api::api_error& e);
  void finish(pending& p, std::uint32_t output_tokens);
  void erase(std::uint64_t n);
  void flush();

  front_door_options options_;
  front_door_node& node_;
  std::unique_ptr<http::http_server> server_;
  std::int64_t started_unix_s_ = 0;

  mutable std::mutex mutex_;
  std::uint64_t next_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<pending>> by_client_;  // request number → state
  std::unordered_map<std::uint64_t, std::uint64_t> by_query_;             // query id → request number
  api::token_estimator estimator_;
  front_door_counters counts_;
  // Submissions not yet handed to the intake: flushed once per burst of requests on the
  // server's thread (as the ZeroMQ bridge hands over one batch per poll round).
  std::mutex outgoing_mutex_;
  std::vector<client_submit> outgoing_;
};

// The node's outbox with the front door in front of it: frames for HTTP clients go to the front
// door, everything else on to `next` (the ZeroMQ bridge), each in the order posted.
class split_outbox final : public outbox {
 public:
  split_outbox(outbox& next, front_door& door) : next_(next), door_(door) {}
  void post(outbound_frame frame) override;
  void post_all(std::vector<outbound_frame>& frames) override;

 private:
  outbox& next_;
  front_door& door_;
};

}  // namespace aladdin::node
