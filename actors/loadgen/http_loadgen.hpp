#pragma once
// `aladdin loadgen --http URL`: replays a trace against any OpenAI-compatible endpoint (an
// aladdin node's front door, or a bare vLLM) and reports what `vllm bench serve --goodput`
// reports, so that operators compare aladdin with their current setup with one tool.
//
// Each trace record becomes a streaming POST /v1/completions with the prompt as
// `input_tokens` token ids (so the prompt's length is exact on every engine), max_tokens = the
// record's output length, "ignore_eos": true (vLLM's switch to generate exactly that many, as
// vllm bench does for synthetic prompts), and stream_options.include_usage. It is sent at the
// record's arrival / time_scale wall seconds (actors/http/http_client, one keep-alive pool).
//
// Per request, from the client's side (wall clock, multiplied by time_scale into model time):
//   TTFT = first chunk with text − send; E2E = end of the stream − send;
//   TPOT = (E2E − TTFT) / (output tokens − 1), for outputs of more than one token;
//   ITL  = the gaps between successive chunks with text;
//   output tokens = usage.completion_tokens when the stream says, else chunks with text.
// A request succeeds when its stream ends with [DONE] and status 200; anything else (an HTTP
// error, an error event, a broken stream) is a failure, counted by reason. Goodput counts the
// successes that meet every SLO given (TTFT, TPOT, E2E; 0 = not judged), per second of the run,
// as `vllm bench serve --goodput ttft:MS tpot:MS e2el:MS` does. Mean, median and p99 are over
// the successful requests (ITL over all their gaps); quantiles are nearest-rank
// (util/quantile.hpp).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/http/http_client.hpp"
#include "trace/trace.hpp"

namespace aladdin::node {

struct http_loadgen_options {
  http::http_url url;
  std::string model = "llama2-70b";
  double time_scale = 1;
  double slo_ttft_s = 0;  // model seconds; 0: not judged
  double slo_tpot_s = 0;
  double slo_e2e_s = 0;
  double drain_timeout_s = 60;  // wall: after the last send, how long to wait for the streams
};

// What one request saw; times in model seconds from its send.
struct request_record {
  bool ok = false;
  std::string failure;  // why not, when !ok
  double ttft_s = 0;
  double e2e_s = 0;
  std::uint32_t output_tokens = 0;
  std::uint32_t prompt_tokens = 0;  // usage.prompt_tokens, or the trace's
  std::vector<double> itl_s;
};

struct latency_summary {
  double mean = 0, median = 0, p99 = 0;  // seconds
};

struct http_loadgen_report {
  std::size_t queries = 0;
  std::size_t sent = 0;
  std::size_t completed = 0;
  std::size_t failed = 0;
  std::size_t good = 0;  // completed within every SLO given
  double duration_s = 0;  // model seconds from the first send to the last outcome
  double request_throughput = 0;  // completed per model second
  double request_goodput = 0;     // good per model second
  double output_token_throughput = 0;
  double total_token_throughput = 0;  // prompt + output tokens of completed requests
  std::uint64_t prompt_tokens = 0, output_tokens = 0;
  latency_summary ttft, tpot, itl, e2e;
  std::map<std::string, std::size_t> failed_by;

  std::string text() const;
  std::string json() const;
};

// The report of a finished run's records (deterministic: the tests feed it by hand).
http_loadgen_report summarize(const std::vector<request_record>& records, std::size_t queries,
                              double duration_s, const http_loadgen_options& options);

// Replays `arrivals` (sorted) and waits for every stream, within the drain timeout (a stream
// still open then is a failure, "unfinished"). `stop`, when set, ends the replay early.
http_loadgen_report run_http_loadgen(const http_loadgen_options& options, const trace& arrivals,
                                     const std::atomic<bool>* stop = nullptr);

}  // namespace aladdin::node
