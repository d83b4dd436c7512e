#include "schema/codec.hpp"

#include <capnp/dynamic.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>

namespace aladdin::codec {

std::string_view to_string(decode_errc code) {
  switch (code) {
    case decode_errc::malformed: return "malformed";
    case decode_errc::oversized: return "oversized";
    case decode_errc::unknown_message: return "unknown_message";
    case decode_errc::version_mismatch: return "version_mismatch";
    case decode_errc::internal: return "internal";
  }
  return "unknown";
}

wire::ErrorCode to_wire(decode_errc code) {
  switch (code) {
    case decode_errc::malformed: return wire::ErrorCode::MALFORMED;
    case decode_errc::oversized: return wire::ErrorCode::OVERSIZED;
    case decode_errc::unknown_message: return wire::ErrorCode::UNKNOWN_MESSAGE;
    case decode_errc::version_mismatch: return wire::ErrorCode::VERSION_MISMATCH;
    case decode_errc::internal: return wire::ErrorCode::INTERNAL;
  }
  return wire::ErrorCode::INTERNAL;
}

encoded_message encode(capnp::MessageBuilder& message) {
  return encoded_message(capnp::messageToFlatArray(message));
}

void write_header(wire::Header::Builder out, const envelope_header& h) {
  out.setProtocolVersion(h.protocol_version);
  out.setSender(text(h.sender));
  out.setEpoch(h.epoch);
  out.setSequence(h.sequence);
}

envelope_header read_header(wire::Header::Reader in) {
  envelope_header h;
  h.protocol_version = in.getProtocolVersion();
  h.sender = str(in.getSender());
  h.epoch = in.getEpoch();
  h.sequence = in.getSequence();
  return h;
}

std::string bounded_detail(std::string_view detail, std::size_t max_chars) {
  if (detail.size() <= max_chars) return std::string(detail);
  return std::string(detail.substr(0, max_chars)) + "...";
}

namespace {

decode_error fail(decode_errc code, std::string detail) {
  return decode_error{code, bounded_detail(detail)};
}

void touch(const capnp::DynamicValue::Reader& value);

// A null pointer field reads as its default, which for a recursive type contains the same null
// field again: following it would never end. There is nothing behind it to validate anyway.
bool is_null_pointer(const capnp::DynamicStruct::Reader& s, capnp::StructSchema::Field field) {
  if (!field.getProto().isSlot()) return false;  // a group: its fields live in this struct
  switch (field.getType().which()) {
    case capnp::schema::Type::TEXT:
    case capnp::schema::Type::DATA:
    case capnp::schema::Type::LIST:
    case capnp::schema::Type::STRUCT:
    case capnp::schema::Type::INTERFACE:
    case capnp::schema::Type::ANY_POINTER:
      return !s.has(field);
    default:
      return false;
  }
}

void touch_field(const capnp::DynamicStruct::Reader& s, capnp::StructSchema::Field field) {
  if (!is_null_pointer(s, field)) touch(s.get(field));
}

// Reads every field the schema reaches: the non-union fields and the active union member. An
// unknown union member below the root (a newer writer) is skipped: its data is not ours to read.
void touch_struct(const capnp::DynamicStruct::Reader& s) {
  for (auto field : s.getSchema().getNonUnionFields()) touch_field(s, field);
  KJ_IF_MAYBE(field, s.which()) { touch_field(s, *field); }
}

void touch(const capnp::DynamicValue::Reader& value) {
  switch (value.getType()) {
    case capnp::DynamicValue::TEXT:
      // Reading a Text checks its NUL terminator, which the pointer check alone does not.
      (void)value.as<capnp::Text>();
      break;
    case capnp::DynamicValue::DATA:
      (void)value.as<capnp::Data>();
      break;
    case capnp::DynamicValue::STRUCT:
      touch_struct(value.as<capnp::DynamicStruct>());
      break;
    case capnp::DynamicValue::LIST: {
      auto list = value.as<capnp::DynamicList>();
      // Primitive elements were bounds-checked with the list itself; only pointers and structs
      // need visiting.
      switch (list.getSchema().whichElementType()) {
        case capnp::schema::Type::TEXT:
        case capnp::schema::Type::DATA:
        case capnp::schema::Type::LIST:
        case capnp::schema::Type::STRUCT:
          for (auto element : list) touch(element);
          break;
        default:
          break;
      }
      break;
    }
    default:
      break;
  }
}

// The envelope contract every channel schema follows: a `header` struct with protocolVersion,
// then a union. Checked through reflection so one function serves every channel.
std::optional<decode_error> check_envelope(const capnp::DynamicStruct::Reader& root) {
  auto schema = root.getSchema();
  KJ_IF_MAYBE(header_field, schema.findFieldByName("header")) {
    if (!root.has(*header_field)) return fail(decode_errc::malformed, "envelope has no header");
    auto header = root.get(*header_field).as<capnp::DynamicStruct>();
    const auto version = header.get("protocolVersion").as<std::uint16_t>();
    if (version != protocol_version) {
      return fail(decode_errc::version_mismatch,
                  "protocol version " + std::to_string(version) + ", this build speaks " +
                      std::to_string(protocol_version));
    }
  } else {
    return fail(decode_errc::internal, "not an envelope schema: no header field");
  }
  if (schema.getUnionFields().size() == 0) {
    return fail(decode_errc::internal, "not an envelope schema: no union");
  }
  if (root.which() == nullptr) {
    return fail(decode_errc::unknown_message,
                "a message this build does not know (from a newer peer?)");
  }
  return std::nullopt;
}

}  // namespace

namespace detail {

result<std::unique_ptr<opened_message>> open_message(std::span<const std::byte> bytes,
                                                     const decode_limits& limits,
                                                     capnp::StructSchema schema, bool envelope,
                                                     bool in_place) {
  constexpr std::size_t word_bytes = sizeof(capnp::word);
  if (bytes.empty()) return fail(decode_errc::malformed, "empty message");
  if (bytes.size() > limits.max_bytes) {
    return fail(decode_errc::oversized, std::to_string(bytes.size()) + " bytes, limit " +
                                            std::to_string(limits.max_bytes));
  }
  if (bytes.size() % word_bytes != 0) {
    return fail(decode_errc::malformed,
                std::to_string(bytes.size()) + " bytes is not a whole number of 8-byte words");
  }

  try {
    auto opened = std::make_unique<opened_message>();
    const std::size_t words = bytes.size() / word_bytes;
    kj::ArrayPtr<const capnp::word> view;
    const bool aligned = reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) == 0;
    if (in_place && aligned) {
      view = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), words);
    } else {
      // The reader requires aligned words (this build has no CAPNP_ALLOW_UNALIGNED), and an
      // owned copy frees the caller from keeping the input alive.
      opened->copy_ = kj::heapArray<capnp::word>(words);
      std::memcpy(opened->copy_.begin(), bytes.data(), bytes.size());
      view = kj::arrayPtr(static_cast<const capnp::word*>(opened->copy_.begin()), words);
    }

    capnp::ReaderOptions options;
    options.traversalLimitInWords =
        std::max<std::uint64_t>(words * std::max<std::uint64_t>(limits.traversal_factor, 1), 64);
    options.nestingLimit = limits.nesting_limit;
    opened->reader_ = std::make_unique<capnp::FlatArrayMessageReader>(view, options);
    if (opened->reader_->getEnd() != view.end()) {
      return fail(decode_errc::malformed, "trailing bytes after the message");
    }

    auto root = opened->reader_->getRoot<capnp::DynamicStruct>(schema);
    if (envelope) {
      if (auto error = check_envelope(root)) return *error;
    }
    if (limits.visit_fields) touch_struct(root);
    return opened;
  } catch (const kj::Exception& e) {
    return fail(decode_errc::malformed, e.getDescription().cStr());
  } catch (const std::bad_alloc&) {
    return fail(decode_errc::internal, "out of memory while decoding");
  } catch (const std::exception& e) {
    return fail(decode_errc::malformed, e.what());
  } catch (...) {
    return fail(decode_errc::internal, "unknown exception while decoding");
  }
}

}  // namespace detail
}  // namespace aladdin::codec
