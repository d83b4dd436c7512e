#pragma once
// Worker-channel envelopes (schema/worker.capnp) <-> the plain messages of worker_messages.hpp.
//
// Both directions are here: the worker decodes inbound and encodes outbound; a control node (and
// the tests' fake one) does the opposite. Decoding goes through codec::decode_envelope, so it
// accepts any bytes — any size, any alignment — and never throws. A well-formed envelope whose
// member travels the other way (a heartbeat sent to a worker, say) is an unknown_message error:
// the receiver cannot act on it, and the sender should hear so.

#include <cstdint>
#include <span>

#include "actors/worker/worker_messages.hpp"
#include "schema/codec.hpp"

namespace aladdin::worker {

template <class Message>
struct received {
  codec::envelope_header header;
  Message message;
};

// Control plane -> worker.
codec::result<received<inbound>> decode_inbound(
    std::span<const std::byte> bytes,
    const codec::decode_limits& limits = codec::decode_limits::channel());
codec::encoded_message encode_inbound(const inbound& message, const codec::envelope_header& header);

// Worker -> control plane.
codec::result<received<outbound>> decode_outbound(
    std::span<const std::byte> bytes,
    const codec::decode_limits& limits = codec::decode_limits::channel());
codec::encoded_message encode_outbound(const outbound& message,
                                       const codec::envelope_header& header);

// The error reply to a frame that failed to decode.
error_msg error_for(const codec::decode_error& e);

}  // namespace aladdin::worker
