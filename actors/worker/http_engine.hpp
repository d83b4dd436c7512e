#pragma once
// The emulated engine served over HTTP with vLLM's OpenAI-compatible API and metric names
// (`aladdin worker --emulate --http PORT`): the tests' fake engine and a stand-in vLLM with
// realistic timing. It is not a second engine: it is worker_core (the simulator's engine on
// measured tables, its synthetic text, its refusals) behind another transport — each HTTP
// request becomes an assignment with a request, and the core's firstToken / queryText /
// queryCompleted / queryRejected become the answer.
//
// Served (actors/http/http_server; shapes from src/api/openai):
//   POST /v1/completions, /v1/chat/completions  streamed (SSE chunks, include_usage's usage
//       chunk, [DONE]) or whole; prompt tokens = the token ids sent, else the text's UTF-8
//       bytes / 4 (api::token_estimator's prior, this engine's "tokenizer", reported as
//       usage.prompt_tokens); output length = max_tokens, else --default-output (the emulation
//       has no end-of-sequence). Bad bodies 400 (OpenAI error JSON); prompt + max_tokens over
//       max_model_len (the catalogue model's context) or more than the KV cache can ever hold
//       400 with vLLM's "maximum context length" wording; unknown paths 404.
//   GET /metrics  vllm:num_requests_running, vllm:num_requests_waiting, vllm:kv_cache_usage_perc,
//       vllm:gpu_cache_usage_perc, vllm:cache_config_info{block_size,num_gpu_blocks}.
//   GET /health  200. GET /v1/models.
//   Besides vLLM's names, aladdin_engine_cancelled_total counts the requests whose client left
//   before the answer ended (what a test checks a cancel by).
// A client that disconnects cancels its query (the core frees it as a real engine's abort).
//
// Faults for tests: stall_after (after that many requests, accept connections but never answer
// again: a hung engine); dying is the process being killed.
//
// Threads: the server's threads parse and enqueue under a mutex; one engine thread advances the
// core on the wall clock (worker_process::wall_clock_now), waiting on a condition variable until
// the core's next wake-up or a new request, and writes to the answers' writers.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "actors/http/http_server.hpp"
#include "actors/worker/worker_core.hpp"
#include "api/openai.hpp"

namespace aladdin::worker {

struct http_engine_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port
  std::string served_model;  // the name /v1/models lists and requests must use
  int threads = 1;
  std::uint64_t stall_after = 0;  // 0: never
  // vLLM's max_model_len: prompt + max_tokens above it is refused (400); 0: no limit.
  std::uint32_t max_model_len = 0;
  std::uint32_t default_output_tokens = 256;  // the output when max_tokens is absent
};

class http_engine {
 public:
  // `core` must be started with nothing else driving it; http_engine owns its clock from now.
  http_engine(worker_core& core, http_engine_options options);
  ~http_engine();
  http_engine(const http_engine&) = delete;
  http_engine& operator=(const http_engine&) = delete;

  // Binds (throws std::runtime_error naming the address) and starts the engine thread.
  void start();
  std::uint16_t port() const { return server_->port(); }
  void stop();

 private:
  struct answer;

  void on_request(http::http_request req, http::writer_ptr w);
  void on_generate(api::api_kind kind, const http::http_request& req, http::writer_ptr w);
  std::string metrics_text();
  void loop();
  void dispatch(worker_channel::message m);

  worker_core& core_;
  http_engine_options options_;
  std::unique_ptr<http::http_server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::uint64_t next_id_ = 1;
  std::uint64_t requests_ = 0;
  std::uint64_t cancelled_ = 0;
  std::unordered_map<std::uint64_t, std::shared_ptr<answer>> answers_;
  std::thread engine_thread_;
};

}  // namespace aladdin::worker
