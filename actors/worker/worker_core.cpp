#include "actors/worker/worker_core.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "actors/worker/synthetic_text.hpp"

namespace aladdin::worker {

namespace wc = worker_channel;

namespace {

worker_core_options with_progress(worker_core_options o) {
  o.engine.report_progress = true;  // the text relay follows each iteration's tokens
  return o;
}

const worker_core_options& checked(const worker_core_options& o) {
  if (!(o.time_scale > 0) || !std::isfinite(o.time_scale))
    throw std::invalid_argument("worker: time scale must be a positive number");
  if (o.default_output_tokens == 0)
    throw std::invalid_argument("worker: default output length must be > 0");
  if (o.identity.name.empty()) throw std::invalid_argument("worker: the name must not be empty");
  return o;
}

}  // namespace

worker_core::worker_core(worker_core_options options, const sim::ground_truth& truth, micros start)
    : options_(with_progress(checked(options))),
      engine_(options_.engine, truth, options_.seed),
      start_(start),
      last_now_(start),
      session_({options_.heartbeat_interval, options_.register_retry, options_.silence_warning,
                options_.silence_repeat},
               [this] { return engine_heartbeat(); }) {}

worker_stats worker_core::stats() const {
  worker_stats s = stats_;
  s.errors_received = session_.stats().errors_received;
  s.registrations = session_.stats().registrations;
  s.heartbeats = session_.stats().heartbeats;
  return s;
}

double worker_core::engine_time(micros wall) const {
  if (wall <= start_) return 0;
  return static_cast<double>(wall - start_) * options_.time_scale / 1e6;
}

micros worker_core::wall_time(double engine_s) const {
  if (!std::isfinite(engine_s)) return never;
  if (engine_s <= 0) return start_;
  const double offset = std::ceil(engine_s * 1e6 / options_.time_scale);
  // Anything beyond ~half the range is "not in this process's lifetime".
  if (offset >= static_cast<double>(never / 2)) return never;
  return start_ + static_cast<micros>(offset);
}

micros worker_core::clamp_now(micros now) {
  // The process reads a wall clock that can step back (NTP); the engine's time cannot.
  last_now_ = std::max(last_now_, now);
  return last_now_;
}

wc::register_worker worker_core::registration() const {
  const auto& id = options_.identity;
  const auto& engine = engine_.options();
  const auto block = static_cast<std::uint32_t>(engine.block_size);
  // The batching the node must plan this worker in: the chunked budget, or 0 (prefill-first).
  const auto chunk = engine.mode == sim::batching_mode::chunked ? static_cast<std::uint32_t>(engine.batched_tokens()) : 0u;
  return {id.name,
          id.model,
          id.gpu,
          static_cast<std::uint16_t>(id.tp),
          static_cast<std::uint64_t>(engine_.kv_blocks_total()) * block,
          block,
          options_.time_scale,
          chunk};
}

void worker_core::start() { session_.start(registration(), last_now_); }

std::optional<micros> worker_core::silence_warning(micros now) {
  return session_.silence_warning(clamp_now(now));
}

void worker_core::handle(const wc::message& message, micros now) {
  advance(now);
  now = last_now_;
  if (!session_.handle_lifecycle(message, now)) {
    if (const auto* a = std::get_if<wc::assign_query>(&message)) on_assign(*a, now);
    if (const auto* c = std::get_if<wc::cancel_query>(&message)) on_cancel(*c);
  }
  session_.check_drain(active_, now);
}

void worker_core::reject(std::uint64_t query_id, wc::engine_reject_code reason, std::string detail) {
  ++stats_.rejected;
  session_.emit(wc::engine_rejected{query_id, reason, std::move(detail)});
}

void worker_core::on_assign(const wc::assign_query& m, micros now) {
  if (session_.draining()) {
    reject(m.query_id, wc::engine_reject_code::invalid, "draining: this worker accepts no new queries");
    return;
  }
  if (auto it = live_.find(m.query_id); it != live_.end()) {
    if (it->second.cancelled) {
      reject(m.query_id, wc::engine_reject_code::invalid,
             "query id " + std::to_string(m.query_id) +
                 " is still held by a cancelled sequence; assign it under a new id");
    } else {
      ++stats_.duplicate_assignments;
    }
    return;
  }

  const bool has_request = m.request.api != wc::engine_api::none;
  std::uint32_t output = m.max_output_tokens > 0    ? m.max_output_tokens
                         : m.output_tokens_hint > 0 ? m.output_tokens_hint
                                                    : options_.default_output_tokens;
  // A text client has no true length: its predicted one stands in for end-of-sequence.
  if (has_request && m.output_tokens_hint > 0) output = std::min(output, m.output_tokens_hint);
  const auto too_large = [&] {
    const long long capacity =
        static_cast<long long>(engine_.kv_blocks_total()) * engine_.options().block_size;
    reject(m.query_id, wc::engine_reject_code::too_large,
           "prompt " + std::to_string(m.prompt_tokens) + " + output " + std::to_string(output) +
               " tokens exceed the KV cache of " + std::to_string(capacity) + " tokens");
  };
  // The engine counts tokens in int; lengths beyond that can never fit a cache anyway.
  if (m.prompt_tokens > INT_MAX || output > INT_MAX) {
    too_large();
    return;
  }

  sim::request r;
  r.query_id = m.query_id;
  r.input_tokens = static_cast<int>(m.prompt_tokens);
  r.output_tokens = static_cast<int>(output);
  double t = engine_time(now);
  // advance() left the current iteration ending after `now` in whole microseconds; the min only
  // guards the last bit of floating-point rounding, which enqueue() would refuse.
  if (engine_.busy()) t = std::min(t, engine_.next_event_time());
  r.arrival_s = t;

  switch (engine_.enqueue(r, t)) {
    case sim::enqueue_result::accepted: {
      live_query q;
      q.has_request = has_request;
      q.prompt_tokens = m.prompt_tokens;
      if (has_request)
        q.finish = m.max_output_tokens > 0 && output == m.max_output_tokens ? wc::finish_reason::length
                                                                           : wc::finish_reason::stop;
      live_.emplace(m.query_id, q);
      ++active_;
      ++stats_.accepted;
      return;
    }
    case sim::enqueue_result::rejected_too_large:
      too_large();
      return;
    case sim::enqueue_result::rejected_invalid:
      reject(m.query_id, wc::engine_reject_code::invalid, "a query needs at least one prompt token");
      return;
  }
}

void worker_core::on_cancel(const wc::cancel_query& m) {
  auto it = live_.find(m.query_id);
  if (it == live_.end()) {
    ++stats_.cancels_of_unknown_queries;
    return;
  }
  if (it->second.cancelled) return;
  it->second.cancelled = true;
  --active_;
  ++stats_.cancelled;
}

void worker_core::on_engine_event(const sim::engine_event& e) {
  auto it = live_.find(e.query_id);
  if (it == live_.end()) return;  // cannot happen: every sequence in the engine is live
  const bool cancelled = it->second.cancelled;
  switch (e.kind) {
    case sim::event_kind::first_token:
      if (!cancelled) session_.emit(wc::first_token{e.query_id, wall_time(e.time_s)});
      break;
    case sim::event_kind::completed:
      if (!cancelled) {
        session_.emit(wc::query_completed{e.query_id, static_cast<std::uint32_t>(e.tokens),
                                             wall_time(e.time_s), it->second.finish,
                                             it->second.has_request ? it->second.prompt_tokens : 0});
        ++stats_.completed;
        --active_;
      }
      live_.erase(it);
      break;
    case sim::event_kind::preempted:  // visible in heartbeats: the query is waiting again
    case sim::event_kind::handoff:    // split roles are not emulated
      break;
  }
}

void worker_core::relay_text(const sim::token_progress& p) {
  auto it = live_.find(p.query_id);
  if (it == live_.end()) return;
  live_query& q = it->second;
  if (!q.has_request || q.cancelled || p.generated <= q.text_tokens) return;
  const std::string text = synthetic_words(options_.seed, p.query_id,
                                           static_cast<std::uint32_t>(q.text_tokens),
                                           static_cast<std::uint32_t>(p.generated));
  auto tokens = static_cast<std::uint32_t>(p.generated - q.text_tokens);
  q.text_tokens = p.generated;
  // An iteration's words are far below the chunk limit; split anyway, tokens on the first piece.
  for (auto& piece : wc::split_text(text)) {
    session_.emit(wc::query_text{p.query_id, q.text_seq++, std::move(piece), tokens});
    tokens = 0;
  }
}

void worker_core::advance(micros now) {
  now = clamp_now(now);
  if (finished()) return;
  while (engine_.busy() && wall_time(engine_.next_event_time()) <= now) {
    const sim::step_result& r = engine_.step();
    // In the order a client reads them: first tokens, the iteration's text, then completions.
    for (const auto& e : r.events)
      if (e.kind == sim::event_kind::first_token) on_engine_event(e);
    for (const auto& p : r.progress) relay_text(p);
    for (const auto& e : r.events)
      if (e.kind != sim::event_kind::first_token) on_engine_event(e);
  }
  session_.check_drain(active_, now);
  session_.tick(now);
}

wc::heartbeat worker_core::engine_heartbeat() const {
  wc::heartbeat hb;
  hb.kv_blocks_used = static_cast<std::uint32_t>(engine_.kv_blocks_used());
  hb.kv_blocks_total = static_cast<std::uint32_t>(engine_.kv_blocks_total());
  for (const auto& s : engine_.sequences()) {
    auto it = live_.find(s.query_id);
    if (it != live_.end() && it->second.cancelled) continue;
    if (s.running) {
      hb.running.push_back({s.query_id, static_cast<std::uint32_t>(s.generated)});
    } else {
      ++hb.waiting_count;
      if (hb.waiting.size() < options_.max_heartbeat_waiting_ids) hb.waiting.push_back(s.query_id);
    }
  }
  return hb;
}

micros worker_core::next_wake() const {
  if (finished() || !session_.started()) return never;
  const micros w = engine_.busy() ? wall_time(engine_.next_event_time()) : never;
  return std::min(w, session_.next_wake());
}

}  // namespace aladdin::worker
