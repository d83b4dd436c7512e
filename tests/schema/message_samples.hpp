#pragma once
// One filled-in sample of every message of every channel, with distinctive field values, for
// the round-trip tests and as seeds of the fuzz loop: built field by field through the generated
// builders (what the schema says), and the same values as the channel modules' plain structs
// (what the channel codecs must decode them to).

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "client.capnp.h"
#include "schema/client_channel.hpp"
#include "schema/codec.hpp"
#include "schema/worker_channel.hpp"
#include "worker.capnp.h"

namespace aladdin::test {

namespace client_wire = aladdin::wire::client;
namespace worker_wire = aladdin::wire::worker;

inline codec::envelope_header sample_header(std::uint64_t sequence = 42) {
  return {codec::protocol_version, "intake-1", 9, sequence};
}

template <class Envelope>
struct sample {
  std::string name;
  std::function<void(typename Envelope::Builder)> fill;
};

inline std::vector<sample<client_wire::Envelope>> client_samples() {
  using B = client_wire::Envelope::Builder;
  return {
      {"submitQuery",
       [](B e) {
         auto m = e.initSubmitQuery();
         m.setClientQueryId(77);
         m.setPromptTokens(1234);
         m.setMaxOutputTokens(0);
         m.setTtftSloMicros(2'000'000);
         m.setAtgtSloMicros(100'000);
         m.setModel("llama2-70b");
       }},
      {"queryAccepted",
       [](B e) {
         auto m = e.initQueryAccepted();
         m.setClientQueryId(77);
         m.setQueryId(5001);
       }},
      {"queryRejected",
       [](B e) {
         auto m = e.initQueryRejected();
         m.setClientQueryId(78);
         m.setReason(client_wire::RejectReason::KV);
         m.setDetail("no worker has 40000 free KV tokens");
       }},
      {"firstToken",
       [](B e) {
         auto m = e.initFirstToken();
         m.setQueryId(5001);
         m.setAtMicros(1'700'000'000'000'000);
       }},
      {"tokenProgress",
       [](B e) {
         auto m = e.initTokenProgress();
         m.setQueryId(5001);
         m.setGeneratedTokens(64);
       }},
      {"queryFinished",
       [](B e) {
         auto m = e.initQueryFinished();
         m.setQueryId(5001);
         m.setOutputTokens(321);
         m.setTtftMicros(180'000);
         m.setAtgtMicros(42'000);
       }},
      {"queryFailed",
       [](B e) {
         auto m = e.initQueryFailed();
         m.setQueryId(5002);
         m.setReason(client_wire::FailureReason::WORKER_LOST);
         m.setDetail("worker 3 lost");
       }},
      {"error",
       [](B e) {
         auto m = e.initError();
         m.setCode(wire::ErrorCode::OVERSIZED);
         m.setDetail("70000 bytes, limit 65536");
       }},
      {"statusRequest", [](B e) { e.initStatusRequest().setRequestId(7); }},
      {"statusReply",
       [](B e) {
         auto m = e.initStatusReply();
         m.setRequestId(7);
         m.setNodeName("aladdin-node");
         m.setShape("llama2-70b/a100-80gb/tp4");
         m.setDraining(true);
         m.setWaitingQueries(3);
         m.setPlanEpoch(4);
         m.setPlanTargetWorkers(2);
         m.setFleetLaunching(1);
         m.setFleetActive(2);
         m.setAccepted(100);
         m.setRejected(5);
         m.setJudged(90);
         m.setSloMet(88);
         m.setRecentJudged(90);
         m.setRecentMet(88);
         auto ws = m.initWorkers(2);
         ws[0].setName("local-1");
         ws[0].setShape("llama2-70b/a100-80gb/tp4");
         ws[0].setRunning(5);
         ws[0].setQueued(1);
         ws[0].setKvUsedTokens(12000);
         ws[0].setKvCapacityTokens(100000);
         ws[1].setName("local-2");
         ws[1].setShape("llama2-70b/a100-80gb/tp4");
         ws[1].setDraining(true);
         ws[1].setKvCapacityTokens(100000);
       }},
  };
}

inline std::vector<sample<worker_wire::Envelope>> worker_samples() {
  using B = worker_wire::Envelope::Builder;
  return {
      {"registerWorker",
       [](B e) {
         auto m = e.initRegisterWorker();
         m.setWorkerName("gpu-node-7");
         m.setModel("llama2-70b");
         m.setGpu("a100-80gb");
         m.setTp(4);
         m.setKvCapacityTokens(400'000);
         m.setBlockSize(16);
         m.setMaxBatchedTokens(8192);
       }},
      {"registered",
       [](B e) {
         auto m = e.initRegistered();
         m.setWorkerId(12);
         m.setEpoch(9);
       }},
      {"assignQuery",
       [](B e) {
         auto m = e.initAssignQuery();
         m.setQueryId(5001);
         m.setPromptTokens(1234);
         m.setOutputTokensHint(250);
         m.setMaxOutputTokens(4096);
         m.setArrivalMicros(1'000'000);
         auto r = m.initRequest();
         r.setApi(worker_wire::EngineRequest::Api::CHAT_COMPLETIONS);
         r.setBody(R"({"model":"llama2-70b","messages":[{"role":"user","content":"hi"}]})");
       }},
      {"cancelQuery", [](B e) { e.initCancelQuery().setQueryId(5003); }},
      {"heartbeat",
       [](B e) {
         auto m = e.initHeartbeat();
         m.setWorkerId(12);
         m.setAtMicros(2'000'000);
         m.setKvBlocksUsed(900);
         m.setKvBlocksTotal(25'000);
         auto running = m.initRunning(3);
         for (unsigned i = 0; i < 3; ++i) {
           running[i].setQueryId(6000 + i);
           running[i].setGeneratedTokens(10 * (i + 1));
         }
         m.setWaitingCount(2);
         auto waiting = m.initWaiting(2);
         waiting.set(0, 7000);
         waiting.set(1, 7001);
       }},
      {"firstToken",
       [](B e) {
         auto m = e.initFirstToken();
         m.setQueryId(5001);
         m.setAtMicros(1'180'000);
       }},
      {"queryCompleted",
       [](B e) {
         auto m = e.initQueryCompleted();
         m.setQueryId(5001);
         m.setOutputTokens(321);
         m.setAtMicros(9'000'000);
         m.setFinishReason(worker_wire::FinishReason::LENGTH);
         m.setPromptTokens(1234);
       }},
      {"queryRejected",
       [](B e) {
         auto m = e.initQueryRejected();
         m.setQueryId(5004);
         m.setReason(worker_wire::EngineRejectReason::TOO_LARGE);
         m.setDetail("prompt 200000 > max_model_len");
       }},
      {"drain", [](B e) { e.initDrain().setDeadlineMicros(60'000'000); }},
      {"shutdown", [](B e) { e.initShutdown().setReason("plan epoch 10 releases this worker"); }},
      {"error",
       [](B e) {
         auto m = e.initError();
         m.setCode(wire::ErrorCode::VERSION_MISMATCH);
         m.setDetail("protocol version 2, this build speaks 1");
       }},
      {"queryText",
       [](B e) {
         auto m = e.initQueryText();
         m.setQueryId(5001);
         m.setSeq(3);
         m.setText(" the quick");
         m.setTokens(2);
       }},
  };
}

// The samples above as the channel codecs' plain structs, by the same names. tokenProgress is
// reserved (client_channel.hpp) and has none.
inline std::map<std::string, client_channel::message> client_plain_samples() {
  namespace cc = client_channel;
  return {
      {"submitQuery", cc::submit_query{77, 1234, 0, 2'000'000, 100'000, "llama2-70b"}},
      {"queryAccepted", cc::query_accepted{77, 5001}},
      {"queryRejected",
       cc::query_rejected{78, cc::reject_code::kv, "no worker has 40000 free KV tokens"}},
      {"firstToken", cc::first_token{5001, 1'700'000'000'000'000}},
      {"queryFinished", cc::query_finished{5001, 321, 180'000, 42'000}},
      {"queryFailed", cc::query_failed{5002, cc::failure_code::worker_lost, "worker 3 lost"}},
      {"error", cc::wire_error{cc::error_code::oversized, "70000 bytes, limit 65536"}},
      {"statusRequest", cc::status_request{7}},
      {"statusReply", cc::status_reply{7, "aladdin-node", "llama2-70b/a100-80gb/tp4", true, 3, 4, 2, 1, 2, 0, 100, 5, 90, 88, 90, 88,
                                       {{"local-1", "llama2-70b/a100-80gb/tp4", false, 5, 1, 12000, 100000},
                                        {"local-2", "llama2-70b/a100-80gb/tp4", true, 0, 0, 0, 100000}}}},
  };
}

inline std::map<std::string, worker_channel::message> worker_plain_samples() {
  namespace wc = worker_channel;
  return {
      {"registerWorker", wc::register_worker{"gpu-node-7", "llama2-70b", "a100-80gb", 4, 400'000, 16, 1.0, 8192}},
      {"registered", wc::registered{12, 9}},
      {"assignQuery",
       wc::assign_query{5001, 1234, 250, 4096, 1'000'000,
                        {wc::engine_api::chat_completions,
                         R"({"model":"llama2-70b","messages":[{"role":"user","content":"hi"}]})"}}},
      {"cancelQuery", wc::cancel_query{5003}},
      {"heartbeat",
       wc::heartbeat{12, 2'000'000, 900, 25'000, {{6000, 10}, {6001, 20}, {6002, 30}}, 2, {7000, 7001}}},
      {"firstToken", wc::first_token{5001, 1'180'000}},
      {"queryCompleted", wc::query_completed{5001, 321, 9'000'000, wc::finish_reason::length, 1234}},
      {"queryRejected",
       wc::engine_rejected{5004, wc::engine_reject_code::too_large, "prompt 200000 > max_model_len"}},
      {"drain", wc::drain_worker{60'000'000}},
      {"shutdown", wc::shutdown_worker{"plan epoch 10 releases this worker"}},
      {"error",
       wc::wire_error{wc::error_code::version_mismatch, "protocol version 2, this build speaks 1"}},
      {"queryText", wc::query_text{5001, 3, " the quick", 2}},
  };
}

template <class Envelope>
codec::encoded_message encode_sample(const sample<Envelope>& s, std::uint64_t sequence = 42) {
  codec::envelope_builder<Envelope> b(sample_header(sequence));
  s.fill(b.envelope());
  return b.encode();
}

}  // namespace aladdin::test
