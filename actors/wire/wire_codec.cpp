#include "actors/wire/wire_codec.hpp"

#include <type_traits>

#include "client.capnp.h"
#include "worker.capnp.h"

namespace aladdin::node {

namespace cw = wire::client;
namespace ww = wire::worker;

const char* to_string(reject_code c) {
  switch (c) {
    case reject_code::no_capacity: return "no_capacity";
    case reject_code::kv: return "kv";
    case reject_code::ttft: return "ttft";
    case reject_code::atgt: return "atgt";
    case reject_code::invalid: return "invalid";
    case reject_code::overloaded: return "overloaded";
    case reject_code::draining: return "draining";
  }
  return "unknown";
}

const char* to_string(failure_code c) {
  switch (c) {
    case failure_code::worker_lost: return "worker_lost";
    case failure_code::engine_rejected: return "engine_rejected";
    case failure_code::cancelled: return "cancelled";
    case failure_code::deadline_exceeded: return "deadline_exceeded";
    case failure_code::shutting_down: return "shutting_down";
    case failure_code::internal: return "internal";
    case failure_code::unschedulable: return "unschedulable";
  }
  return "unknown";
}

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

namespace {

// Our enums list the schema's enumerants in schema order, so conversion is a cast; `last`
// bounds what this build knows.
template <class To, class From>
To wire_enum(From v) {
  return static_cast<To>(static_cast<std::uint16_t>(v));
}

template <class To, To last, class From>
bool known_enum(From v, To* out) {
  const auto raw = static_cast<std::uint16_t>(v);
  if (raw > static_cast<std::uint16_t>(last)) return false;
  *out = static_cast<To>(raw);
  return true;
}

codec::decode_error unknown_enum(const char* what) {
  return {codec::decode_errc::unknown_message, std::string("unknown ") + what + " value"};
}

void put_error(wire::Error::Builder b, const wire_error& e) {
  b.setCode(wire_enum<wire::ErrorCode>(e.code));
  const std::string d = codec::bounded_detail(e.detail);
  b.setDetail(codec::text(d));
}

codec::result<wire_error> get_error(wire::Error::Reader r) {
  wire_error e;
  if (!known_enum<error_code, error_code::unknown_worker>(r.getCode(), &e.code))
    return unknown_enum("error code");
  e.detail = codec::str(r.getDetail());
  return e;
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// Every decoder below copies every field of the message it accepts into plain structs, under
// `guarded`: that read is the validation (still under the traversal limit), so the codec's
// separate visit of every field would only double the cost.
codec::decode_limits copy_out(codec::decode_limits limits) {
  limits.visit_fields = false;
  return limits;
}

// Decoding reads only validated data, but a spent traversal budget could still throw: the
// decoders below promise not to.
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

}  // namespace

// ---- client channel -------------------------------------------------------------------------

codec::encoded_message encode(const codec::envelope_header& h, const client_message& m) {
  codec::envelope_builder<cw::Envelope> b(h);
  auto env = b.envelope();
  std::visit(overloaded{
                 [&](const submit_query& x) {
                   auto o = env.initSubmitQuery();
                   o.setClientQueryId(x.client_query_id);
                   o.setPromptTokens(x.prompt_tokens);
                   o.setMaxOutputTokens(x.max_output_tokens);
                   o.setTtftSloMicros(x.ttft_slo_micros);
                   o.setAtgtSloMicros(x.atgt_slo_micros);
                   o.setModel(codec::text(x.model));
                 },
                 [&](const query_accepted& x) {
                   auto o = env.initQueryAccepted();
                   o.setClientQueryId(x.client_query_id);
                   o.setQueryId(x.query_id);
                 },
                 [&](const query_rejected& x) {
                   auto o = env.initQueryRejected();
                   o.setClientQueryId(x.client_query_id);
                   o.setReason(wire_enum<cw::RejectReason>(x.reason));
                   const std::string d = codec::bounded_detail(x.detail);
                   o.setDetail(codec::text(d));
                 },
                 [&](const client_first_token& x) {
                   auto o = env.initFirstToken();
                   o.setQueryId(x.query_id);
                   o.setAtMicros(x.at_micros);
                 },
                 [&](const token_progress& x) {
                   auto o = env.initTokenProgress();
                   o.setQueryId(x.query_id);
                   o.setGeneratedTokens(x.generated_tokens);
                 },
                 [&](const query_finished& x) {
                   auto o = env.initQueryFinished();
                   o.setQueryId(x.query_id);
                   o.setOutputTokens(x.output_tokens);
                   o.setTtftMicros(x.ttft_micros);
                   o.setAtgtMicros(x.atgt_micros);
                 },
                 [&](const query_failed& x) {
                   auto o = env.initQueryFailed();
                   o.setQueryId(x.query_id);
                   o.setReason(wire_enum<cw::FailureReason>(x.reason));
                   const std::string d = codec::bounded_detail(x.detail);
                   o.setDetail(codec::text(d));
                 },
                 [&](const wire_error& x) { put_error(env.initError(), x); },
             },
             m);
  return b.encode();
}

codec::result<client_message> decode_client(std::span<const std::byte> bytes,
                                            const codec::decode_limits& limits) {
  auto decoded = codec::decode_envelope<cw::Envelope>(bytes, copy_out(limits));
  if (!decoded) return decoded.error();
  return guarded<client_message>([&]() -> codec::result<client_message> {
    const auto env = decoded.value().root();
    switch (env.which()) {
      case cw::Envelope::SUBMIT_QUERY: {
        const auto r = env.getSubmitQuery();
        return client_message{submit_query{r.getClientQueryId(), r.getPromptTokens(),
                                           r.getMaxOutputTokens(), r.getTtftSloMicros(),
                                           r.getAtgtSloMicros(), codec::str(r.getModel())}};
      }
      case cw::Envelope::QUERY_ACCEPTED: {
        const auto r = env.getQueryAccepted();
        return client_message{query_accepted{r.getClientQueryId(), r.getQueryId()}};
      }
      case cw::Envelope::QUERY_REJECTED: {
        const auto r = env.getQueryRejected();
        query_rejected x{r.getClientQueryId(), reject_code::invalid, codec::str(r.getDetail())};
        if (!known_enum<reject_code, reject_code::draining>(r.getReason(), &x.reason))
          return unknown_enum("reject reason");
        return client_message{std::move(x)};
      }
      case cw::Envelope::FIRST_TOKEN: {
        const auto r = env.getFirstToken();
        return client_message{client_first_token{r.getQueryId(), r.getAtMicros()}};
      }
      case cw::Envelope::TOKEN_PROGRESS: {
        const auto r = env.getTokenProgress();
        return client_message{token_progress{r.getQueryId(), r.getGeneratedTokens()}};
      }
      case cw::Envelope::QUERY_FINISHED: {
        const auto r = env.getQueryFinished();
        return client_message{query_finished{r.getQueryId(), r.getOutputTokens(),
                                             r.getTtftMicros(), r.getAtgtMicros()}};
      }
      case cw::Envelope::QUERY_FAILED: {
        const auto r = env.getQueryFailed();
        query_failed x{r.getQueryId(), failure_code::internal, codec::str(r.getDetail())};
        if (!known_enum<failure_code, failure_code::unschedulable>(r.getReason(), &x.reason))
          return unknown_enum("failure reason");
        return client_message{std::move(x)};
      }
      case cw::Envelope::ERROR: {
        auto e = get_error(env.getError());
        if (!e) return e.error();
        return client_message{std::move(e).value()};
      }
    }
    return codec::decode_error{codec::decode_errc::unknown_message, "unknown client message"};
  });
}

// ---- worker channel -------------------------------------------------------------------------

codec::encoded_message encode(const codec::envelope_header& h, const worker_message& m) {
  // A heartbeat of a busy worker lists hundreds of queries: size the first segment for it.
  unsigned words = 64;
  if (const auto* hb = std::get_if<heartbeat>(&m))
    words += static_cast<unsigned>(2 * hb->running.size() + hb->waiting.size());
  codec::envelope_builder<ww::Envelope> b(h, words);
  auto env = b.envelope();
  std::visit(overloaded{
                 [&](const register_worker& x) {
                   auto o = env.initRegisterWorker();
                   o.setWorkerName(codec::text(x.worker_name));
                   o.setModel(codec::text(x.model));
                   o.setGpu(codec::text(x.gpu));
                   o.setTp(x.tp);
                   o.setKvCapacityTokens(x.kv_capacity_tokens);
                   o.setBlockSize(x.block_size);
                 },
                 [&](const registered& x) {
                   auto o = env.initRegistered();
                   o.setWorkerId(x.worker_id);
                   o.setEpoch(x.epoch);
                 },
                 [&](const assign_query& x) {
                   auto o = env.initAssignQuery();
                   o.setQueryId(x.query_id);
                   o.setPromptTokens(x.prompt_tokens);
                   o.setOutputTokensHint(x.output_tokens_hint);
                   o.setMaxOutputTokens(x.max_output_tokens);
                   o.setArrivalMicros(x.arrival_micros);
                 },
                 [&](const cancel_query& x) { env.initCancelQuery().setQueryId(x.query_id); },
                 [&](const heartbeat& x) {
                   auto o = env.initHeartbeat();
                   o.setWorkerId(x.worker_id);
                   o.setAtMicros(x.at_micros);
                   o.setKvBlocksUsed(x.kv_blocks_used);
                   o.setKvBlocksTotal(x.kv_blocks_total);
                   auto running = o.initRunning(static_cast<unsigned>(x.running.size()));
                   for (unsigned i = 0; i < x.running.size(); ++i) {
                     running[i].setQueryId(x.running[i].query_id);
                     running[i].setGeneratedTokens(x.running[i].generated_tokens);
                   }
                   o.setWaitingCount(x.waiting_count);
                   auto waiting = o.initWaiting(static_cast<unsigned>(x.waiting.size()));
                   for (unsigned i = 0; i < x.waiting.size(); ++i) waiting.set(i, x.waiting[i]);
                 },
                 [&](const worker_first_token& x) {
                   auto o = env.initFirstToken();
                   o.setQueryId(x.query_id);
                   o.setAtMicros(x.at_micros);
                 },
                 [&](const query_completed& x) {
                   auto o = env.initQueryCompleted();
                   o.setQueryId(x.query_id);
                   o.setOutputTokens(x.output_tokens);
                   o.setAtMicros(x.at_micros);
                 },
                 [&](const engine_rejected& x) {
                   auto o = env.initQueryRejected();
                   o.setQueryId(x.query_id);
                   o.setReason(wire_enum<ww::EngineRejectReason>(x.reason));
                   const std::string d = codec::bounded_detail(x.detail);
                   o.setDetail(codec::text(d));
                 },
                 [&](const drain_worker& x) { env.initDrain().setDeadlineMicros(x.deadline_micros); },
                 [&](const shutdown_worker& x) {
                   const std::string d = codec::bounded_detail(x.reason);
                   env.initShutdown().setReason(codec::text(d));
                 },
                 [&](const wire_error& x) { put_error(env.initError(), x); },
             },
             m);
  return b.encode();
}

codec::result<worker_message> decode_worker(std::span<const std::byte> bytes,
                                            const codec::decode_limits& limits) {
  auto decoded = codec::decode_envelope<ww::Envelope>(bytes, copy_out(limits));
  if (!decoded) return decoded.error();
  return guarded<worker_message>([&]() -> codec::result<worker_message> {
    const auto env = decoded.value().root();
    switch (env.which()) {
      case ww::Envelope::REGISTER_WORKER: {
        const auto r = env.getRegisterWorker();
        return worker_message{register_worker{codec::str(r.getWorkerName()), codec::str(r.getModel()),
                                              codec::str(r.getGpu()), r.getTp(),
                                              r.getKvCapacityTokens(), r.getBlockSize()}};
      }
      case ww::Envelope::REGISTERED: {
        const auto r = env.getRegistered();
        return worker_message{registered{r.getWorkerId(), r.getEpoch()}};
      }
      case ww::Envelope::ASSIGN_QUERY: {
        const auto r = env.getAssignQuery();
        return worker_message{assign_query{r.getQueryId(), r.getPromptTokens(),
                                           r.getOutputTokensHint(), r.getMaxOutputTokens(),
                                           r.getArrivalMicros()}};
      }
      case ww::Envelope::CANCEL_QUERY:
        return worker_message{cancel_query{env.getCancelQuery().getQueryId()}};
      case ww::Envelope::HEARTBEAT: {
        const auto r = env.getHeartbeat();
        heartbeat x;
        x.worker_id = r.getWorkerId();
        x.at_micros = r.getAtMicros();
        x.kv_blocks_used = r.getKvBlocksUsed();
        x.kv_blocks_total = r.getKvBlocksTotal();
        const auto running = r.getRunning();
        x.running.reserve(running.size());
        for (const auto p : running) x.running.push_back({p.getQueryId(), p.getGeneratedTokens()});
        x.waiting_count = r.getWaitingCount();
        const auto waiting = r.getWaiting();
        x.waiting.reserve(waiting.size());
        for (const auto id : waiting) x.waiting.push_back(id);
        return worker_message{std::move(x)};
      }
      case ww::Envelope::FIRST_TOKEN: {
        const auto r = env.getFirstToken();
        return worker_message{worker_first_token{r.getQueryId(), r.getAtMicros()}};
      }
      case ww::Envelope::QUERY_COMPLETED: {
        const auto r = env.getQueryCompleted();
        return worker_message{query_completed{r.getQueryId(), r.getOutputTokens(), r.getAtMicros()}};
      }
      case ww::Envelope::QUERY_REJECTED: {
        const auto r = env.getQueryRejected();
        engine_rejected x{r.getQueryId(), engine_reject_code::invalid, codec::str(r.getDetail())};
        if (!known_enum<engine_reject_code, engine_reject_code::invalid>(r.getReason(), &x.reason))
          return unknown_enum("engine reject reason");
        return worker_message{std::move(x)};
      }
      case ww::Envelope::DRAIN:
        return worker_message{drain_worker{env.getDrain().getDeadlineMicros()}};
      case ww::Envelope::SHUTDOWN:
        return worker_message{shutdown_worker{codec::str(env.getShutdown().getReason())}};
      case ww::Envelope::ERROR: {
        auto e = get_error(env.getError());
        if (!e) return e.error();
        return worker_message{std::move(e).value()};
      }
    }
    return codec::decode_error{codec::decode_errc::unknown_message, "unknown worker message"};
  });
}

codec::encoded_message encode_error(channel ch, const codec::envelope_header& h,
                                    codec::decode_errc code, std::string_view detail) {
  if (ch == channel::client) return codec::encode_error<cw::Envelope>(h, code, detail);
  return codec::encode_error<ww::Envelope>(h, code, detail);
}

const char* message_name(const client_message& m) {
  static constexpr const char* names[] = {"submitQuery", "queryAccepted", "queryRejected",
                                          "firstToken",  "tokenProgress", "queryFinished",
                                          "queryFailed", "error"};
  static_assert(std::size(names) == std::variant_size_v<client_message>);
  return names[m.index()];
}

const char* message_name(const worker_message& m) {
  static constexpr const char* names[] = {"registerWorker", "registered",     "assignQuery",
                                          "cancelQuery",    "heartbeat",      "firstToken",
                                          "queryCompleted", "queryRejected",  "drain",
                                          "shutdown",       "error"};
  static_assert(std::size(names) == std::variant_size_v<worker_message>);
  return names[m.index()];
}

}  // namespace aladdin::node
