#pragma once
// The load generator: replays a trace against a control node's client endpoint in real time
// (optionally sped up by a time scale) and measures, from the client's side, what the node
// delivered: attainment of both SLOs, TTFT and ATGT percentiles, refusals and failures by
// reason, and queries that never got an answer.
//
// One DEALER socket with a fixed routing id, so that a node that restarts can still reach this
// client with the outcome of queries it accepted before (the journal keeps the routing id).
// maxOutputTokens is the trace's output length: an emulated worker stops there, while the
// node's placement never sees it as a prediction.
//
// Times: the trace's arrivals and the SLOs are model time; with time scale X a query arriving
// at t is sent at t / X wall seconds, and measured latencies are multiplied by X.

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "trace/trace.hpp"

namespace aladdin::node {

struct loadgen_options {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string client_id = "loadgen";
  std::string model = "llama2-70b";
  double time_scale = 1;
  double slo_ttft_s = 2.0;     // model seconds, sent with every query and judged against
  double slo_atgt_s = 0.1;
  double drain_timeout_s = 30; // wall: after the last send, how long to wait for outcomes
  // Wall: queries out and nothing at all back for this long means no node answers at the
  // endpoint (ZeroMQ connects lazily and never says so): the run stops, no_answer set.
  double answer_timeout_s = 10;
};

struct loadgen_report {
  std::size_t queries = 0;     // in the trace
  std::size_t sent = 0;
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  std::size_t finished = 0;
  std::size_t failed = 0;
  std::size_t errors = 0;      // error envelopes from the node
  std::size_t lost = 0;        // accepted, with no final outcome by the end
  std::size_t unanswered = 0;  // sent, with no reply at all
  bool no_answer = false;      // stopped: nothing came back within answer_timeout_s
  std::size_t met_slo = 0;     // finished within both SLOs
  double attainment = 0;       // met_slo / sent
  double ttft_p50_s = 0, ttft_p99_s = 0;  // model seconds
  double atgt_p50_s = 0, atgt_p99_s = 0;
  double wall_s = 0;
  double throughput_per_s = 0;  // finished per wall second
  std::map<std::string, std::size_t> rejected_by, failed_by, errors_by;

  std::string text() const;
  std::string json() const;
};

// Replays `arrivals` (sorted) and waits for the outcomes, unless the node stays silent for the
// answer timeout while queries are out (no_answer: the report says what was sent). `stop`, when set, ends the replay
// early (what was sent is still waited for, within the drain timeout). Throws
// std::runtime_error when the endpoint cannot be used.
// What to tell an operator when no node answered (report.no_answer), in one line.
std::string no_answer_advice(const loadgen_options& options, const loadgen_report& report);
loadgen_report run_loadgen(const loadgen_options& options, const trace& arrivals,
                           const std::atomic<bool>* stop = nullptr);

}  // namespace aladdin::node
