// libFuzzer target: a frame from a client, read as the node's bridge reads it
// (node::read_client_frame, actors/wire/inbound_frame.hpp). Properties: it never throws or
// crashes; a refusal carries a detail; what it hands on, the codec's full validation accepts
// (channel_target.hpp); a submission it accepts, encoded again by the channel's codec, is read
// back as the same submission (texts that encoding cuts excepted).

#include <string>

#include "actors/wire/inbound_frame.hpp"
#include "channel_target.hpp"
#include "client.capnp.h"
#include "fuzz_support.hpp"

using namespace aladdin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::placed_frame frame(data, size);
  const auto limits = codec::decode_limits::channel();
  node::client_frame read = node::read_client_frame(frame.span(), limits);
  if (!fuzz::handed_on<wire::client::Envelope>(read, frame.span(), limits)) return 0;
  const auto* submit = std::get_if<client_channel::submit_query>(&read);
  if (submit == nullptr || submit->model.size() > 256) return 0;
  const auto again = client_channel::encode({codec::protocol_version, "fuzz", 0, 1}, *submit);
  node::client_frame reread = node::read_client_frame(again.bytes(), limits);
  const auto* same = std::get_if<client_channel::submit_query>(&reread);
  fuzz::require(same != nullptr && *same == *submit, "an accepted submission does not round-trip");
  return 0;
}
