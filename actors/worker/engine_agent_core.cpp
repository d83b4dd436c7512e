#include "actors/worker/engine_agent_core.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace aladdin::worker {

namespace wc = worker_channel;
using nlohmann::json;

namespace {

const agent_options& checked(const agent_options& o) {
  if (o.identity.name.empty()) throw std::invalid_argument("worker: the name must not be empty");
  if (o.scrape_interval == 0) throw std::invalid_argument("worker: the metrics interval must be > 0");
  if (o.engine_lost_after == 0) throw std::invalid_argument("worker: the engine-lost timeout must be > 0");
  if (o.block_size == 0) throw std::invalid_argument("worker: the block size must be > 0");
  if (!(o.time_scale > 0) || !std::isfinite(o.time_scale))
    throw std::invalid_argument("worker: time scale must be a positive number");
  return o;
}

constexpr std::size_t max_error_body = 4096;

wc::finish_reason finish_of(const std::string& s) {
  if (s == "stop") return wc::finish_reason::stop;
  if (s == "length") return wc::finish_reason::length;
  return wc::finish_reason::unknown;
}

// The message of an OpenAI-style error body, or the body itself (cut).
std::string error_message(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (const auto e = j.find("error"); e != j.end()) {
      if (e->is_object()) {
        if (const auto m = e->find("message"); m != e->end() && m->is_string()) return m->get<std::string>();
      } else if (e->is_string()) {
        return e->get<std::string>();
      }
    }
    if (const auto m = j.find("message"); m != j.end() && m->is_string()) return m->get<std::string>();
  }
  return body.substr(0, 256);
}

}  // namespace

engine_agent_core::engine_agent_core(agent_options options, micros now)
    : options_(checked(options)),
      session_(options_.session, [this] { return engine_heartbeat(); }),
      last_now_(now),
      block_size_(options_.block_size) {}

void engine_agent_core::start(micros now) {
  if (started_) return;
  started_ = true;
  last_now_ = std::max(last_now_, now);
  last_answer_ = last_now_;
  request_scrape(last_now_);
}

void engine_agent_core::request_scrape(micros now) {
  if (scrape_in_flight_ || finished()) return;
  scrape_in_flight_ = true;
  next_scrape_ = never;
  calls_.push_back({engine_call::kind::scrape, 0, {}, {}});
  (void)now;
}

std::vector<engine_call> engine_agent_core::take_calls() {
  std::vector<engine_call> out;
  out.swap(calls_);
  return out;
}

void engine_agent_core::handle(const wc::message& message, micros now) {
  advance(now);
  now = last_now_;
  if (finished()) return;
  if (!session_.handle_lifecycle(message, now)) {
    if (const auto* a = std::get_if<wc::assign_query>(&message)) on_assign(*a, now);
    if (const auto* c = std::get_if<wc::cancel_query>(&message)) on_cancel(*c);
  }
  if (session_.finished()) {  // shutdown, or a drain that found nothing running
    for (const auto& [id, f] : flights_) calls_.push_back({engine_call::kind::cancel, id, {}, {}});
    flights_.clear();
    return;
  }
  session_.check_drain(flights_.size(), now);
}

void engine_agent_core::reject(std::uint64_t id, wc::engine_reject_code code, std::string detail) {
  ++stats_.rejected;
  session_.emit(wc::engine_rejected{id, code, std::move(detail)});
}

void engine_agent_core::on_assign(const wc::assign_query& m, micros now) {
  (void)now;
  if (session_.draining()) {
    reject(m.query_id, wc::engine_reject_code::invalid, "draining: this worker accepts no new queries");
    return;
  }
  if (flights_.count(m.query_id) != 0) {
    ++stats_.duplicate_assignments;
    return;
  }
  if (m.request.api == wc::engine_api::none) {
    reject(m.query_id, wc::engine_reject_code::invalid,
           "engine needs text: this worker fronts an OpenAI-compatible engine, and the client sent "
           "token counts only");
    return;
  }
  json body = json::parse(m.request.body, nullptr, false);
  if (!body.is_object()) {
    reject(m.query_id, wc::engine_reject_code::invalid, "the request body is not a JSON object");
    return;
  }
  if (!options_.served_model.empty()) body["model"] = options_.served_model;
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}, {"continuous_usage_stats", true}};
  if (m.max_output_tokens > 0) {
    body.erase("max_completion_tokens");
    body["max_tokens"] = m.max_output_tokens;
  }
  engine_call call;
  call.what = engine_call::kind::stream;
  call.query_id = m.query_id;
  call.path = m.request.api == wc::engine_api::completions ? "/v1/completions" : "/v1/chat/completions";
  call.body = body.dump();
  calls_.push_back(std::move(call));
  flight f;
  f.prompt_tokens = m.prompt_tokens;
  flights_.emplace(m.query_id, std::move(f));
  ++stats_.accepted;
}

void engine_agent_core::on_cancel(const wc::cancel_query& m) {
  auto it = flights_.find(m.query_id);
  if (it == flights_.end()) return;  // finished or unknown: it can race with completion
  calls_.push_back({engine_call::kind::cancel, m.query_id, {}, {}});
  flights_.erase(it);
  ++stats_.cancelled;
}

void engine_agent_core::stream_head(std::uint64_t id, unsigned status, micros now) {
  last_now_ = std::max(last_now_, now);
  auto it = flights_.find(id);
  if (it == flights_.end()) return;
  it->second.status = status;
}

void engine_agent_core::stream_data(std::uint64_t id, std::string_view bytes, micros now) {
  last_now_ = std::max(last_now_, now);
  now = last_now_;
  auto it = flights_.find(id);
  if (it == flights_.end() || finished()) return;
  flight& f = it->second;
  if (f.status != 200) {
    f.error_body.append(bytes.substr(0, max_error_body - std::min(max_error_body, f.error_body.size())));
    return;
  }
  if (!f.fault.empty() || f.done_seen) return;
  for (const auto& event : f.sse.feed(bytes)) {
    on_event(id, f, event, now);
    if (!f.fault.empty() || f.done_seen) break;
  }
}

void engine_agent_core::on_event(std::uint64_t id, flight& f, const std::string& data, micros now) {
  if (data == "[DONE]") {
    f.done_seen = true;
    return;
  }
  const auto chunk = api::decode_chunk(data);
  if (!chunk.ok) {
    f.fault = "the engine sent a stream chunk that cannot be read (" + chunk.error + ")";
    return;
  }
  const api::chunk_view& c = *chunk.ok;
  std::uint32_t tokens = 0;
  if (c.usage_) {
    if (c.usage_->completion_tokens > f.tokens) tokens = c.usage_->completion_tokens - f.tokens;
    f.usage = c.usage_;
  } else if (!c.text.empty()) {
    tokens = 1;
  }
  if (!c.text.empty() || tokens > 0) {
    if (!f.first_sent) {
      f.first_sent = true;
      session_.emit(wc::first_token{id, now});
    }
    f.tokens += tokens;
    if (!c.text.empty()) {
      // A chunk is one iteration's tokens: far below the limit; split anyway, tokens on the first.
      for (auto& piece : wc::split_text(c.text)) {
        session_.emit(wc::query_text{id, f.seq++, std::move(piece), tokens});
        tokens = 0;
      }
    }
  }
  if (c.finish_reason) f.finish = finish_of(*c.finish_reason);
}

void engine_agent_core::finish_flight(std::uint64_t id, micros now) {
  auto it = flights_.find(id);
  if (it == flights_.end()) return;
  flight& f = it->second;
  const std::uint32_t output = f.usage ? std::max(f.usage->completion_tokens, f.tokens) : f.tokens;
  const std::uint32_t prompt = f.usage ? f.usage->prompt_tokens : 0;
  session_.emit(wc::query_completed{id, output, now, f.finish, prompt});
  ++stats_.completed;
  flights_.erase(it);
}

void engine_agent_core::stream_done(std::uint64_t id, const std::optional<std::string>& transport_error,
                                    micros now) {
  last_now_ = std::max(last_now_, now);
  now = last_now_;
  auto it = flights_.find(id);
  if (it == flights_.end() || finished()) return;
  flight& f = it->second;
  if (f.status != 0 && f.status != 200) {
    const std::string message = error_message(f.error_body);
    const bool too_long = f.status == 400 && (message.find("context length") != std::string::npos ||
                                              message.find("maximum context") != std::string::npos);
    reject(id, too_long ? wc::engine_reject_code::too_large : wc::engine_reject_code::invalid,
           "the engine answered " + std::to_string(f.status) + ": " + message);
    flights_.erase(it);
  } else if (!f.fault.empty()) {
    reject(id, wc::engine_reject_code::invalid, f.fault);
    flights_.erase(it);
  } else if (f.done_seen) {
    finish_flight(id, now);
  } else {
    // Refused, reset, timed out, or ended without [DONE]: perhaps the engine died. Hold the
    // query until the engine is probed.
    f.broken = transport_error.value_or("the stream ended without [DONE]");
    ++stats_.broken_streams;
    request_scrape(now);
  }
  session_.check_drain(flights_.size(), now);
}

void engine_agent_core::scrape_done(const std::optional<std::string>& body, const std::string& error,
                                    micros now) {
  last_now_ = std::max(last_now_, now);
  now = last_now_;
  scrape_in_flight_ = false;
  if (finished()) return;
  next_scrape_ = now + options_.scrape_interval;
  if (!body) {
    ++stats_.scrapes_failed;
    // Before the first answer the engine is waited for (engine_silence() tells the operator).
    if (answered_once_ && now - last_answer_ >= options_.engine_lost_after) {
      lost_reason_ = "the engine has not answered /metrics for " +
                     std::to_string((now - last_answer_) / 1000) + " ms (" + error + ")";
      session_.lose();
      flights_.clear();  // the control node re-places or fails them when it loses the worker
    }
    return;
  }
  ++stats_.scrapes_ok;
  last_answer_ = now;
  next_silence_note_ = never;
  const vllm_metrics m = parse_vllm_metrics(*body);
  metrics_ = m;
  if (!answered_once_) {
    answered_once_ = true;
    std::uint64_t capacity = options_.kv_capacity_tokens;
    if (capacity == 0 && m.num_gpu_blocks && m.block_size && *m.block_size > 0) {
      block_size_ = *m.block_size;
      capacity = *m.num_gpu_blocks * *m.block_size;
    }
    if (capacity == 0) {
      fatal_ = "the engine's /metrics does not give the KV cache's size (vllm:cache_config_info "
               "num_gpu_blocks and block_size); pass --kv-tokens";
      return;
    }
    kv_blocks_total_ = capacity / block_size_;
    const auto& id = options_.identity;
    session_.start({id.name, id.model, id.gpu, static_cast<std::uint16_t>(id.tp),
                    kv_blocks_total_ * block_size_, block_size_, options_.time_scale,
                    options_.max_batched_tokens},
                   now);
  }
  // The engine answers: streams that broke were this query's trouble, not the engine's.
  for (auto it = flights_.begin(); it != flights_.end();) {
    if (it->second.broken) {
      // The node re-places it if it had not started (its client saw nothing yet), else fails it.
      reject(it->first, wc::engine_reject_code::stream_broken, "the engine's stream broke: " + *it->second.broken);
      it = flights_.erase(it);
    } else {
      ++it;
    }
  }
  session_.check_drain(flights_.size(), now);
}

std::optional<micros> engine_agent_core::engine_silence(micros now) {
  now = std::max(last_now_, now);
  if (!started_ || finished() || now - last_answer_ < 10 * options_.scrape_interval) return std::nullopt;
  if (next_silence_note_ != never && now < next_silence_note_) return std::nullopt;
  next_silence_note_ = now + 10 * options_.scrape_interval;
  return now - last_answer_;
}

void engine_agent_core::advance(micros now) {
  last_now_ = std::max(last_now_, now);
  now = last_now_;
  if (finished()) return;
  if (!scrape_in_flight_ && now >= next_scrape_) request_scrape(now);
  session_.check_drain(flights_.size(), now);
  session_.tick(now);
}

micros engine_agent_core::next_wake() const {
  if (finished() || !started_) return never;
  micros w = session_.started() ? session_.next_wake() : never;
  if (!scrape_in_flight_) w = std::min(w, next_scrape_);
  return w;
}

std::optional<micros> engine_agent_core::silence_warning(micros now) {
  last_now_ = std::max(last_now_, now);
  return session_.silence_warning(last_now_);
}

wc::heartbeat engine_agent_core::engine_heartbeat() const {
  wc::heartbeat hb;
  hb.kv_blocks_total = static_cast<std::uint32_t>(std::min<std::uint64_t>(kv_blocks_total_, UINT32_MAX));
  if (metrics_.kv_usage) {
    const double used = std::clamp(*metrics_.kv_usage, 0.0, 1.0) * static_cast<double>(hb.kv_blocks_total);
    hb.kv_blocks_used = static_cast<std::uint32_t>(std::lround(used));
  }
  std::uint32_t waiting = 0;
  for (const auto& [id, f] : flights_) {
    if (f.first_sent) {
      hb.running.push_back({id, f.tokens});
    } else {
      ++waiting;
      if (hb.waiting.size() < options_.max_heartbeat_waiting_ids) hb.waiting.push_back(id);
    }
  }
  const double engine_waiting = metrics_.waiting.value_or(0);
  hb.waiting_count = std::max<std::uint32_t>(
      waiting, engine_waiting > 0 && std::isfinite(engine_waiting)
                   ? static_cast<std::uint32_t>(std::min(engine_waiting, 1e9))
                   : 0);
  return hb;
}

}  // namespace aladdin::worker
