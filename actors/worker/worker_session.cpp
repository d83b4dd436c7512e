#include "actors/worker/worker_session.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace aladdin::worker {

namespace wc = worker_channel;

const char* to_string(exit_reason r) {
  switch (r) {
    case exit_reason::none: return "running";
    case exit_reason::shutdown: return "shutdown";
    case exit_reason::drained: return "drained";
    case exit_reason::drain_deadline: return "drain deadline";
    case exit_reason::engine_lost: return "engine lost";
  }
  return "unknown";
}

namespace {

const session_options& checked(const session_options& o) {
  if (o.heartbeat_interval == 0) throw std::invalid_argument("worker: heartbeat interval must be > 0");
  if (o.register_retry == 0) throw std::invalid_argument("worker: register retry must be > 0");
  if (o.silence_warning == 0) throw std::invalid_argument("worker: silence warning must be > 0");
  return o;
}

}  // namespace

worker_session::worker_session(session_options options, heartbeat_source heartbeat)
    : options_(checked(options)),
      heartbeat_(std::move(heartbeat)),
      control_plane_(options_.silence_warning, options_.silence_repeat) {}

void worker_session::start(wc::register_worker registration, micros now) {
  if (started_) return;
  started_ = true;
  registration_ = std::move(registration);
  send_registration(now);
}

void worker_session::send_registration(micros now) {
  outbox_.emplace_back(registration_);
  next_register_ = now + options_.register_retry;
  control_plane_.asked(now);
}

void worker_session::send_heartbeat(micros now) {
  wc::heartbeat hb = heartbeat_();
  hb.worker_id = worker_id_;
  hb.at_micros = now;
  outbox_.emplace_back(std::move(hb));
  ++stats_.heartbeats;
}

bool worker_session::handle_lifecycle(const wc::message& message, micros now) {
  control_plane_.answered();  // whatever it says, a control plane is there
  if (finished()) return true;  // after shutdown or the end of a drain, nothing more is done
  bool handled = true;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wc::registered>) {
          registered_ = true;
          worker_id_ = m.worker_id;
          epoch_ = m.epoch;
          ++stats_.registrations;
          next_register_ = never;
          send_heartbeat(now);
          next_heartbeat_ = now + options_.heartbeat_interval;
          for (auto& e : held_) outbox_.push_back(std::move(e));
          held_.clear();
        } else if constexpr (std::is_same_v<T, wc::drain_worker>) {
          draining_ = true;
          drain_deadline_ = m.deadline_micros;
        } else if constexpr (std::is_same_v<T, wc::shutdown_worker>) {
          exit_ = exit_reason::shutdown;
        } else if constexpr (std::is_same_v<T, wc::wire_error>) {
          ++stats_.errors_received;
          // Only the first unknownWorker counts: the control node answers every message we had
          // in flight with one, and a registerWorker is already on its way after the first.
          if (m.code == wc::error_code::unknown_worker && registered_) {
            registered_ = false;
            next_heartbeat_ = never;
            send_registration(now);
          }
        } else if constexpr (std::is_same_v<T, wc::assign_query> || std::is_same_v<T, wc::cancel_query>) {
          handled = false;
        }  // anything else travels to the control plane, never to a worker: ignored
      },
      message);
  return handled;
}

void worker_session::emit(wc::message event) {
  if (finished()) return;
  if (registered_)
    outbox_.push_back(std::move(event));
  else
    held_.push_back(std::move(event));
}

void worker_session::check_drain(std::size_t active, micros now) {
  if (!draining_ || finished()) return;
  if (active == 0) {
    // The control plane sees the worker empty at once instead of at the next heartbeat.
    if (registered_) send_heartbeat(now);
    exit_ = exit_reason::drained;
  } else if (drain_deadline_ != 0 && now >= drain_deadline_) {
    exit_ = exit_reason::drain_deadline;
  }
}

void worker_session::lose() {
  if (finished()) return;
  exit_ = exit_reason::engine_lost;
  held_.clear();
}

void worker_session::tick(micros now) {
  if (finished() || !started_) return;
  if (registered_) {
    if (now >= next_heartbeat_) {
      send_heartbeat(now);
      // On a steady grid; after a stall, one heartbeat and the grid restarts from now.
      next_heartbeat_ += options_.heartbeat_interval;
      if (next_heartbeat_ <= now) next_heartbeat_ = now + options_.heartbeat_interval;
    }
  } else if (now >= next_register_) {
    send_registration(now);
  }
}

micros worker_session::next_wake() const {
  if (finished() || !started_) return never;
  micros w = registered_ ? next_heartbeat_ : std::min(next_register_, control_plane_.next_warning());
  if (draining_ && drain_deadline_ != 0) w = std::min(w, drain_deadline_);
  return w;
}

std::optional<micros> worker_session::silence_warning(micros now) {
  if (registered_ || finished() || !control_plane_.warn(now)) return std::nullopt;
  return control_plane_.silent_for(now);
}

std::vector<wc::message> worker_session::take_outbound() {
  std::vector<wc::message> out;
  out.swap(outbox_);
  return out;
}

}  // namespace aladdin::worker
