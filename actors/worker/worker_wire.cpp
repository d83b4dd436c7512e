#include "actors/worker/worker_wire.hpp"

#include <kj/exception.h>

#include <string>
#include <type_traits>
#include <variant>

#include "worker.capnp.h"

namespace aladdin::worker {

namespace {

namespace ww = wire::worker;
using envelope_reader = ww::Envelope::Reader;

wire::ErrorCode to_wire(error_code c) {
  switch (c) {
    case error_code::malformed:
      return wire::ErrorCode::MALFORMED;
    case error_code::oversized:
      return wire::ErrorCode::OVERSIZED;
    case error_code::unknown_message:
      return wire::ErrorCode::UNKNOWN_MESSAGE;
    case error_code::version_mismatch:
      return wire::ErrorCode::VERSION_MISMATCH;
    case error_code::internal:
      return wire::ErrorCode::INTERNAL;
    case error_code::unknown_worker:
      return wire::ErrorCode::UNKNOWN_WORKER;
  }
  return wire::ErrorCode::INTERNAL;
}

error_code from_wire(wire::ErrorCode c) {
  switch (c) {
    case wire::ErrorCode::MALFORMED:
      return error_code::malformed;
    case wire::ErrorCode::OVERSIZED:
      return error_code::oversized;
    case wire::ErrorCode::UNKNOWN_MESSAGE:
      return error_code::unknown_message;
    case wire::ErrorCode::VERSION_MISMATCH:
      return error_code::version_mismatch;
    case wire::ErrorCode::INTERNAL:
      return error_code::internal;
    case wire::ErrorCode::UNKNOWN_WORKER:
      return error_code::unknown_worker;
  }
  // A code added by a newer peer: all we know is that it failed.
  return error_code::internal;
}

error_msg read_error(wire::Error::Reader e) {
  return {from_wire(e.getCode()), codec::str(e.getDetail())};
}

void write_error(wire::Error::Builder out, const error_msg& m) {
  out.setCode(to_wire(m.code));
  const std::string detail = codec::bounded_detail(m.detail);
  out.setDetail(codec::text(detail));
}

const char* member_name(ww::Envelope::Which w) {
  switch (w) {
    case ww::Envelope::REGISTER_WORKER:
      return "registerWorker";
    case ww::Envelope::REGISTERED:
      return "registered";
    case ww::Envelope::ASSIGN_QUERY:
      return "assignQuery";
    case ww::Envelope::CANCEL_QUERY:
      return "cancelQuery";
    case ww::Envelope::HEARTBEAT:
      return "heartbeat";
    case ww::Envelope::FIRST_TOKEN:
      return "firstToken";
    case ww::Envelope::QUERY_COMPLETED:
      return "queryCompleted";
    case ww::Envelope::QUERY_REJECTED:
      return "queryRejected";
    case ww::Envelope::DRAIN:
      return "drain";
    case ww::Envelope::SHUTDOWN:
      return "shutdown";
    case ww::Envelope::ERROR:
      return "error";
  }
  return "an unknown member";
}

codec::decode_error wrong_direction(ww::Envelope::Which w, const char* receiver) {
  return {codec::decode_errc::unknown_message,
          std::string(member_name(w)) + " is not a message for " + receiver};
}

// Reads the union of a validated envelope; `read` returns the message or a decode_error. The
// codec has already walked every field, so reads should not throw; a throw is still caught,
// since decoding promises never to.
template <class Message, class Read>
codec::result<received<Message>> decode_with(std::span<const std::byte> bytes,
                                             const codec::decode_limits& limits, Read read) {
  auto decoded = codec::decode_envelope<ww::Envelope>(bytes, limits);
  if (!decoded) return decoded.error();
  try {
    const auto root = decoded.value().root();
    codec::envelope_header header = codec::read_header(root.getHeader());
    std::variant<Message, codec::decode_error> m = read(root);
    if (auto* e = std::get_if<codec::decode_error>(&m)) return std::move(*e);
    return received<Message>{std::move(header), std::move(std::get<Message>(m))};
  } catch (const kj::Exception& e) {
    return codec::decode_error{codec::decode_errc::malformed,
                               codec::bounded_detail(e.getDescription().cStr())};
  } catch (...) {
    return codec::decode_error{codec::decode_errc::internal,
                               "unexpected exception reading a message"};
  }
}

}  // namespace

error_msg error_for(const codec::decode_error& e) {
  switch (e.code) {
    case codec::decode_errc::malformed:
      return {error_code::malformed, e.detail};
    case codec::decode_errc::oversized:
      return {error_code::oversized, e.detail};
    case codec::decode_errc::unknown_message:
      return {error_code::unknown_message, e.detail};
    case codec::decode_errc::version_mismatch:
      return {error_code::version_mismatch, e.detail};
    case codec::decode_errc::internal:
      return {error_code::internal, e.detail};
  }
  return {error_code::internal, e.detail};
}

codec::result<received<inbound>> decode_inbound(std::span<const std::byte> bytes,
                                                const codec::decode_limits& limits) {
  return decode_with<inbound>(
      bytes, limits, [](envelope_reader env) -> std::variant<inbound, codec::decode_error> {
        switch (env.which()) {
          case ww::Envelope::REGISTERED: {
            auto m = env.getRegistered();
            return inbound{registered_msg{m.getWorkerId(), m.getEpoch()}};
          }
          case ww::Envelope::ASSIGN_QUERY: {
            auto m = env.getAssignQuery();
            return inbound{assign_query_msg{m.getQueryId(), m.getPromptTokens(),
                                            m.getOutputTokensHint(), m.getMaxOutputTokens(),
                                            m.getArrivalMicros()}};
          }
          case ww::Envelope::CANCEL_QUERY:
            return inbound{cancel_query_msg{env.getCancelQuery().getQueryId()}};
          case ww::Envelope::DRAIN:
            return inbound{drain_msg{env.getDrain().getDeadlineMicros()}};
          case ww::Envelope::SHUTDOWN:
            return inbound{shutdown_msg{codec::str(env.getShutdown().getReason())}};
          case ww::Envelope::ERROR:
            return inbound{read_error(env.getError())};
          default:
            return wrong_direction(env.which(), "a worker");
        }
      });
}

codec::result<received<outbound>> decode_outbound(std::span<const std::byte> bytes,
                                                  const codec::decode_limits& limits) {
  return decode_with<outbound>(
      bytes, limits, [](envelope_reader env) -> std::variant<outbound, codec::decode_error> {
        switch (env.which()) {
          case ww::Envelope::REGISTER_WORKER: {
            auto m = env.getRegisterWorker();
            return outbound{register_worker_msg{
                codec::str(m.getWorkerName()), codec::str(m.getModel()), codec::str(m.getGpu()),
                m.getTp(), m.getKvCapacityTokens(), m.getBlockSize()}};
          }
          case ww::Envelope::HEARTBEAT: {
            auto m = env.getHeartbeat();
            heartbeat_msg hb;
            hb.worker_id = m.getWorkerId();
            hb.at = m.getAtMicros();
            hb.kv_blocks_used = m.getKvBlocksUsed();
            hb.kv_blocks_total = m.getKvBlocksTotal();
            for (auto p : m.getRunning())
              hb.running.push_back({p.getQueryId(), p.getGeneratedTokens()});
            hb.waiting_count = m.getWaitingCount();
            for (auto id : m.getWaiting()) hb.waiting.push_back(id);
            return outbound{std::move(hb)};
          }
          case ww::Envelope::FIRST_TOKEN: {
            auto m = env.getFirstToken();
            return outbound{first_token_msg{m.getQueryId(), m.getAtMicros()}};
          }
          case ww::Envelope::QUERY_COMPLETED: {
            auto m = env.getQueryCompleted();
            return outbound{
                query_completed_msg{m.getQueryId(), m.getOutputTokens(), m.getAtMicros()}};
          }
          case ww::Envelope::QUERY_REJECTED: {
            auto m = env.getQueryRejected();
            const reject_reason reason = m.getReason() == ww::EngineRejectReason::TOO_LARGE
                                             ? reject_reason::too_large
                                             : reject_reason::invalid;
            return outbound{query_rejected_msg{m.getQueryId(), reason, codec::str(m.getDetail())}};
          }
          case ww::Envelope::ERROR:
            return outbound{read_error(env.getError())};
          default:
            return wrong_direction(env.which(), "a control plane");
        }
      });
}

codec::encoded_message encode_inbound(const inbound& message,
                                      const codec::envelope_header& header) {
  codec::envelope_builder<ww::Envelope> b(header);
  auto env = b.envelope();
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, registered_msg>) {
          auto r = env.initRegistered();
          r.setWorkerId(m.worker_id);
          r.setEpoch(m.epoch);
        } else if constexpr (std::is_same_v<T, assign_query_msg>) {
          auto a = env.initAssignQuery();
          a.setQueryId(m.query_id);
          a.setPromptTokens(m.prompt_tokens);
          a.setOutputTokensHint(m.output_tokens_hint);
          a.setMaxOutputTokens(m.max_output_tokens);
          a.setArrivalMicros(m.arrival);
        } else if constexpr (std::is_same_v<T, cancel_query_msg>) {
          env.initCancelQuery().setQueryId(m.query_id);
        } else if constexpr (std::is_same_v<T, drain_msg>) {
          env.initDrain().setDeadlineMicros(m.deadline);
        } else if constexpr (std::is_same_v<T, shutdown_msg>) {
          env.initShutdown().setReason(codec::text(m.reason));
        } else if constexpr (std::is_same_v<T, error_msg>) {
          write_error(env.initError(), m);
        }
      },
      message);
  return b.encode();
}

codec::encoded_message encode_outbound(const outbound& message,
                                       const codec::envelope_header& header) {
  // A heartbeat's lists would otherwise spill into a second segment: size the first for them.
  unsigned words = 64;
  if (const auto* hb = std::get_if<heartbeat_msg>(&message))
    words += static_cast<unsigned>(2 * hb->running.size() + hb->waiting.size());
  codec::envelope_builder<ww::Envelope> b(header, words);
  auto env = b.envelope();
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, register_worker_msg>) {
          auto r = env.initRegisterWorker();
          r.setWorkerName(codec::text(m.worker_name));
          r.setModel(codec::text(m.model));
          r.setGpu(codec::text(m.gpu));
          r.setTp(m.tp);
          r.setKvCapacityTokens(m.kv_capacity_tokens);
          r.setBlockSize(m.block_size);
        } else if constexpr (std::is_same_v<T, heartbeat_msg>) {
          auto h = env.initHeartbeat();
          h.setWorkerId(m.worker_id);
          h.setAtMicros(m.at);
          h.setKvBlocksUsed(m.kv_blocks_used);
          h.setKvBlocksTotal(m.kv_blocks_total);
          auto running = h.initRunning(static_cast<unsigned>(m.running.size()));
          for (unsigned i = 0; i < m.running.size(); ++i) {
            running[i].setQueryId(m.running[i].query_id);
            running[i].setGeneratedTokens(m.running[i].generated_tokens);
          }
          h.setWaitingCount(m.waiting_count);
          auto waiting = h.initWaiting(static_cast<unsigned>(m.waiting.size()));
          for (unsigned i = 0; i < m.waiting.size(); ++i) waiting.set(i, m.waiting[i]);
        } else if constexpr (std::is_same_v<T, first_token_msg>) {
          auto f = env.initFirstToken();
          f.setQueryId(m.query_id);
          f.setAtMicros(m.at);
        } else if constexpr (std::is_same_v<T, query_completed_msg>) {
          auto c = env.initQueryCompleted();
          c.setQueryId(m.query_id);
          c.setOutputTokens(m.output_tokens);
          c.setAtMicros(m.at);
        } else if constexpr (std::is_same_v<T, query_rejected_msg>) {
          auto r = env.initQueryRejected();
          r.setQueryId(m.query_id);
          r.setReason(m.reason == reject_reason::too_large ? ww::EngineRejectReason::TOO_LARGE
                                                           : ww::EngineRejectReason::INVALID);
          const std::string detail = codec::bounded_detail(m.detail);
          r.setDetail(codec::text(detail));
        } else if constexpr (std::is_same_v<T, error_msg>) {
          write_error(env.initError(), m);
        }
      },
      message);
  return b.encode();
}

}  // namespace aladdin::worker
