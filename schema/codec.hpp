#pragma once
// Cap'n Proto framing for every channel and every persisted record: encode to a word-aligned
// buffer; decode from untrusted bytes without ever throwing.
//
// decode_envelope / decode_root accept any byte span — any size, any alignment — and return
// either a message whose every field has already been read once under limits, or a typed error.
// The checks, in order:
//   1. size: non-empty, at most `max_bytes`, a multiple of 8 (a flat message is whole words);
//   2. alignment: the reader needs 8-byte-aligned words and ZeroMQ TCP frames usually are not,
//      so the bytes are copied into an aligned kj::heapArray (the *_in_place variants copy only
//      unaligned input, see below);
//   3. the segment table, and no trailing bytes after the message;
//   4. envelopes only: a header is present, its protocolVersion is ours, the union member is one
//      this build knows (a newer peer's message is unknownMessage, not malformed);
//   5. a schema-driven traversal of every reachable field, under a traversal limit of
//      `traversal_factor` × message words and a nesting limit.
// Step 5 is what makes later reads safe: Cap'n Proto validates pointers lazily, so without it a
// bad pointer or an unterminated Text would throw at the handler's first field access. It also
// bounds amplification (many pointers aliasing one large object), which a size limit alone
// cannot. The validation spends about one message's worth of the traversal budget; with the
// default factor of 8 the handler can read the message about seven more times before a read
// throws, so handlers should read each field once or a few times.
//
// Lifetime: decode_envelope and decode_root always copy, so the decoded message owns everything
// it reads and may outlive the input (be handed to another actor, say). The copy is one memcpy of
// at most max_bytes, which stack.md found costs nothing measurable at these sizes. The
// *_in_place variants skip the copy when the input is aligned; the decoded message then reads the
// caller's bytes, which must stay alive and unchanged while it or any reader taken from it is
// used. Use them only where the frame visibly outlives the handling (one function scope) —
// inproc frames are usually aligned, so a lifetime bug there would hide until a TCP peer.

#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common.capnp.h"

namespace aladdin::codec {

// The version this build speaks on every channel. Bump it on an incompatible change.
inline constexpr std::uint16_t protocol_version = 1;

enum class decode_errc : std::uint8_t { malformed, oversized, unknown_message, version_mismatch, internal };
std::string_view to_string(decode_errc code);
wire::ErrorCode to_wire(decode_errc code);

struct decode_error {
  decode_errc code = decode_errc::internal;
  std::string detail;  // for humans; bounded in length
  // False when the input was itself an error reply that this build cannot read (an error code
  // from a newer peer): a receiver counts it and does not answer, so that two peers can never
  // bounce errors back and forth.
  bool answerable = true;
};

struct decode_limits {
  std::size_t max_bytes = 64 * 1024;
  std::uint64_t traversal_factor = 8;  // traversal limit = factor × message words
  int nesting_limit = 16;              // our schemas nest at most 4 deep
  // Step 5 (the schema-driven visit of every field). Turn it off only where the caller copies
  // every field out of the message at once under a try/catch of its own — reading is then the
  // validation, still under the traversal limit — as the channel codecs do for every frame
  // (schema/client_channel.cpp, schema/worker_channel.cpp): there the visit doubled the cost of
  // a decode.
  bool visit_fields = true;

  // Client and worker channels: small messages from untrusted peers.
  static decode_limits channel() { return {}; }
  // Records read back from our own store: larger (plans), corruption still possible.
  static decode_limits record() { return {16u << 20, 8, 16}; }
};

// A value or a decode_error. Accessing the wrong alternative is a programming error (it throws
// std::bad_variant_access); check ok() first.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}                // NOLINT: implicit by design
  result(decode_error error) : v_(std::move(error)) {}     // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const decode_error& error() const { return std::get<decode_error>(v_); }

 private:
  std::variant<T, decode_error> v_;
};

// One encoded message: whole words, so the bytes are always 8-byte aligned.
class encoded_message {
 public:
  encoded_message() = default;
  explicit encoded_message(kj::Array<capnp::word> words) : words_(kj::mv(words)) {}
  std::span<const std::byte> bytes() const {
    auto b = words_.asBytes();
    return {reinterpret_cast<const std::byte*>(b.begin()), b.size()};
  }
  std::size_t size() const { return words_.size() * sizeof(capnp::word); }

 private:
  kj::Array<capnp::word> words_;
};

// Flattens a built message (single allocation, copy).
encoded_message encode(capnp::MessageBuilder& message);

// The header every envelope carries (common.capnp Header).
struct envelope_header {
  std::uint16_t protocol_version = codec::protocol_version;
  std::string sender;
  std::uint64_t epoch = 0;
  std::uint64_t sequence = 0;

  friend bool operator==(const envelope_header&, const envelope_header&) = default;
};
void write_header(wire::Header::Builder out, const envelope_header& h);
envelope_header read_header(wire::Header::Reader in);

// Text setters need a NUL-terminated view; std::string guarantees one.
inline capnp::Text::Reader text(const std::string& s) { return {s.c_str(), s.size()}; }
// A Text as std::string, embedded NULs included (a plain conversion would stop at the first).
inline std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

// Cuts a human-readable detail to `max_chars` so that an error reply stays small.
std::string bounded_detail(std::string_view detail, std::size_t max_chars = 256);

namespace detail {

// Owns what a decoded message reads from: the reader, and the aligned copy when one was needed.
class opened_message {
 public:
  capnp::MessageReader& reader() { return *reader_; }
  bool borrows_input() const { return copy_.size() == 0; }

 private:
  friend result<std::unique_ptr<opened_message>> open_message(std::span<const std::byte>,
                                                              const decode_limits&,
                                                              capnp::StructSchema, bool, bool);
  kj::Array<capnp::word> copy_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// Steps 1–5 above for a root of type `schema`; `envelope` adds step 4; `in_place` reads aligned
// input without copying it. Never throws.
result<std::unique_ptr<opened_message>> open_message(std::span<const std::byte> bytes,
                                                     const decode_limits& limits,
                                                     capnp::StructSchema schema, bool envelope,
                                                     bool in_place);

}  // namespace detail

template <class Root>
class decoded;

// Decodes a record or any other root struct: steps 1–3 and 5. The result owns a copy.
template <class Root>
result<decoded<Root>> decode_root(std::span<const std::byte> bytes,
                                  const decode_limits& limits = decode_limits::record());

// Decodes a channel envelope (a struct with `header :Header` and a union): steps 1–5. The
// result owns a copy.
template <class Envelope>
result<decoded<Envelope>> decode_envelope(std::span<const std::byte> bytes,
                                          const decode_limits& limits = decode_limits::channel());

// As decode_envelope, but aligned input is read where it lies: `bytes` must outlive the result.
template <class Envelope>
result<decoded<Envelope>> decode_envelope_in_place(
    std::span<const std::byte> bytes, const decode_limits& limits = decode_limits::channel());

// A validated message. Movable; readers taken from it stay valid while it lives.
template <class Root>
class decoded {
 public:
  typename Root::Reader root() const { return root_; }
  // Whether the message reads the caller's bytes (an in-place decode of aligned input).
  bool borrows_input() const { return message_->borrows_input(); }

 private:
  template <class R>
  friend result<decoded<R>> decode_root(std::span<const std::byte>, const decode_limits&);
  template <class E>
  friend result<decoded<E>> decode_envelope(std::span<const std::byte>, const decode_limits&);
  template <class E>
  friend result<decoded<E>> decode_envelope_in_place(std::span<const std::byte>,
                                                     const decode_limits&);

  static result<decoded> from(result<std::unique_ptr<detail::opened_message>> opened) {
    if (!opened) return opened.error();
    decoded d;
    d.message_ = std::move(opened).value();
    // Cannot fail after open_message validated the root; caught anyway, since this function
    // promises not to throw.
    try {
      d.root_ = d.message_->reader().template getRoot<Root>();
    } catch (const kj::Exception& e) {
      return decode_error{decode_errc::malformed, bounded_detail(e.getDescription().cStr())};
    } catch (...) {
      return decode_error{decode_errc::internal, "unexpected exception reading the root"};
    }
    return d;
  }

  std::unique_ptr<detail::opened_message> message_;
  typename Root::Reader root_;
};

template <class Root>
result<decoded<Root>> decode_root(std::span<const std::byte> bytes, const decode_limits& limits) {
  return decoded<Root>::from(
      detail::open_message(bytes, limits, capnp::Schema::from<Root>(), false, false));
}

template <class Envelope>
result<decoded<Envelope>> decode_envelope(std::span<const std::byte> bytes,
                                          const decode_limits& limits) {
  return decoded<Envelope>::from(
      detail::open_message(bytes, limits, capnp::Schema::from<Envelope>(), true, false));
}

template <class Envelope>
result<decoded<Envelope>> decode_envelope_in_place(std::span<const std::byte> bytes,
                                                   const decode_limits& limits) {
  return decoded<Envelope>::from(
      detail::open_message(bytes, limits, capnp::Schema::from<Envelope>(), true, true));
}

// Builds one envelope: the header is written on construction; fill the union through
// envelope(), then encode(). 64 words cover every message but a large heartbeat without a
// second allocation (MallocMessageBuilder's default first segment is 8 KiB).
template <class Envelope>
class envelope_builder {
 public:
  explicit envelope_builder(const envelope_header& h, unsigned first_segment_words = 64)
      : message_(first_segment_words), envelope_(message_.initRoot<Envelope>()) {
    write_header(envelope_.initHeader(), h);
  }
  envelope_builder(const envelope_builder&) = delete;
  envelope_builder& operator=(const envelope_builder&) = delete;

  typename Envelope::Builder envelope() { return envelope_; }
  encoded_message encode() { return codec::encode(message_); }

 private:
  capnp::MallocMessageBuilder message_;
  typename Envelope::Builder envelope_;
};

// The reply to input that could not be handled, on any channel whose envelope has an
// `error :Common.Error` member.
template <class Envelope>
encoded_message encode_error(const envelope_header& h, decode_errc code, std::string_view detail) {
  envelope_builder<Envelope> b(h);
  auto e = b.envelope().initError();
  e.setCode(to_wire(code));
  const std::string d = bounded_detail(detail);
  e.setDetail(text(d));
  return b.encode();
}

}  // namespace aladdin::codec
