// The node's OpenAI-compatible HTTP front door; the contract is in front_door.hpp.
#include "actors/front/front_door.hpp"

#include <chrono>
#include <cstdio>
#include <optional>

#include "actors/front/front_door_metrics.hpp"
#include "model/hardware.hpp"

namespace aladdin::node {

namespace cc = client_channel;
namespace wc = worker_channel;

namespace {

constexpr char http_prefix[] = {'\0', 'h', 't', 't', 'p', '/'};
constexpr std::size_t http_prefix_size = sizeof http_prefix;

http::http_response json_response(unsigned status, std::string body) {
  http::http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http::http_response error_response(const api::api_error& e) {
  http::http_response r = json_response(e.status, api::encode_error(e));
  if (e.retry_after_s) r.headers.emplace_back("Retry-After", std::to_string(*e.retry_after_s));
  return r;
}

api::api_error error_of(const cc::query_rejected& r, unsigned retry_after_s) {
  using R = cc::reject_code;
  switch (r.reason) {
    case R::overloaded:
    case R::no_capacity:
    case R::ttft:
    case R::atgt: return api::overloaded("the node is overloaded: " + r.detail, retry_after_s);
    case R::draining: return api::unavailable("the node is shutting down: " + r.detail, retry_after_s);
    case R::over_context: {
      api::api_error e = api::bad_request(r.detail, "max_tokens");
      e.code = "context_length_exceeded";
      return e;
    }
    case R::kv: {
      api::api_error e = api::bad_request(r.detail, "prompt");
      e.code = "prompt_too_large";
      return e;
    }
    case R::invalid: return api::bad_request(r.detail);
  }
  return api::bad_request(r.detail);
}

api::api_error error_of(const cc::query_failed& f, unsigned retry_after_s) {
  using F = cc::failure_code;
  api::api_error e;
  switch (f.reason) {
    case F::engine_rejected:
    case F::unschedulable:
      e = api::bad_request(f.detail);
      break;
    case F::deadline_exceeded:
    case F::shutting_down:
      e = api::unavailable(f.detail, retry_after_s);
      break;
    case F::worker_lost:
      e = api::server_error(f.detail);
      e.status = 502;
      break;
    case F::cancelled:
    case F::internal:
      e = api::server_error(f.detail);
      break;
  }
  e.code = cc::to_string(f.reason);
  return e;
}

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

routing_id http_client_id(std::uint64_t n) {
  routing_id id(http_prefix, http_prefix_size);
  id += std::to_string(n);
  return id;
}

bool is_http_client(const routing_id& peer) {
  return peer.size() > http_prefix_size && peer.compare(0, http_prefix_size, http_prefix, http_prefix_size) == 0;
}

struct front_door::pending {
  std::uint64_t n = 0;
  http::writer_ptr w;
  api::answer_head head;
  bool stream = false;
  bool include_usage = false;
  std::optional<std::uint32_t> max_tokens;  // as the worker was told
  std::uint32_t prompt_tokens = 0;          // as placement was told
  std::size_t prompt_chars = 0;
  bool estimated = false;
  std::uint64_t query = 0;  // the node's query id, once accepted
  bool gone = false;        // the client left before its query was accepted
  bool stream_started = false;
  std::uint32_t next_seq = 0;
  std::string text;  // a whole answer's, collected
  std::string finish_reason;
  std::uint32_t engine_prompt_tokens = 0;
};

front_door::front_door(front_door_options options, front_door_node& node)
    : options_(std::move(options)), node_(node), estimator_(options_.estimate) {}

front_door::~front_door() { stop(); }

void front_door::start() {
  if (server_) return;
  http::server_options so;
  so.host = options_.host;
  so.port = options_.port;
  so.threads = options_.threads;
  so.max_body_bytes = options_.max_body_bytes;
  so.error_body = [](unsigned status, std::string reason) {
    api::api_error e = status == 413 ? api::body_too_large(0) : api::bad_request(reason);
    e.status = status;
    e.message = std::move(reason);
    return error_response(e);
  };
  started_unix_s_ = unix_now_s();
  server_ = std::make_unique<http::http_server>(so, [this](http::http_request req, http::writer_ptr w) {
    handle(std::move(req), std::move(w));
  });
  server_->start();
}

void front_door::stop() {
  if (server_) server_->stop();
}

std::uint16_t front_door::port() const { return server_ ? server_->port() : 0; }

std::string front_door::url() const { return "http://" + options_.host + ":" + std::to_string(port()); }

front_door_counters front_door::counters() const {
  std::lock_guard lock(mutex_);
  front_door_counters c = counts_;
  c.chars_per_token = estimator_.chars_per_token();
  c.estimate_samples = estimator_.samples();
  return c;
}

// ---- requests -------------------------------------------------------------------------------

void front_door::handle(http::http_request req, http::writer_ptr w) {
  const std::string_view path = req.path();
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  auto wrong_method = [&](const char* allowed) {
    http::http_response r = error_response(api::bad_request(req.method + " is not allowed on " + std::string(path)));
    r.status = 405;
    r.headers.emplace_back("Allow", allowed);
    w->respond(std::move(r));
  };
  if (path == "/v1/completions" || path == "/v1/chat/completions") {
    if (!post) return wrong_method("POST");
    return generate(path == "/v1/completions" ? api::api_kind::completions : api::api_kind::chat_completions, req, w);
  }
  if (path == "/v1/models") {
    if (!get) return wrong_method("GET");
    return w->respond(json_response(200, api::encode_models({options_.model}, started_unix_s_)));
  }
  if (path == "/health") {
    if (!get) return wrong_method("GET");
    return w->respond(json_response(200, R"({"status":"ok"})"));
  }
  if (path == "/ready") {
    if (!get) return wrong_method("GET");
    const bool ready = node_.ready();
    return w->respond(json_response(ready ? 200 : 503, ready ? R"({"ready":true})" : R"({"ready":false})"));
  }
  if (path == "/status") {
    if (!get) return wrong_method("GET");
    return w->respond(json_response(200, node_.status_json()));
  }
  if (path == "/metrics") {
    if (!get) return wrong_method("GET");
    http::http_response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = node_.metrics() + prometheus_text(counters());
    return w->respond(std::move(r));
  }
  api::api_error e = api::bad_request("no such endpoint: " + req.method + " " + std::string(path.substr(0, 128)));
  e.status = 404;
  w->respond(error_response(e));
}

void front_door::generate(api::api_kind kind, const http::http_request& req, const http::writer_ptr& w) {
  auto refuse = [&](const api::api_error& e) {
    {
      std::lock_guard lock(mutex_);
      ++counts_.requests;
      ++counts_.invalid;
    }
    w->respond(error_response(e));
  };
  api::parse_result parsed = api::parse_request(kind, req.body);
  if (!parsed.ok) return refuse(parsed.error);
  api::request& r = *parsed.ok;
  if (canonical_model(r.model) != options_.model) return refuse(api::model_not_found(r.model));
  api::slo_headers slo;
  if (auto e = api::slo_from_headers(req.header("x-slo-ttft-ms"), req.header("x-slo-tpot-ms"), slo)) return refuse(*e);
  const api::slo_choice chosen = api::resolve_slo(slo, req.header("x-slo-class"), r, options_.slo_classes);
  if (chosen.error) return refuse(*chosen.error);
  const std::optional<double> ttft_ms = chosen.ttft_ms;
  const std::optional<double> tpot_ms = chosen.tpot_ms;
  // OpenAI's legacy completions stop at 16 tokens unless told otherwise (vLLM too); chat runs
  // until the model stops or the context is full.
  std::optional<std::uint32_t> max_tokens = r.max_tokens;
  if (!max_tokens && kind == api::api_kind::completions) max_tokens = 16;

  auto p = std::make_unique<pending>();
  p->w = w;
  p->stream = r.stream;
  p->include_usage = r.include_usage;
  p->max_tokens = max_tokens;
  p->prompt_chars = r.prompt_chars;
  std::uint64_t n = 0;
  {
    std::lock_guard lock(mutex_);
    if (r.prompt_token_ids) {
      p->prompt_tokens = static_cast<std::uint32_t>(r.prompt_token_ids->size());
    } else {
      p->prompt_tokens = estimator_.estimate(r.prompt_chars);
      p->estimated = true;
    }
  }
  if (p->prompt_tokens == 0) return refuse(api::bad_request("the prompt is empty", kind == api::api_kind::completions ? "prompt" : "messages"));
  const std::uint32_t asked = max_tokens.value_or(1);
  if (options_.context_tokens > 0 &&
      static_cast<std::uint64_t>(p->prompt_tokens) + asked > options_.context_tokens) {
    return refuse(api::over_context(p->prompt_tokens, asked, options_.model, options_.context_tokens));
  }
  std::string body = api::engine_body(r, options_.model);
  if (body.size() > wc::max_request_body_bytes) return refuse(api::body_too_large(wc::max_request_body_bytes));

  client_submit s;
  s.query.prompt_tokens = p->prompt_tokens;
  s.query.max_output_tokens = max_tokens.value_or(0);
  s.query.ttft_slo_micros = ttft_ms ? static_cast<std::uint64_t>(*ttft_ms * 1000) : 0;
  s.query.atgt_slo_micros = tpot_ms ? static_cast<std::uint64_t>(*tpot_ms * 1000) : 0;
  s.query.model = options_.model;
  s.request.api = kind == api::api_kind::completions ? wc::engine_api::completions : wc::engine_api::chat_completions;
  s.request.body = std::move(body);
  {
    std::lock_guard lock(mutex_);
    ++counts_.requests;
    n = next_++;
    p->n = n;
    p->head.api = kind;
    p->head.id = std::string(kind == api::api_kind::completions ? "cmpl-" : "chatcmpl-") +
                 std::to_string(started_unix_s_) + "-" + std::to_string(n);
    p->head.created = unix_now_s();
    p->head.model = options_.model;
    by_client_.emplace(n, std::move(p));
  }
  s.client = http_client_id(n);
  s.query.client_query_id = n;
  // Outside the lock: a client already gone calls back at once.
  w->on_disconnect([this, n] { on_gone(n); });
  bool first = false;
  {
    std::lock_guard lock(outgoing_mutex_);
    first = outgoing_.empty();
    outgoing_.push_back(std::move(s));
  }
  if (first) server_->post([this] { flush(); });
}

void front_door::flush() {
  std::vector<client_submit> batch;
  {
    std::lock_guard lock(outgoing_mutex_);
    batch.swap(outgoing_);
  }
  if (!batch.empty()) node_.submit(std::move(batch));
}

void front_door::on_gone(std::uint64_t n) {
  std::uint64_t query = 0;
  {
    std::lock_guard lock(mutex_);
    const auto it = by_client_.find(n);
    if (it == by_client_.end()) return;
    ++counts_.disconnects;
    if (it->second->query == 0) {  // not accepted yet: cancelled when it is
      it->second->gone = true;
      return;
    }
    query = it->second->query;
    erase(n);
  }
  node_.cancel(query_id{query}, "the HTTP client disconnected");
}

void front_door::erase(std::uint64_t n) {
  const auto it = by_client_.find(n);
  if (it == by_client_.end()) return;
  if (it->second->stream_started && counts_.streams_open > 0) --counts_.streams_open;
  if (it->second->query != 0) by_query_.erase(it->second->query);
  by_client_.erase(it);
}

// ---- what the node answers ------------------------------------------------------------------

void front_door::deliver(const outbound_frame& frame) {
  const auto* m = std::get_if<cc::message>(&frame.message);
  if (m == nullptr) return;
  std::optional<std::uint64_t> cancel_query;
  {
    std::lock_guard lock(mutex_);
    if (const auto* a = std::get_if<cc::query_accepted>(m)) {
      const auto it = by_client_.find(a->client_query_id);
      if (it == by_client_.end()) return;
      pending& p = *it->second;
      p.query = a->query_id;
      by_query_[a->query_id] = p.n;
      if (p.gone) {
        cancel_query = a->query_id;
        erase(p.n);
      } else if (p.stream) {
        p.w->start_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
        p.stream_started = true;
        ++counts_.streams_open;
        if (p.head.api == api::api_kind::chat_completions) {
          p.w->write(api::sse_event(api::encode_chunk(p.head, "", true, "", p.include_usage)));
        }
      }
    } else if (const auto* r = std::get_if<cc::query_rejected>(m)) {
      const auto it = by_client_.find(r->client_query_id);
      if (it == by_client_.end()) return;
      ++counts_.refused;
      it->second->w->respond(error_response(error_of(*r, options_.retry_after_s)));
      erase(r->client_query_id);
    } else if (const auto* f = std::get_if<cc::query_finished>(m)) {
      const auto q = by_query_.find(f->query_id);
      if (q == by_query_.end()) return;
      const std::uint64_t n = q->second;
      finish(*by_client_.at(n), f->output_tokens);
      erase(n);
    } else if (const auto* x = std::get_if<cc::query_failed>(m)) {
      const auto q = by_query_.find(x->query_id);
      if (q == by_query_.end()) return;
      const std::uint64_t n = q->second;
      ++counts_.failed;
      end_with_error(*by_client_.at(n), error_of(*x, options_.retry_after_s));
      erase(n);
    }
    // first_token: the stream is open already; wire_error is not sent to clients of the node.
  }
  if (cancel_query) node_.cancel(query_id{*cancel_query}, "the HTTP client disconnected");
}

void front_door::text(query_id q, const wc::query_text& chunk) {
  std::lock_guard lock(mutex_);
  const auto it = by_query_.find(q.value);
  if (it == by_query_.end()) return;
  pending& p = *by_client_.at(it->second);
  if (chunk.seq < p.next_seq) {
    ++counts_.duplicate_chunks;
    return;
  }
  p.next_seq = chunk.seq + 1;  // a gap is passed over: what came is still sent
  if (chunk.text.empty()) return;
  if (p.stream_started) {
    p.w->write(api::sse_event(api::encode_chunk(p.head, chunk.text, false, "", p.include_usage)));
  } else {
    p.text += chunk.text;
  }
}

void front_door::completed(query_id q, const wc::query_completed& done) {
  std::lock_guard lock(mutex_);
  const auto it = by_query_.find(q.value);
  if (it == by_query_.end()) return;
  pending& p = *by_client_.at(it->second);
  if (done.finish != wc::finish_reason::unknown) p.finish_reason = wc::to_string(done.finish);
  p.engine_prompt_tokens = done.prompt_tokens;
  if (p.estimated) estimator_.observe(p.prompt_chars, done.prompt_tokens);
}

void front_door::finish(pending& p, std::uint32_t output_tokens) {
  ++counts_.completed;
  std::string reason = p.finish_reason;
  if (reason.empty()) reason = p.max_tokens && output_tokens >= *p.max_tokens ? "length" : "stop";
  const api::usage u{p.engine_prompt_tokens != 0 ? p.engine_prompt_tokens : p.prompt_tokens, output_tokens};
  if (!p.stream) {
    p.w->respond(json_response(200, api::encode_response(p.head, p.text, reason, u)));
    return;
  }
  p.w->write(api::sse_event(api::encode_chunk(p.head, "", false, reason, p.include_usage)));
  if (p.include_usage) p.w->write(api::sse_event(api::encode_usage_chunk(p.head, u)));
  p.w->write(std::string(api::sse_done));
  p.w->finish();
}

void front_door::end_with_error(pending& p, const api::api_error& e) {
  if (!p.stream_started) {
    p.w->respond(error_response(e));
    return;
  }
  // The head (200) has gone out: the error is the stream's last event.
  p.w->write(api::sse_event(api::encode_error(e)));
  p.w->write(std::string(api::sse_done));
  p.w->finish();
}

// ---- the outbox in front of the bridge --------------------------------------------------------

void split_outbox::post(outbound_frame frame) {
  if (frame.to == channel::client && is_http_client(frame.peer)) {
    door_.deliver(frame);
    return;
  }
  next_.post(std::move(frame));
}

void split_outbox::post_all(std::vector<outbound_frame>& frames) {
  std::vector<outbound_frame> rest;
  rest.reserve(frames.size());
  for (auto& f : frames) {
    if (f.to == channel::client && is_http_client(f.peer))
      door_.deliver(f);
    else
      rest.push_back(std::move(f));
  }
  frames.clear();
  if (!rest.empty()) next_.post_all(rest);
}

}  // namespace aladdin::node
