#pragma once
// Conversions between the core's structs (and record_types.hpp) and the persisted records of
// records.capnp, plus byte-level encode/decode of a whole record for the state store.
//
// from_record returns a typed error instead of guessing when a record holds an enum value this
// build does not know (a newer writer, or corruption): silently mapping a journal state would
// lose or duplicate a query.

#include <span>

#include "model/hardware.hpp"
#include "model/latency_model.hpp"
#include "records.capnp.h"
#include "schema/codec.hpp"
#include "schema/record_types.hpp"

namespace aladdin {

void to_record(const model_spec& in, records::ModelRecord::Builder out);
codec::result<model_spec> from_record(records::ModelRecord::Reader in);

void to_record(const gpu_spec& in, records::GpuRecord::Builder out);
codec::result<gpu_spec> from_record(records::GpuRecord::Reader in);

void to_record(const worker_config& in, records::WorkerShape::Builder out);
codec::result<worker_config> from_record(records::WorkerShape::Reader in);

void to_record(const worker_profile& in, records::WorkerConfigRecord::Builder out);
codec::result<worker_profile> from_record(records::WorkerConfigRecord::Reader in);

void to_record(const worker_record& in, records::WorkerRecord::Builder out);
codec::result<worker_record> from_record(records::WorkerRecord::Reader in);

void to_record(const plan_record& in, records::PlanRecord::Builder out);
codec::result<plan_record> from_record(records::PlanRecord::Reader in);

void to_record(const journal_entry& in, records::JournalRecord::Builder out);
codec::result<journal_entry> from_record(records::JournalRecord::Reader in);

// Which record persists which value.
template <class T>
struct record_of;
template <>
struct record_of<model_spec> { using type = records::ModelRecord; };
template <>
struct record_of<gpu_spec> { using type = records::GpuRecord; };
template <>
struct record_of<worker_profile> { using type = records::WorkerConfigRecord; };
template <>
struct record_of<worker_record> { using type = records::WorkerRecord; };
template <>
struct record_of<plan_record> { using type = records::PlanRecord; };
template <>
struct record_of<journal_entry> { using type = records::JournalRecord; };

// The bytes of one persisted value.
template <class T>
codec::encoded_message encode_record(const T& value) {
  capnp::MallocMessageBuilder message(64);
  to_record(value, message.initRoot<typename record_of<T>::type>());
  return codec::encode(message);
}

// A value back from bytes of any alignment; a typed error on anything else. Never throws.
template <class T>
codec::result<T> decode_record(std::span<const std::byte> bytes,
                               const codec::decode_limits& limits = codec::decode_limits::record()) {
  auto decoded = codec::decode_root<typename record_of<T>::type>(bytes, limits);
  if (!decoded) return decoded.error();
  // Validated already; only a spent traversal budget could throw here.
  try {
    return from_record(decoded.value().root());
  } catch (const kj::Exception& e) {
    return codec::decode_error{codec::decode_errc::malformed,
                               codec::bounded_detail(e.getDescription().cStr())};
  } catch (...) {
    return codec::decode_error{codec::decode_errc::internal, "unexpected exception in from_record"};
  }
}

}  // namespace aladdin
