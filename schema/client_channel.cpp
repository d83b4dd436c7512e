#include "schema/client_channel.hpp"

#include <algorithm>
#include <iterator>

#include "client.capnp.h"

namespace aladdin::client_channel {

namespace cw = wire::client;
using namespace channel_common::detail;

namespace {

// Indexed by the variant's alternatives.
constexpr const char* names[] = {"submitQuery", "queryAccepted", "queryRejected", "firstToken",   "queryFinished",
                                 "queryFailed", "error",         "statusRequest", "statusReply"};
static_assert(std::size(names) == std::variant_size_v<message>);

constexpr direction directions[] = {
    direction::to_intake,  // submitQuery
    direction::to_client,  // queryAccepted
    direction::to_client,  // queryRejected
    direction::to_client,  // firstToken
    direction::to_client,  // queryFinished
    direction::to_client,  // queryFailed
    direction::both,       // error
    direction::to_intake,  // statusRequest
    direction::to_client,  // statusReply
};
static_assert(std::size(directions) == std::variant_size_v<message>);

}  // namespace

const char* to_string(reject_code c) {
  switch (c) {
    case reject_code::no_capacity: return "no_capacity";
    case reject_code::kv: return "kv";
    case reject_code::ttft: return "ttft";
    case reject_code::atgt: return "atgt";
    case reject_code::invalid: return "invalid";
    case reject_code::overloaded: return "overloaded";
    case reject_code::draining: return "draining";
    case reject_code::over_context: return "over_context";
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

direction direction_of(const message& m) { return directions[m.index()]; }

bool may_receive(party receiver, const message& m) {
  switch (direction_of(m)) {
    case direction::both: return true;
    case direction::to_client: return receiver == party::client;
    case direction::to_intake: return receiver == party::intake;
  }
  return false;
}

const char* message_name(const message& m) { return names[m.index()]; }

codec::encoded_message encode(const codec::envelope_header& h, const message& m) {
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
                   o.setModel(codec::text(codec::bounded_detail(x.model)));
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
                   o.setDetail(codec::text(codec::bounded_detail(x.detail)));
                 },
                 [&](const first_token& x) {
                   auto o = env.initFirstToken();
                   o.setQueryId(x.query_id);
                   o.setAtMicros(x.at_micros);
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
                   o.setDetail(codec::text(codec::bounded_detail(x.detail)));
                 },
                 [&](const wire_error& x) { put_error(env.initError(), x); },
                 [&](const status_request& x) { env.initStatusRequest().setRequestId(x.request_id); },
                 [&](const status_reply& x) {
                   auto o = env.initStatusReply();
                   o.setRequestId(x.request_id);
                   o.setNodeName(codec::text(codec::bounded_detail(x.node_name)));
                   o.setShape(codec::text(codec::bounded_detail(x.shape)));
                   o.setDraining(x.draining);
                   o.setWaitingQueries(x.waiting_queries);
                   o.setPlanEpoch(x.plan_epoch);
                   o.setPlanTargetWorkers(x.plan_target_workers);
                   o.setFleetLaunching(x.fleet_launching);
                   o.setFleetActive(x.fleet_active);
                   o.setFleetDraining(x.fleet_draining);
                   o.setAccepted(x.accepted);
                   o.setRejected(x.rejected);
                   o.setJudged(x.judged);
                   o.setSloMet(x.slo_met);
                   o.setRecentJudged(x.recent_judged);
                   o.setRecentMet(x.recent_met);
                   const auto n = std::min(x.workers.size(), max_status_workers);
                   auto ws = o.initWorkers(static_cast<unsigned>(n));
                   for (std::size_t i = 0; i < n; ++i) {
                     const worker_status& w = x.workers[i];
                     auto wo = ws[static_cast<unsigned>(i)];
                     wo.setName(codec::text(codec::bounded_detail(w.name)));
                     wo.setShape(codec::text(codec::bounded_detail(w.shape)));
                     wo.setDraining(w.draining);
                     wo.setRunning(w.running);
                     wo.setQueued(w.queued);
                     wo.setKvUsedTokens(w.kv_used_tokens);
                     wo.setKvCapacityTokens(w.kv_capacity_tokens);
                   }
                 },
             },
             m);
  return b.encode();
}

namespace {

codec::result<message> read_member(cw::Envelope::Reader env) {
  switch (env.which()) {
    case cw::Envelope::SUBMIT_QUERY: {
      const auto r = env.getSubmitQuery();
      return message{submit_query{r.getClientQueryId(), r.getPromptTokens(), r.getMaxOutputTokens(),
                                  r.getTtftSloMicros(), r.getAtgtSloMicros(),
                                  codec::str(r.getModel())}};
    }
    case cw::Envelope::QUERY_ACCEPTED: {
      const auto r = env.getQueryAccepted();
      return message{query_accepted{r.getClientQueryId(), r.getQueryId()}};
    }
    case cw::Envelope::QUERY_REJECTED: {
      const auto r = env.getQueryRejected();
      query_rejected x{r.getClientQueryId(), reject_code::invalid, codec::str(r.getDetail())};
      if (!known_enum<reject_code, reject_code::over_context>(r.getReason(), &x.reason))
        return unknown_enum("reject reason");
      return message{std::move(x)};
    }
    case cw::Envelope::FIRST_TOKEN: {
      const auto r = env.getFirstToken();
      return message{first_token{r.getQueryId(), r.getAtMicros()}};
    }
    case cw::Envelope::TOKEN_PROGRESS:
      return codec::decode_error{codec::decode_errc::unknown_message,
                                 "tokenProgress is reserved: no peer of this version sends it"};
    case cw::Envelope::QUERY_FINISHED: {
      const auto r = env.getQueryFinished();
      return message{query_finished{r.getQueryId(), r.getOutputTokens(), r.getTtftMicros(),
                                    r.getAtgtMicros()}};
    }
    case cw::Envelope::QUERY_FAILED: {
      const auto r = env.getQueryFailed();
      query_failed x{r.getQueryId(), failure_code::internal, codec::str(r.getDetail())};
      if (!known_enum<failure_code, failure_code::unschedulable>(r.getReason(), &x.reason))
        return unknown_enum("failure reason");
      return message{std::move(x)};
    }
    case cw::Envelope::ERROR: {
      auto e = get_error(env.getError());
      if (!e) return e.error();
      return message{std::move(e).value()};
    }
    case cw::Envelope::STATUS_REQUEST: return message{status_request{env.getStatusRequest().getRequestId()}};
    case cw::Envelope::STATUS_REPLY: {
      const auto r = env.getStatusReply();
      status_reply x;
      x.request_id = r.getRequestId();
      x.node_name = codec::str(r.getNodeName());
      x.shape = codec::str(r.getShape());
      x.draining = r.getDraining();
      x.waiting_queries = r.getWaitingQueries();
      x.plan_epoch = r.getPlanEpoch();
      x.plan_target_workers = r.getPlanTargetWorkers();
      x.fleet_launching = r.getFleetLaunching();
      x.fleet_active = r.getFleetActive();
      x.fleet_draining = r.getFleetDraining();
      x.accepted = r.getAccepted();
      x.rejected = r.getRejected();
      x.judged = r.getJudged();
      x.slo_met = r.getSloMet();
      x.recent_judged = r.getRecentJudged();
      x.recent_met = r.getRecentMet();
      const auto ws = r.getWorkers();
      if (ws.size() > max_status_workers) return codec::decode_error{codec::decode_errc::malformed, "statusReply lists too many workers"};
      for (const auto w : ws)
        x.workers.push_back({codec::str(w.getName()), codec::str(w.getShape()), w.getDraining(), w.getRunning(),
                             w.getQueued(), w.getKvUsedTokens(), w.getKvCapacityTokens()});
      return message{std::move(x)};
    }
  }
  // decode_envelope refuses a member it does not know before we get here.
  return codec::decode_error{codec::decode_errc::unknown_message, "unknown client message"};
}

}  // namespace

codec::result<received> decode(std::span<const std::byte> bytes, party receiver,
                               const codec::decode_limits& limits) {
  return channel_common::detail::decode_channel<cw::Envelope, received>(
      bytes, limits, read_member, [&](const message& m) {
        if (may_receive(receiver, m)) return std::string();
        return std::string(message_name(m)) + " is not a message for " +
               (receiver == party::client ? "a client" : "the intake");
      });
}

codec::encoded_message encode_error(const codec::envelope_header& h, codec::decode_errc code,
                                    std::string_view detail) {
  return codec::encode_error<cw::Envelope>(h, code, detail);
}

}  // namespace aladdin::client_channel
