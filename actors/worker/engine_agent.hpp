#pragma once
// The engine agent's process side: engine_agent_core on the system clock, its engine calls made
// over HTTP (actors/http/http_client), as a channel_driver that worker_process runs on the
// worker channel (`aladdin worker --vllm URL`).
//
// Threads: the HTTP client answers on its own thread; each answer (a stream's head, a piece of
// its body, its end; a scrape's result) is queued with the wall time it arrived and an eventfd
// is signalled, which wakes worker_process's poll; advance() then feeds the queue to the core in
// arrival order on the worker's thread and makes the calls the core asks for. So the core stays
// single-threaded and the times it reports are those at which the bytes arrived.
//
// Two HTTP clients: one for /metrics with short timeouts (a scrape that takes longer than
// scrape_timeout counts as unanswered), one for the streams with a generous head timeout and an
// idle timeout between chunks (a request queued inside vLLM may wait long before its first
// chunk). A cancel closes the stream's connection, which vLLM takes as the client going away
// and aborts the request.

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/http/http_client.hpp"
#include "actors/worker/engine_agent_core.hpp"
#include "actors/worker/worker_process.hpp"

namespace aladdin::worker {

struct engine_agent_options {
  agent_options agent;
  http::http_url engine;  // the engine's base URL
  std::chrono::milliseconds scrape_timeout{2'000};
  std::chrono::milliseconds stream_head_timeout{600'000};
  std::chrono::milliseconds stream_idle_timeout{600'000};
};

class engine_agent final : public channel_driver {
 public:
  // Throws std::runtime_error when the eventfd cannot be made; std::invalid_argument on bad
  // options.
  explicit engine_agent(engine_agent_options options);
  ~engine_agent() override;

  const std::string& name() const override { return options_.agent.identity.name; }
  void start(micros now) override;
  void handle(const worker_channel::message& m, micros now) override;
  void advance(micros now) override;
  micros next_wake() const override { return core_.next_wake(); }
  std::optional<micros> silence_warning(micros now) override { return core_.silence_warning(now); }
  std::vector<worker_channel::message> take_outbound() override { return core_.take_outbound(); }
  bool finished() const override { return core_.finished(); }
  bool registered() const override { return core_.registered(); }
  std::uint32_t worker_id() const override { return core_.worker_id(); }
  std::uint64_t epoch() const override { return core_.epoch(); }
  std::uint64_t errors_received() const override { return core_.session_counts().errors_received; }
  int wake_fd() const override { return wake_fd_; }

  const engine_agent_core& core() const { return core_; }
  // What the operator should hear (the engine not answering); empty when nothing new.
  std::vector<std::string> take_notes() override;

 private:
  struct answer {
    enum class kind : std::uint8_t { head, data, done, scrape } what = kind::data;
    std::uint64_t query_id = 0;
    unsigned status = 0;
    std::string bytes;                 // data; scrape: the body
    std::optional<std::string> error;  // done, scrape: why it failed
    micros at = 0;
  };

  void push(answer a);
  void drain_answers();
  void run_calls();

  engine_agent_options options_;
  engine_agent_core core_;
  http::http_client metrics_client_;
  http::http_client stream_client_;
  int wake_fd_ = -1;
  std::mutex mu_;
  std::deque<answer> answers_;  // guarded by mu_
  std::unordered_map<std::uint64_t, http::request_id> streams_;  // the worker's thread only
  std::vector<std::string> notes_;
};

}  // namespace aladdin::worker
