#pragma once
// What the node makes of one frame a peer sent, before anything is routed: the one place the
// node decodes each channel. The bridge (zmq_bridge.cpp) calls these for every frame it reads,
// and the fuzz targets (tests/fuzz/) call exactly them, so what is fuzzed is the network path.
//
// A frame is either something for the actors (a submission; a registration; a registered
// worker's event), or a refusal to answer with an error envelope (malformed, oversized, wrong
// version, wrong direction, or a message the node has no handler for), or an error reply from
// the peer, which is counted and never answered (two peers must not bounce errors).

#include <cstddef>
#include <span>
#include <string>
#include <variant>

#include "actors/wire/messages.hpp"
#include "schema/codec.hpp"

namespace aladdin::node {

// To be answered with error{code, detail}.
struct frame_refusal {
  channel_common::error_code code = channel_common::error_code::malformed;
  std::string detail;
};

// An error envelope from the peer (or one this build cannot read): counted, not answered.
struct peer_error {};

using client_frame = std::variant<client_channel::submit_query, client_channel::status_request, frame_refusal, peer_error>;
using worker_frame =
    std::variant<worker_channel::register_worker, worker_event, frame_refusal, peer_error>;

// The node's decoding of a frame from a client / a worker, under `limits`. Never throws.
client_frame read_client_frame(std::span<const std::byte> bytes, const codec::decode_limits& limits);
worker_frame read_worker_frame(std::span<const std::byte> bytes, const codec::decode_limits& limits);

}  // namespace aladdin::node
