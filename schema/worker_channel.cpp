#include "schema/worker_channel.hpp"

#include <algorithm>
#include <iterator>

#include "worker.capnp.h"

namespace aladdin::worker_channel {

namespace ww = wire::worker;
using namespace channel_common::detail;

namespace {

// Indexed by the variant's alternatives, which follow the schema's union order.
constexpr const char* names[] = {"registerWorker", "registered",     "assignQuery",
                                 "cancelQuery",    "heartbeat",      "firstToken",
                                 "queryCompleted", "queryRejected",  "drain",
                                 "shutdown",       "error",          "queryText"};
static_assert(std::size(names) == std::variant_size_v<message>);

constexpr direction directions[] = {
    direction::to_control_plane,  // registerWorker
    direction::to_worker,         // registered
    direction::to_worker,         // assignQuery
    direction::to_worker,         // cancelQuery
    direction::to_control_plane,  // heartbeat
    direction::to_control_plane,  // firstToken
    direction::to_control_plane,  // queryCompleted
    direction::to_control_plane,  // queryRejected
    direction::to_worker,         // drain
    direction::to_worker,         // shutdown
    direction::both,              // error
    direction::to_control_plane,  // queryText
};
static_assert(std::size(directions) == std::variant_size_v<message>);

}  // namespace

const char* to_string(engine_reject_code c) {
  switch (c) {
    case engine_reject_code::too_large: return "too_large";
    case engine_reject_code::invalid: return "invalid";
    case engine_reject_code::stream_broken: return "stream_broken";
  }
  return "unknown";
}

const char* to_string(finish_reason r) {
  switch (r) {
    case finish_reason::unknown: return "unknown";
    case finish_reason::stop: return "stop";
    case finish_reason::length: return "length";
  }
  return "unknown";
}

const char* to_string(engine_api a) {
  switch (a) {
    case engine_api::none: return "none";
    case engine_api::completions: return "completions";
    case engine_api::chat_completions: return "chatCompletions";
  }
  return "unknown";
}

std::vector<std::string> split_text(std::string_view text, std::size_t max_bytes) {
  if (max_bytes < 4) max_bytes = 4;  // room for the longest UTF-8 character
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t cut = std::min(max_bytes, text.size());
    if (cut < text.size()) {
      // Back off over continuation bytes (10xxxxxx) to the start of the character cut through.
      std::size_t c = cut;
      while (c > 0 && cut - c < 4 && (static_cast<unsigned char>(text[c]) & 0xC0) == 0x80) --c;
      if (c > 0 && (static_cast<unsigned char>(text[c]) & 0xC0) != 0x80) cut = c;
    }
    out.emplace_back(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  return out;
}

direction direction_of(const message& m) { return directions[m.index()]; }

bool may_receive(party receiver, const message& m) {
  switch (direction_of(m)) {
    case direction::both: return true;
    case direction::to_worker: return receiver == party::worker;
    case direction::to_control_plane: return receiver == party::control_plane;
  }
  return false;
}

const char* message_name(const message& m) { return names[m.index()]; }

codec::encoded_message encode(const codec::envelope_header& h, const message& m) {
  // A heartbeat of a busy worker lists hundreds of queries: size the first segment for it.
  unsigned words = 64;
  if (const auto* a = std::get_if<assign_query>(&m))
    words += static_cast<unsigned>(a->request.body.size() / 8 + 2);
  if (const auto* t = std::get_if<query_text>(&m))
    words += static_cast<unsigned>(std::min(t->text.size(), max_text_chunk_bytes) / 8 + 2);
  if (const auto* hb = std::get_if<heartbeat>(&m))
    words += static_cast<unsigned>(2 * hb->running.size() + hb->waiting.size());
  codec::envelope_builder<ww::Envelope> b(h, words);
  auto env = b.envelope();
  std::visit(overloaded{
                 [&](const register_worker& x) {
                   auto o = env.initRegisterWorker();
                   o.setWorkerName(codec::text(codec::bounded_detail(x.worker_name)));
                   o.setModel(codec::text(codec::bounded_detail(x.model)));
                   o.setGpu(codec::text(codec::bounded_detail(x.gpu)));
                   o.setTp(x.tp);
                   o.setKvCapacityTokens(x.kv_capacity_tokens);
                   o.setBlockSize(x.block_size);
                   o.setTimeScale(x.time_scale);
                   o.setMaxBatchedTokens(x.max_batched_tokens);
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
                   if (x.request.api != engine_api::none) {
                     auto r = o.initRequest();
                     r.setApi(wire_enum<ww::EngineRequest::Api>(x.request.api));
                     r.setBody(codec::text(x.request.body));  // never cut: the sender keeps it small
                   }
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
                 [&](const first_token& x) {
                   auto o = env.initFirstToken();
                   o.setQueryId(x.query_id);
                   o.setAtMicros(x.at_micros);
                 },
                 [&](const query_completed& x) {
                   auto o = env.initQueryCompleted();
                   o.setQueryId(x.query_id);
                   o.setOutputTokens(x.output_tokens);
                   o.setAtMicros(x.at_micros);
                   o.setFinishReason(wire_enum<ww::FinishReason>(x.finish));
                   o.setPromptTokens(x.prompt_tokens);
                 },
                 [&](const query_text& x) {
                   auto o = env.initQueryText();
                   o.setQueryId(x.query_id);
                   o.setSeq(x.seq);
                   if (x.text.size() <= max_text_chunk_bytes) {
                     o.setText(codec::text(x.text));
                   } else {
                     o.setText(codec::text(split_text(x.text).front()));
                   }
                   o.setTokens(x.tokens);
                 },
                 [&](const engine_rejected& x) {
                   auto o = env.initQueryRejected();
                   o.setQueryId(x.query_id);
                   o.setReason(wire_enum<ww::EngineRejectReason>(x.reason));
                   o.setDetail(codec::text(codec::bounded_detail(x.detail)));
                 },
                 [&](const drain_worker& x) { env.initDrain().setDeadlineMicros(x.deadline_micros); },
                 [&](const shutdown_worker& x) {
                   env.initShutdown().setReason(codec::text(codec::bounded_detail(x.reason)));
                 },
                 [&](const wire_error& x) { put_error(env.initError(), x); },
             },
             m);
  return b.encode();
}

namespace {

codec::result<message> read_member(ww::Envelope::Reader env) {
  switch (env.which()) {
    case ww::Envelope::REGISTER_WORKER: {
      const auto r = env.getRegisterWorker();
      return message{register_worker{codec::str(r.getWorkerName()), codec::str(r.getModel()),
                                     codec::str(r.getGpu()), r.getTp(), r.getKvCapacityTokens(),
                                     r.getBlockSize(), r.getTimeScale(),
                                     r.getMaxBatchedTokens()}};
    }
    case ww::Envelope::REGISTERED: {
      const auto r = env.getRegistered();
      return message{registered{r.getWorkerId(), r.getEpoch()}};
    }
    case ww::Envelope::ASSIGN_QUERY: {
      const auto r = env.getAssignQuery();
      assign_query x{r.getQueryId(), r.getPromptTokens(), r.getOutputTokensHint(),
                     r.getMaxOutputTokens(), r.getArrivalMicros(), {}};
      if (r.hasRequest()) {
        const auto q = r.getRequest();
        if (!known_enum<engine_api, engine_api::chat_completions>(q.getApi(), &x.request.api))
          return unknown_enum("engine request api");
        x.request.body = codec::str(q.getBody());
      }
      if (x.request.api == engine_api::none && !x.request.body.empty())
        return codec::decode_error{codec::decode_errc::malformed,
                                   "assignQuery carries a request body with api none"};
      if (x.request.api != engine_api::none && x.request.body.empty())
        return codec::decode_error{codec::decode_errc::malformed,
                                   "assignQuery carries a request of api " +
                                       std::string(to_string(x.request.api)) + " with an empty body"};
      return message{std::move(x)};
    }
    case ww::Envelope::CANCEL_QUERY:
      return message{cancel_query{env.getCancelQuery().getQueryId()}};
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
      return message{std::move(x)};
    }
    case ww::Envelope::FIRST_TOKEN: {
      const auto r = env.getFirstToken();
      return message{first_token{r.getQueryId(), r.getAtMicros()}};
    }
    case ww::Envelope::QUERY_COMPLETED: {
      const auto r = env.getQueryCompleted();
      query_completed x{r.getQueryId(), r.getOutputTokens(), r.getAtMicros(), finish_reason::unknown,
                        r.getPromptTokens()};
      if (!known_enum<finish_reason, finish_reason::length>(r.getFinishReason(), &x.finish))
        return unknown_enum("finish reason");
      return message{x};
    }
    case ww::Envelope::QUERY_TEXT: {
      const auto r = env.getQueryText();
      return message{query_text{r.getQueryId(), r.getSeq(), codec::str(r.getText()), r.getTokens()}};
    }
    case ww::Envelope::QUERY_REJECTED: {
      const auto r = env.getQueryRejected();
      engine_rejected x{r.getQueryId(), engine_reject_code::invalid, codec::str(r.getDetail())};
      if (!known_enum<engine_reject_code, engine_reject_code::stream_broken>(r.getReason(), &x.reason))
        return unknown_enum("engine reject reason");
      return message{std::move(x)};
    }
    case ww::Envelope::DRAIN:
      return message{drain_worker{env.getDrain().getDeadlineMicros()}};
    case ww::Envelope::SHUTDOWN:
      return message{shutdown_worker{codec::str(env.getShutdown().getReason())}};
    case ww::Envelope::ERROR: {
      auto e = get_error(env.getError());
      if (!e) return e.error();
      return message{std::move(e).value()};
    }
  }
  // decode_envelope refuses a member it does not know before we get here.
  return codec::decode_error{codec::decode_errc::unknown_message, "unknown worker message"};
}

}  // namespace

codec::result<received> decode(std::span<const std::byte> bytes, party receiver,
                               const codec::decode_limits& limits) {
  return channel_common::detail::decode_channel<ww::Envelope, received>(
      bytes, limits, read_member, [&](const message& m) {
        if (may_receive(receiver, m)) return std::string();
        return std::string(message_name(m)) + " is not a message for " +
               (receiver == party::worker ? "a worker" : "a control plane");
      });
}

codec::encoded_message encode_error(const codec::envelope_header& h, codec::decode_errc code,
                                    std::string_view detail) {
  return codec::encode_error<ww::Envelope>(h, code, detail);
}

}  // namespace aladdin::worker_channel
