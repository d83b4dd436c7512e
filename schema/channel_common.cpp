#include "schema/channel_common.hpp"

namespace aladdin::channel_common {

const char* to_string(error_code c) {
  switch (c) {
    case error_code::malformed: return "malformed";
    case error_code::oversized: return "oversized";
    case error_code::unknown_message: return "unknown_message";
    case error_code::version_mismatch: return "version_mismatch";
    case error_code::internal: return "internal";
    case error_code::unknown_worker: return "unknown_worker";
  }
  return "unknown";
}

error_code to_error_code(codec::decode_errc code) {
  switch (code) {
    case codec::decode_errc::malformed: return error_code::malformed;
    case codec::decode_errc::oversized: return error_code::oversized;
    case codec::decode_errc::unknown_message: return error_code::unknown_message;
    case codec::decode_errc::version_mismatch: return error_code::version_mismatch;
    case codec::decode_errc::internal: return error_code::internal;
  }
  return error_code::internal;
}

wire_error error_for(const codec::decode_error& e) { return {to_error_code(e.code), e.detail}; }

namespace detail {

codec::decode_error unknown_enum(const char* what) {
  return {codec::decode_errc::unknown_message, std::string("unknown ") + what + " value"};
}

void put_error(wire::Error::Builder out, const wire_error& e) {
  out.setCode(wire_enum<wire::ErrorCode>(e.code));
  out.setDetail(codec::text(codec::bounded_detail(e.detail)));
}

codec::result<wire_error> get_error(wire::Error::Reader in) {
  wire_error e;
  if (!known_enum<error_code, error_code::unknown_worker>(in.getCode(), &e.code)) {
    codec::decode_error unknown = unknown_enum("error code");
    unknown.answerable = false;
    return unknown;
  }
  e.detail = codec::str(in.getDetail());
  return e;
}

}  // namespace detail
}  // namespace aladdin::channel_common
