// libFuzzer target: a frame from a worker, read as the node's bridge reads it
// (node::read_worker_frame, actors/wire/inbound_frame.hpp). Properties: it never throws or
// crashes; a refusal carries a detail; what it hands on, the codec's full validation accepts
// (channel_target.hpp); a registration or worker event it accepts, encoded again by the
// channel's codec, is read back as the same message (texts that encoding cuts excepted).

#include <cmath>
#include <string>
#include <type_traits>

#include "actors/wire/inbound_frame.hpp"
#include "channel_target.hpp"
#include "fuzz_support.hpp"
#include "worker.capnp.h"

using namespace aladdin;
namespace wc = worker_channel;

namespace {

bool texts_fit(const wc::register_worker& r) {
  return r.worker_name.size() <= 256 && r.model.size() <= 256 && r.gpu.size() <= 256;
}

// Equal, a NaN time scale counting as itself: NaN is a legal Float64 on the wire (the node's
// registry refuses it), and NaN != NaN.
bool same_registration(wc::register_worker a, wc::register_worker b) {
  if (std::isnan(a.time_scale) && std::isnan(b.time_scale)) a.time_scale = b.time_scale = 0;
  return a == b;
}

wc::message as_message(const node::worker_event& e) {
  return std::visit([](const auto& x) { return wc::message{x}; }, e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::placed_frame frame(data, size);
  const auto limits = codec::decode_limits::channel();
  node::worker_frame read = node::read_worker_frame(frame.span(), limits);
  if (!fuzz::handed_on<wire::worker::Envelope>(read, frame.span(), limits)) return 0;
  const codec::envelope_header header{codec::protocol_version, "fuzz", 0, 1};
  if (const auto* hello = std::get_if<wc::register_worker>(&read)) {
    if (!texts_fit(*hello)) return 0;
    node::worker_frame reread = node::read_worker_frame(wc::encode(header, *hello).bytes(), limits);
    const auto* same = std::get_if<wc::register_worker>(&reread);
    fuzz::require(same != nullptr && same_registration(*same, *hello), "an accepted registration does not round-trip");
    return 0;
  }
  if (const auto* event = std::get_if<node::worker_event>(&read)) {
    if (const auto* r = std::get_if<wc::engine_rejected>(event); r && r->detail.size() > 256) return 0;
    // Encode cuts a chunk longer than the relay's limit (schema/worker_channel.hpp).
    if (const auto* t = std::get_if<wc::query_text>(event); t && t->text.size() > wc::max_text_chunk_bytes)
      return 0;
    const auto again = wc::encode(header, as_message(*event));
    // A heartbeat that fit the limit as received fits it when encoded again.
    node::worker_frame reread = node::read_worker_frame(again.bytes(), limits);
    const auto* same = std::get_if<node::worker_event>(&reread);
    fuzz::require(same != nullptr && *same == *event, "an accepted worker event does not round-trip");
  }
  return 0;
}
