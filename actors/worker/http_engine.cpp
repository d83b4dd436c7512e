#include "actors/worker/http_engine.hpp"

#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "actors/worker/worker_process.hpp"
#include "api/token_estimate.hpp"

namespace aladdin::worker {

namespace wc = worker_channel;

// One HTTP request being answered.
struct http_engine::answer {
  http::writer_ptr writer;
  api::answer_head head;
  bool stream = false;
  bool include_usage = false;
  bool started = false;  // stream head written
  bool first = true;     // the next chunk is the first (chat: it carries the role)
  std::uint32_t prompt_tokens = 0;
  std::string text;      // whole answers: gathered
};

namespace {

http::http_response json_response(unsigned status, std::string body) {
  http::http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http::http_response error_response(const api::api_error& e) { return json_response(e.status, api::encode_error(e)); }

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

http_engine::http_engine(worker_core& core, http_engine_options options)
    : core_(core), options_(std::move(options)) {
  http::server_options so;
  so.host = options_.host;
  so.port = options_.port;
  so.threads = options_.threads;
  so.max_body_bytes = wc::max_request_body_bytes;
  server_ = std::make_unique<http::http_server>(so, [this](http::http_request req, http::writer_ptr w) {
    on_request(std::move(req), std::move(w));
  });
}

http_engine::~http_engine() { stop(); }

void http_engine::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The core speaks the worker channel; here nobody registers it, so it is admitted at once
    // (its query events are held until then).
    core_.start();
    core_.handle(wc::registered{0, 0}, wall_clock_now());
    (void)core_.take_outbound();
  }
  server_->start();
  engine_thread_ = std::thread([this] { loop(); });
}

void http_engine::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (engine_thread_.joinable()) engine_thread_.join();
  server_->stop();
}

void http_engine::on_request(http::http_request req, http::writer_ptr w) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_;
    if (options_.stall_after != 0 && requests_ > options_.stall_after) return;  // hung: never answers
  }
  const auto path = req.path();
  if (req.method == "GET" && path == "/health") return w->respond(json_response(200, ""));
  if (req.method == "GET" && path == "/metrics") {
    http::http_response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_text();
    return w->respond(std::move(r));
  }
  if (req.method == "GET" && path == "/v1/models")
    return w->respond(json_response(200, api::encode_models({options_.served_model}, unix_seconds())));
  if (req.method == "POST" && path == "/v1/completions")
    return on_generate(api::api_kind::completions, req, std::move(w));
  if (req.method == "POST" && path == "/v1/chat/completions")
    return on_generate(api::api_kind::chat_completions, req, std::move(w));
  api::api_error e;
  e.status = 404;
  e.type = "NotFoundError";
  e.message = "no route " + req.method + " " + std::string(path);
  w->respond(error_response(e));
}

void http_engine::on_generate(api::api_kind kind, const http::http_request& req, http::writer_ptr w) {
  const auto parsed = api::parse_request(kind, req.body);
  if (!parsed.ok) return w->respond(error_response(parsed.error));
  const api::request& r = *parsed.ok;
  if (r.model != options_.served_model) return w->respond(error_response(api::model_not_found(r.model)));
  const std::uint32_t prompt = r.prompt_token_ids
                                   ? static_cast<std::uint32_t>(r.prompt_token_ids->size())
                                   : api::token_estimator().estimate(r.prompt_chars);
  const std::uint64_t output = r.max_tokens.value_or(options_.default_output_tokens);
  if (options_.max_model_len > 0 && prompt + output > options_.max_model_len) {
    api::api_error e;
    e.type = "BadRequestError";
    e.message = "This model's maximum context length is " + std::to_string(options_.max_model_len) +
                " tokens. However, you requested " + std::to_string(prompt + output) + " tokens (" +
                std::to_string(prompt) + " in the prompt, " + std::to_string(output) +
                " in the completion). Please reduce the length of the prompt or completion.";
    return w->respond(error_response(e));
  }
  auto a = std::make_shared<answer>();
  a->writer = w;
  a->stream = r.stream;
  a->include_usage = r.include_usage;
  a->prompt_tokens = prompt;
  a->head.api = kind;
  a->head.model = options_.served_model;
  a->head.created = unix_seconds();
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return w->respond(error_response(api::unavailable("the engine is stopping", 1)));
    id = next_id_++;
    a->head.id = std::string(kind == api::api_kind::completions ? "cmpl-" : "chatcmpl-") + std::to_string(id);
    answers_.emplace(id, a);
    wc::assign_query q{id, prompt, 0, r.max_tokens.value_or(0), wall_clock_now(),
                       {kind == api::api_kind::completions ? wc::engine_api::completions
                                                           : wc::engine_api::chat_completions,
                        req.body}};
    core_.handle(q, wall_clock_now());
    for (auto& m : core_.take_outbound()) dispatch(std::move(m));
  }
  w->on_disconnect([this, id] {
    std::lock_guard<std::mutex> lock(mu_);
    if (answers_.erase(id) != 0) {
      ++cancelled_;
      core_.handle(wc::cancel_query{id}, wall_clock_now());
    }
  });
  cv_.notify_all();
}

// Under mu_.
void http_engine::dispatch(wc::message m) {
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, wc::query_text>) {
          auto it = answers_.find(x.query_id);
          if (it == answers_.end()) return;
          answer& a = *it->second;
          if (!a.stream) {
            a.text += x.text;
            return;
          }
          if (!a.started) {
            a.writer->start_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
            a.started = true;
          }
          a.writer->write(api::sse_event(api::encode_chunk(a.head, x.text, a.first, "", a.include_usage)));
          a.first = false;
        } else if constexpr (std::is_same_v<T, wc::query_completed>) {
          auto it = answers_.find(x.query_id);
          if (it == answers_.end()) return;
          answer& a = *it->second;
          const char* finish = x.finish == wc::finish_reason::length ? "length" : "stop";
          const api::usage u{a.prompt_tokens, x.output_tokens};
          if (!a.stream) {
            a.writer->respond(json_response(200, api::encode_response(a.head, a.text, finish, u)));
          } else {
            if (!a.started) a.writer->start_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
            a.writer->write(api::sse_event(api::encode_chunk(a.head, "", a.first, finish, a.include_usage)));
            if (a.include_usage) a.writer->write(api::sse_event(api::encode_usage_chunk(a.head, u)));
            a.writer->write(std::string(api::sse_done));
            a.writer->finish();
          }
          answers_.erase(it);
        } else if constexpr (std::is_same_v<T, wc::engine_rejected>) {
          auto it = answers_.find(x.query_id);
          if (it == answers_.end()) return;
          api::api_error e;
          e.status = 400;
          e.type = "BadRequestError";
          e.message = x.reason == wc::engine_reject_code::too_large
                          ? "This model's maximum context length is exceeded: " + x.detail
                          : x.detail;
          it->second->writer->respond(error_response(e));
          answers_.erase(it);
        }  // firstToken: the first text chunk says it; heartbeats feed /metrics instead
      },
      m);
}

std::string http_engine::metrics_text() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto& e = core_.engine();
  const double used = e.kv_blocks_total() > 0 ? static_cast<double>(e.kv_blocks_used()) / e.kv_blocks_total() : 0;
  const std::string labels = "{engine=\"0\",model_name=\"" + options_.served_model + "\"}";
  char kv[64];
  std::snprintf(kv, sizeof kv, "%.6f", used);
  std::string out;
  out += "# HELP vllm:num_requests_running Number of requests in model execution batches.\n";
  out += "# TYPE vllm:num_requests_running gauge\n";
  out += "vllm:num_requests_running" + labels + " " + std::to_string(e.running_count()) + "\n";
  out += "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n";
  out += "# TYPE vllm:num_requests_waiting gauge\n";
  out += "vllm:num_requests_waiting" + labels + " " + std::to_string(e.waiting_count()) + "\n";
  out += "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n";
  out += "# TYPE vllm:kv_cache_usage_perc gauge\n";
  out += "vllm:kv_cache_usage_perc" + labels + " " + kv + "\n";
  out += "# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage (the pre-V1 name).\n";
  out += "# TYPE vllm:gpu_cache_usage_perc gauge\n";
  out += "vllm:gpu_cache_usage_perc" + labels + " " + kv + "\n";
  out += "# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n";
  out += "# TYPE vllm:cache_config_info gauge\n";
  out += "vllm:cache_config_info{block_size=\"" + std::to_string(e.options().block_size) +
         "\",cache_dtype=\"auto\",num_gpu_blocks=\"" + std::to_string(e.kv_blocks_total()) + "\"} 1.0\n";
  out += "# HELP aladdin_engine_cancelled_total Requests whose client left before the answer ended.\n";
  out += "# TYPE aladdin_engine_cancelled_total counter\n";
  out += "aladdin_engine_cancelled_total " + std::to_string(cancelled_) + "\n";
  return out;
}

void http_engine::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const micros now = wall_clock_now();
    core_.advance(now);
    for (auto& m : core_.take_outbound()) dispatch(std::move(m));
    const micros wake = core_.next_wake();
    if (wake == never) {
      cv_.wait(lock);
    } else if (wake > now) {
      cv_.wait_for(lock, std::chrono::microseconds(wake - now));
    }
  }
  // Stopping: what is still answered ends with an error, so no client hangs.
  for (auto& [id, a] : answers_) {
    if (a->started) {
      a->writer->finish();
    } else {
      a->writer->respond(error_response(api::unavailable("the engine stopped", 1)));
    }
  }
  answers_.clear();
}

}  // namespace aladdin::worker
