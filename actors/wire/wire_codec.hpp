#pragma once
// Encoding and decoding of whole channel envelopes to and from the plain messages of
// messages.hpp, on top of schema/codec.hpp (which checks size, alignment, segment table,
// header version and union member of untrusted bytes before anything here reads them).
//
// Both directions of both channels are covered, so that the node, the load generator and test
// peers speak through one implementation. A decoder copies every field of the message into
// plain structs at once, under a try/catch, so that read doubles as the field-by-field
// validation (the codec's own visit is skipped: decode_limits::visit_fields). Decoding never
// throws: a bad frame is a typed codec::decode_error, ready to be answered with an error
// envelope. Enum values this build does not know (a newer peer) are decode errors too, never
// silently mapped to a neighbour.

#include <cstddef>
#include <span>
#include <string_view>

#include "actors/wire/messages.hpp"
#include "schema/codec.hpp"

namespace aladdin::node {

codec::encoded_message encode(const codec::envelope_header& h, const client_message& m);
codec::encoded_message encode(const codec::envelope_header& h, const worker_message& m);

codec::result<client_message> decode_client(std::span<const std::byte> bytes,
                                            const codec::decode_limits& limits = codec::decode_limits::channel());
codec::result<worker_message> decode_worker(std::span<const std::byte> bytes,
                                            const codec::decode_limits& limits = codec::decode_limits::channel());

// The error envelope of a channel, for input that could not be decoded.
codec::encoded_message encode_error(channel ch, const codec::envelope_header& h,
                                    codec::decode_errc code, std::string_view detail);

error_code to_error_code(codec::decode_errc code);

// Names of the union members, for logs and error details.
const char* message_name(const client_message& m);
const char* message_name(const worker_message& m);

}  // namespace aladdin::node
