// libFuzzer target: a frame from a client, read as the node's bridge reads it
// (node::read_client_frame, actors/wire/inbound_frame.hpp). Properties: it never throws or
// crashes; a refusal carries a detail; what it accepts, the codec's full validation accepts; a
// submission it accepts, encoded again by the channel's
// codec, is read back as the same submission (texts that encoding cuts excepted).

#include <string>

#include "actors/wire/inbound_frame.hpp"
#include "client.capnp.h"
#include "fuzz_support.hpp"

using namespace aladdin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::placed_frame frame(data, size);
  const auto limits = codec::decode_limits::channel();
  node::client_frame read = node::read_client_frame(frame.span(), limits);
  if (fuzz::refused<node::frame_refusal>(read) || std::holds_alternative<node::peer_error>(read)) return 0;
  // What the node hands on, the codec's full validation (the visit of every field, which the
  // node's decode skips: decode_limits::visit_fields) takes too. (Error envelopes are left out:
  // one with a code this build does not know is counted unread, never answered.)
  fuzz::require(codec::decode_envelope<wire::client::Envelope>(frame.span(), limits).ok(),
                "the node accepts a frame that the codec's full validation refuses");
  const auto* submit = std::get_if<client_channel::submit_query>(&read);
  if (submit == nullptr || submit->model.size() > 256) return 0;
  const auto again = client_channel::encode({codec::protocol_version, "fuzz", 0, 1}, *submit);
  node::client_frame reread = node::read_client_frame(again.bytes(), limits);
  const auto* same = std::get_if<client_channel::submit_query>(&reread);
  fuzz::require(same != nullptr && *same == *submit, "an accepted submission does not round-trip");
  return 0;
}
