#include "actors/worker/engine_agent.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace aladdin::worker {

namespace {

http::client_options metrics_options(const engine_agent_options& o) {
  http::client_options c;
  c.connect_timeout = o.scrape_timeout;
  c.head_timeout = o.scrape_timeout;
  c.idle_timeout = o.scrape_timeout;
  c.max_body_bytes = 16u << 20;
  c.max_idle_per_host = 2;
  return c;
}

http::client_options stream_options(const engine_agent_options& o) {
  http::client_options c;
  c.connect_timeout = o.scrape_timeout;
  c.head_timeout = o.stream_head_timeout;
  c.idle_timeout = o.stream_idle_timeout;
  return c;
}

}  // namespace

engine_agent::engine_agent(engine_agent_options options)
    : options_(std::move(options)),
      core_(options_.agent, wall_clock_now()),
      metrics_client_(metrics_options(options_)),
      stream_client_(stream_options(options_)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

engine_agent::~engine_agent() {
  // The clients' threads call push(): stop them while everything they touch is alive.
  stream_client_.stop();
  metrics_client_.stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void engine_agent::push(answer a) {
  a.at = wall_clock_now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    answers_.push_back(std::move(a));
  }
  const std::uint64_t one = 1;
  // Non-blocking; a full counter (never in practice) still leaves the fd readable.
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void engine_agent::start(micros now) {
  core_.start(now);
  run_calls();
}

void engine_agent::handle(const worker_channel::message& m, micros now) {
  drain_answers();
  core_.handle(m, now);
  run_calls();
}

void engine_agent::advance(micros now) {
  drain_answers();
  core_.advance(now);
  if (const auto silent = core_.engine_silence(now)) {
    notes_.push_back("the engine at http://" + options_.engine.host + ":" +
                     std::to_string(options_.engine.port) + " has not answered /metrics for " +
                     std::to_string(*silent / 1'000'000) + " s; " +
                     (core_.registered() ? "it counts as lost after " +
                                               std::to_string(options_.agent.engine_lost_after / 1'000'000) + " s"
                                         : "waiting for it before registering"));
  }
  run_calls();
}

std::vector<std::string> engine_agent::take_notes() {
  std::vector<std::string> out;
  out.swap(notes_);
  return out;
}

void engine_agent::drain_answers() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(wake_fd_, &count, sizeof count);  // EAGAIN when none
  std::deque<answer> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(answers_);
  }
  for (auto& a : batch) {
    switch (a.what) {
      case answer::kind::head:
        core_.stream_head(a.query_id, a.status, a.at);
        break;
      case answer::kind::data:
        core_.stream_data(a.query_id, a.bytes, a.at);
        break;
      case answer::kind::done:
        streams_.erase(a.query_id);
        core_.stream_done(a.query_id, a.error, a.at);
        break;
      case answer::kind::scrape:
        if (a.error)
          core_.scrape_done(std::nullopt, *a.error, a.at);
        else
          core_.scrape_done(std::move(a.bytes), "", a.at);
        break;
    }
  }
}

void engine_agent::run_calls() {
  for (auto& call : core_.take_calls()) {
    switch (call.what) {
      case engine_call::kind::scrape: {
        http::client_request r;
        r.host = options_.engine.host;
        r.port = options_.engine.port;
        r.target = options_.engine.base_path + "/metrics";
        auto body = std::make_shared<std::string>();
        auto status = std::make_shared<unsigned>(0);
        metrics_client_.send(
            std::move(r),
            {[status](const http::response_head& h) { *status = h.status; },
             [body](std::string_view d) { body->append(d); },
             [this, body, status](const std::optional<http::client_error>& e) {
               answer a;
               a.what = answer::kind::scrape;
               if (e)
                 a.error = std::string(http::to_string(e->code)) + ": " + e->detail;
               else if (*status != 200)
                 a.error = "/metrics answered " + std::to_string(*status);
               else
                 a.bytes = std::move(*body);
               push(std::move(a));
             }});
        break;
      }
      case engine_call::kind::stream: {
        http::client_request r;
        r.method = "POST";
        r.host = options_.engine.host;
        r.port = options_.engine.port;
        r.target = options_.engine.base_path + call.path;
        r.content_type = "application/json";
        r.headers.emplace_back("Accept", "text/event-stream");
        r.body = std::move(call.body);
        const std::uint64_t q = call.query_id;
        streams_[q] = stream_client_.send(
            std::move(r),
            {[this, q](const http::response_head& h) {
               answer a;
               a.what = answer::kind::head;
               a.query_id = q;
               a.status = h.status;
               push(std::move(a));
             },
             [this, q](std::string_view d) {
               answer a;
               a.what = answer::kind::data;
               a.query_id = q;
               a.bytes = std::string(d);
               push(std::move(a));
             },
             [this, q](const std::optional<http::client_error>& e) {
               answer a;
               a.what = answer::kind::done;
               a.query_id = q;
               if (e) a.error = std::string(http::to_string(e->code)) + ": " + e->detail;
               push(std::move(a));
             }});
        break;
      }
      case engine_call::kind::cancel: {
        const auto it = streams_.find(call.query_id);
        if (it != streams_.end()) {
          stream_client_.cancel(it->second);
          streams_.erase(it);
        }
        break;
      }
    }
  }
}

}  // namespace aladdin::worker
