#pragma once
// What the client and worker channels share (schema/common.capnp): the error code and the
// `error` message every envelope carries, and the pieces both channel codecs are built from.
//
// The channel modules (schema/client_channel.hpp, schema/worker_channel.hpp) re-export
// error_code and wire_error, so that `worker_channel::wire_error` and `client_channel::wire_error`
// name this one type.

#include <kj/exception.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common.capnp.h"
#include "schema/codec.hpp"

namespace aladdin::channel_common {

// common.capnp ErrorCode, in schema order.
enum class error_code : std::uint8_t {
  malformed, oversized, unknown_message, version_mismatch, internal, unknown_worker
};
const char* to_string(error_code c);

// The codec's decode errors are the error codes a receiver answers with.
error_code to_error_code(codec::decode_errc code);

// common.capnp Error: the reply to input that could not be handled.
struct wire_error {
  error_code code = error_code::internal;
  std::string detail;  // for humans; bounded on encode
  friend bool operator==(const wire_error&, const wire_error&) = default;
};

// The error reply to a frame that failed to decode.
wire_error error_for(const codec::decode_error& e);

// A decoded frame of a channel: its header and its message.
template <class Message>
struct received {
  codec::envelope_header header;
  Message body;
};

// Largest frame a channel's socket accepts at all (ZMQ_MAXMSGSIZE): above it libzmq drops the
// connection. It sits above the codec's own limit (decode_limits::channel().max_bytes), so that a
// frame between the two still gets an "oversized" reply.
inline constexpr std::int64_t max_transport_bytes = 1 << 20;
static_assert(max_transport_bytes > static_cast<std::int64_t>(codec::decode_limits{}.max_bytes),
              "the transport cap must exceed the codec's limit");

// ---- for the channel codecs only ----------------------------------------------------------------
namespace detail {

// Our enums list the schema's enumerants in schema order, so conversion is a cast.
template <class To, class From>
To wire_enum(From v) {
  return static_cast<To>(static_cast<std::uint16_t>(v));
}

// A wire enum value as ours; false for a value this build does not know (`last` is our last
// enumerant). Never mapped to a neighbour.
template <class To, To last, class From>
bool known_enum(From v, To* out) {
  const auto raw = static_cast<std::uint16_t>(v);
  if (raw > static_cast<std::uint16_t>(last)) return false;
  *out = static_cast<To>(raw);
  return true;
}

codec::decode_error unknown_enum(const char* what);

// Every Text a channel codec writes is cut by codec::bounded_detail first, as in
// `o.setDetail(codec::text(codec::bounded_detail(x.detail)))`: the temporary string lives until
// the end of the full expression, and the setter copies it.

void put_error(wire::Error::Builder out, const wire_error& e);
// An unknown code is a decode error that must not be answered: the input was itself an error
// reply (codec::decode_error::answerable).
codec::result<wire_error> get_error(wire::Error::Reader in);

// The decoders copy every field of the message they accept into plain structs, under
// `guarded`: that read is the validation (still under the traversal limit), so the codec's
// separate visit of every field (decode_limits::visit_fields) would only double the cost.
inline codec::decode_limits copy_out(codec::decode_limits limits) {
  limits.visit_fields = false;
  return limits;
}

// Reading a validated message can still throw once the traversal budget is spent (or on a bad
// pointer, since the visit was skipped): the decoders promise not to.
template <class T, class F>
codec::result<T> guarded(F&& read) {
  try {
    return read();
  } catch (const kj::Exception& e) {
    return codec::decode_error{codec::decode_errc::malformed,
                               codec::bounded_detail(e.getDescription().cStr())};
  } catch (...) {
    return codec::decode_error{codec::decode_errc::internal, "unexpected exception while reading"};
  }
}

// Decodes one envelope of a channel: the codec's checks, then `read` copies the union member
// out (a codec::result of the channel's message), then `refusal` names why the receiver cannot
// take it (a wrong direction; empty when it can). Never throws.
template <class Envelope, class Received, class Read, class Refusal>
codec::result<Received> decode_channel(std::span<const std::byte> bytes,
                                       const codec::decode_limits& limits, Read read,
                                       Refusal refusal) {
  auto decoded = codec::decode_envelope<Envelope>(bytes, copy_out(limits));
  if (!decoded) return decoded.error();
  return guarded<Received>([&]() -> codec::result<Received> {
    const auto env = decoded.value().root();
    auto m = read(env);
    if (!m) return m.error();
    if (std::string why = refusal(m.value()); !why.empty())
      return codec::decode_error{codec::decode_errc::unknown_message, std::move(why)};
    return Received{codec::read_header(env.getHeader()), std::move(m).value()};
  });
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace detail
}  // namespace aladdin::channel_common
