#include "actors/worker/worker_process.hpp"

#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <zmq.hpp>

#include "schema/worker_channel.hpp"

namespace aladdin::worker {

namespace wc = worker_channel;

micros wall_clock_now() {
  using namespace std::chrono;
  // The system clock read once, then advanced by the steady clock: epoch-based like the control
  // node's timestamps, yet never stepped back or forward by NTP, which would freeze or rush the
  // engine's time.
  static const auto anchor_steady = steady_clock::now();
  static const auto anchor_wall = static_cast<micros>(
      duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
  return anchor_wall +
         static_cast<micros>(
             duration_cast<microseconds>(steady_clock::now() - anchor_steady).count());
}

namespace {

// Receiving or polling can be interrupted by the very signal that asks us to stop; that is not
// an error, the loop checks the flag next.
bool interrupted(const zmq::error_t& e) { return e.num() == EINTR; }

// Reads error lines up to a limit, then only counts: a peer sending garbage in a loop must not
// flood the log.
constexpr std::uint64_t logged_rejections = 10;

}  // namespace

namespace {

// worker_core as a channel_driver.
class core_driver final : public channel_driver {
 public:
  explicit core_driver(worker_core& core) : core_(core) {}
  const std::string& name() const override { return core_.options().identity.name; }
  void start(micros) override { core_.start(); }
  void handle(const wc::message& m, micros now) override { core_.handle(m, now); }
  void advance(micros now) override { core_.advance(now); }
  micros next_wake() const override { return core_.next_wake(); }
  std::optional<micros> silence_warning(micros now) override { return core_.silence_warning(now); }
  std::vector<wc::message> take_outbound() override { return core_.take_outbound(); }
  bool finished() const override { return core_.finished(); }
  bool registered() const override { return core_.registered(); }
  std::uint32_t worker_id() const override { return core_.worker_id(); }
  std::uint64_t epoch() const override { return core_.epoch(); }
  std::uint64_t errors_received() const override { return core_.stats().errors_received; }

 private:
  worker_core& core_;
};

}  // namespace

class session {
 public:
  session(channel_driver& core, const process_options& options, process_stats& stats)
      : core_(core),
        options_(options),
        stats_(stats),
        ctx_(1),
        socket_(ctx_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::routing_id, core_.name());
    socket_.set(zmq::sockopt::sndhwm, options_.high_water_mark);
    socket_.set(zmq::sockopt::rcvhwm, options_.high_water_mark);
    socket_.set(zmq::sockopt::maxmsgsize, options_.max_transport_bytes);
    // Retry fast at first (a control node that restarts comes back in well under a second),
    // then back off.
    socket_.set(zmq::sockopt::reconnect_ivl, 100);
    socket_.set(zmq::sockopt::reconnect_ivl_max, 2000);
    try {
      socket_.connect(options_.endpoint);
    } catch (const zmq::error_t& e) {
      throw std::invalid_argument("--connect " + options_.endpoint + ": " + e.what());
    }
  }

  void run(const std::atomic<bool>& stop) {
    core_.start(wall_clock_now());
    flush();
    while (!stop.load() && !core_.finished()) {
      wait(core_.next_wake());
      for (int i = 0; i < max_frames_per_round && !core_.finished(); ++i)
        if (!receive_one()) break;
      core_.advance(wall_clock_now());
      if (const auto silent = core_.silence_warning(wall_clock_now())) warn_silence(*silent);
      for (const auto& line : core_.take_notes()) log(logger::level::warn, line);
      flush();
    }
    flush();  // the last heartbeat of a drain
  }

 private:
  // Enough to empty a burst of assignments; bounded so a flood cannot starve the engine's clock.
  static constexpr int max_frames_per_round = 1000;

  void log(logger::level level, const std::string& line) {
    if (options_.log)
      options_.log(line);
    else
      process_log().write(level, line);
  }

  void wait(micros wake) {
    const micros now = wall_clock_now();
    const micros span = wake <= now ? 0 : std::min(wake - now, options_.max_poll_wait);
    // zmq::poll counts milliseconds: round up, so the loop never spins on a sub-ms deadline.
    const auto timeout = std::chrono::milliseconds((span + 999) / 1000);
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, core_.wake_fd(), ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, core_.wake_fd() >= 0 ? 2 : 1, timeout);
    } catch (const zmq::error_t& e) {
      if (!interrupted(e)) throw;
    }
  }

  // Returns false when nothing is waiting.
  bool receive_one() {
    zmq::message_t frame;
    try {
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return false;
    } catch (const zmq::error_t& e) {
      if (interrupted(e)) return false;
      throw;
    }
    ++stats_.frames_received;
    if (frame.more()) {
      // The channel is one frame per message; swallow the rest of this one.
      bool more = true;
      while (more) {
        zmq::message_t rest;
        if (!socket_.recv(rest, zmq::recv_flags::dontwait)) break;
        more = rest.more();
      }
      reject({codec::decode_errc::malformed, "a worker-channel message is a single frame"});
      return true;
    }
    auto decoded =
        wc::decode(std::span(static_cast<const std::byte*>(frame.data()), frame.size()),
                   wc::party::worker, options_.limits);
    if (!decoded) {
      reject(decoded.error());
      return true;
    }
    const bool was_registered = core_.registered();
    core_.handle(decoded.value().body, wall_clock_now());
    report_transition(was_registered, decoded.value().body);
    flush();
    return true;
  }

  void warn_silence(micros silent) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(silent) / 1e6);
    log(logger::level::warn, std::string("no control node answers at ") + options_.endpoint + ": registerWorker unanswered for " +
        seconds + " s. Check that `aladdin serve` runs there and listens for workers at that address "
        "(its --worker-listen, not its client --listen) and that the host and port are reachable; "
        "still trying");
  }

  void reject(const codec::decode_error& e) {
    ++stats_.frames_rejected;
    if (stats_.frames_rejected <= logged_rejections) {
      log(logger::level::warn, "dropped a frame from the control plane (" + std::string(codec::to_string(e.code)) +
          "): " + e.detail +
          (stats_.frames_rejected == logged_rejections ? " (further ones are only counted)" : ""));
    }
    // An error envelope we cannot read is not answered: two peers must never bounce errors.
    if (e.answerable) send_encoded(wc::encode_error(next_header(), e.code, e.detail));
  }

  void report_transition(bool was_registered, const wc::message& m) {
    if (!was_registered && core_.registered()) {
      log(logger::level::info, "registered as worker " + std::to_string(core_.worker_id()) + " (epoch " +
          std::to_string(core_.epoch()) + ")");
    } else if (was_registered && !core_.registered()) {
      log(logger::level::warn, "the control plane does not know this worker (unknownWorker): registering again");
    } else if (const auto* e = std::get_if<wc::wire_error>(&m);
               e && e->code != wc::error_code::unknown_worker &&
               core_.errors_received() <= logged_rejections) {
      // Unregistered, the only message in flight is registerWorker: this is its refusal.
      log(logger::level::warn, std::string(core_.registered() ? "the control plane could not handle a message ("
                                         : "the control node refused this worker (") +
          to_string(e->code) + "): " + e->detail + (core_.registered() ? "" : "; retrying"));
    }
  }

  void flush() {
    for (const auto& m : core_.take_outbound()) send(m);
  }

  codec::envelope_header next_header() {
    return {codec::protocol_version, core_.name(), core_.epoch(), ++sequence_};
  }

  void send(const wc::message& m) { send_encoded(wc::encode(next_header(), m)); }

  void send_encoded(const codec::encoded_message& bytes) {
    for (;;) {
      try {
        if (socket_.send(zmq::buffer(bytes.bytes().data(), bytes.size()),
                         zmq::send_flags::dontwait))
          ++stats_.messages_sent;
        else
          ++stats_.sends_dropped;
        return;
      } catch (const zmq::error_t& e) {
        if (!interrupted(e)) throw;
      }
    }
  }

  channel_driver& core_;
  const process_options& options_;
  process_stats& stats_;
  zmq::context_t ctx_;
  zmq::socket_t socket_;
  std::uint64_t sequence_ = 0;
};

worker_process::worker_process(worker_core& core, process_options options)
    : owned_(std::make_unique<core_driver>(core)), driver_(*owned_), options_(std::move(options)) {}

worker_process::worker_process(channel_driver& driver, process_options options)
    : driver_(driver), options_(std::move(options)) {}

worker_process::~worker_process() = default;

void worker_process::connect() {
  if (!session_) session_ = std::make_unique<session>(driver_, options_, stats_);
}

void worker_process::run(const std::atomic<bool>& stop) {
  connect();
  session_->run(stop);
}

}  // namespace aladdin::worker
