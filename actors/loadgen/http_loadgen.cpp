#include "actors/loadgen/http_loadgen.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/openai.hpp"
#include "util/json.hpp"
#include "util/quantile.hpp"

namespace aladdin::node {

namespace {

using steady = std::chrono::steady_clock;

latency_summary summary_of(std::vector<double> v) {
  latency_summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  s.median = sorted_quantile(v, 0.5);
  s.p99 = sorted_quantile(v, 0.99);
  return s;
}

double tpot_of(const request_record& r) {
  return r.output_tokens > 1 ? (r.e2e_s - r.ttft_s) / (r.output_tokens - 1) : 0;
}

bool meets(const request_record& r, const http_loadgen_options& o) {
  if (o.slo_ttft_s > 0 && r.ttft_s > o.slo_ttft_s) return false;
  if (o.slo_tpot_s > 0 && r.output_tokens > 1 && tpot_of(r) > o.slo_tpot_s) return false;
  if (o.slo_e2e_s > 0 && r.e2e_s > o.slo_e2e_s) return false;
  return true;
}

// One request in flight: the client's thread writes it, the replay reads it after `done`.
struct flight {
  steady::time_point sent;
  std::optional<steady::time_point> last_chunk;
  unsigned status = 0;
  api::sse_reader sse;
  std::string error_body;
  bool done_seen = false;
  std::string fault;
  std::uint32_t chunks = 0;
  std::optional<api::usage> usage;
  request_record record;
};

std::string body_for(const trace_record& t, std::size_t index, const std::string& model) {
  nlohmann::json prompt = nlohmann::json::array();
  for (int i = 0; i < std::max(1, t.input_tokens); ++i)
    prompt.push_back(100 + (static_cast<std::uint64_t>(index) * 7919 + static_cast<std::uint64_t>(i) * 104729) % 30000);
  return nlohmann::json{{"model", model},
                        {"prompt", std::move(prompt)},
                        {"max_tokens", std::max(1, t.output_tokens)},
                        {"ignore_eos", true},
                        {"stream", true},
                        {"stream_options", {{"include_usage", true}}}}
      .dump();
}

}  // namespace

http_loadgen_report summarize(const std::vector<request_record>& records, std::size_t queries,
                              double duration_s, const http_loadgen_options& o) {
  http_loadgen_report r;
  r.queries = queries;
  r.sent = records.size();
  r.duration_s = duration_s;
  std::vector<double> ttft, tpot, itl, e2e;
  for (const auto& x : records) {
    if (!x.ok) {
      ++r.failed;
      ++r.failed_by[x.failure.empty() ? "unknown" : x.failure];
      continue;
    }
    ++r.completed;
    if (meets(x, o)) ++r.good;
    r.prompt_tokens += x.prompt_tokens;
    r.output_tokens += x.output_tokens;
    ttft.push_back(x.ttft_s);
    e2e.push_back(x.e2e_s);
    if (x.output_tokens > 1) tpot.push_back(tpot_of(x));
    itl.insert(itl.end(), x.itl_s.begin(), x.itl_s.end());
  }
  r.ttft = summary_of(ttft);
  r.tpot = summary_of(tpot);
  r.itl = summary_of(itl);
  r.e2e = summary_of(e2e);
  if (duration_s > 0) {
    r.request_throughput = static_cast<double>(r.completed) / duration_s;
    r.request_goodput = static_cast<double>(r.good) / duration_s;
    r.output_token_throughput = static_cast<double>(r.output_tokens) / duration_s;
    r.total_token_throughput = static_cast<double>(r.output_tokens + r.prompt_tokens) / duration_s;
  }
  return r;
}

std::string http_loadgen_report::text() const {
  std::string out;
  char line[256];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out += line;
  };
  add("  requests        %zu sent of %zu, %zu completed, %zu failed, over %.2f s\n", sent, queries, completed,
      failed, duration_s);
  add("  request throughput  %.2f req/s, goodput %.2f req/s (%zu within the SLOs)\n", request_throughput,
      request_goodput, good);
  add("  token throughput    %.1f output tok/s, %.1f total tok/s\n", output_token_throughput,
      total_token_throughput);
  auto lat = [&](const char* name, const latency_summary& s) {
    add("  %-5s mean %8.2f ms   median %8.2f ms   p99 %8.2f ms\n", name, s.mean * 1e3, s.median * 1e3, s.p99 * 1e3);
  };
  lat("TTFT", ttft);
  lat("TPOT", tpot);
  lat("ITL", itl);
  lat("E2E", e2e);
  for (const auto& [k, v] : failed_by) add("  failed %-24s %zu\n", (k + ":").c_str(), v);
  return out;
}

std::string http_loadgen_report::json() const {
  json_writer w;
  auto lat = [&](const char* name, const latency_summary& s) {
    const std::string n(name);
    w.field("mean_" + n + "_ms", s.mean * 1e3).field("median_" + n + "_ms", s.median * 1e3).field("p99_" + n + "_ms", s.p99 * 1e3);
  };
  w.begin_object()
      .field("queries", queries)
      .field("sent", sent)
      .field("completed", completed)
      .field("failed", failed)
      .field("good", good)
      .field("duration_s", duration_s)
      .field("request_throughput", request_throughput)
      .field("request_goodput", request_goodput)
      .field("output_throughput", output_token_throughput)
      .field("total_token_throughput", total_token_throughput)
      .field("total_input_tokens", static_cast<std::int64_t>(prompt_tokens))
      .field("total_output_tokens", static_cast<std::int64_t>(output_tokens));
  lat("ttft", ttft);
  lat("tpot", tpot);
  lat("itl", itl);
  lat("e2el", e2e);
  w.key("failed_by").begin_object();
  for (const auto& [k, v] : failed_by) w.field(k, v);
  w.end_object().end_object();
  return w.str();
}

http_loadgen_report run_http_loadgen(const http_loadgen_options& o, const trace& arrivals,
                                     const std::atomic<bool>* stop) {
  http::client_options co;
  co.head_timeout = std::chrono::milliseconds(static_cast<long long>(o.drain_timeout_s * 1e3) + 1000);
  co.idle_timeout = co.head_timeout;
  http::http_client client(co);
  std::mutex mu;
  std::condition_variable cv;
  std::size_t outstanding = 0;
  std::vector<std::shared_ptr<flight>> flights;
  flights.reserve(arrivals.size());
  const double scale = o.time_scale;
  auto model_s = [scale](steady::duration d) { return std::chrono::duration<double>(d).count() * scale; };

  const auto start = steady::now();
  std::optional<steady::time_point> last_outcome;
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    if (stop && stop->load()) break;
    const auto at = start + std::chrono::duration_cast<steady::duration>(
                                std::chrono::duration<double>(arrivals[i].arrival_s / scale));
    std::this_thread::sleep_until(at);  // the replay's schedule, not a test's wait
    auto f = std::make_shared<flight>();
    f->record.prompt_tokens = static_cast<std::uint32_t>(std::max(1, arrivals[i].input_tokens));
    http::client_request r;
    r.method = "POST";
    r.host = o.url.host;
    r.port = o.url.port;
    r.target = o.url.base_path + "/v1/completions";
    r.content_type = "application/json";
    r.body = body_for(arrivals[i], i, o.model);
    {
      std::lock_guard<std::mutex> lock(mu);
      ++outstanding;
      flights.push_back(f);
    }
    f->sent = steady::now();
    client.send(std::move(r),
                {[f](const http::response_head& h) { f->status = h.status; },
                 [f, &model_s](std::string_view d) {
                   if (f->status != 200) {
                     if (f->error_body.size() < 4096) f->error_body.append(d.substr(0, 4096));
                     return;
                   }
                   const auto now = steady::now();
                   for (const auto& ev : f->sse.feed(d)) {
                     if (ev == "[DONE]") {
                       f->done_seen = true;
                       continue;
                     }
                     const auto c = api::decode_chunk(ev);
                     if (!c.ok) {
                       if (f->fault.empty()) f->fault = "bad chunk: " + c.error.substr(0, 60);
                       continue;
                     }
                     if (c.ok->usage_) f->usage = c.ok->usage_;
                     if (c.ok->text.empty()) continue;
                     ++f->chunks;
                     if (!f->last_chunk) {
                       f->record.ttft_s = model_s(now - f->sent);
                     } else {
                       f->record.itl_s.push_back(model_s(now - *f->last_chunk));
                     }
                     f->last_chunk = now;
                   }
                 },
                 [f, &mu, &cv, &outstanding, &last_outcome, &model_s](const std::optional<http::client_error>& e) {
                   const auto now = steady::now();
                   request_record& rec = f->record;
                   rec.e2e_s = model_s(now - f->sent);
                   if (e) {
                     rec.failure = http::to_string(e->code);
                   } else if (f->status != 200) {
                     rec.failure = "http " + std::to_string(f->status);
                   } else if (!f->fault.empty()) {
                     rec.failure = "bad chunk";
                   } else if (!f->done_seen) {
                     rec.failure = "no [DONE]";
                   } else {
                     rec.ok = true;
                     rec.output_tokens = f->usage ? f->usage->completion_tokens : f->chunks;
                     if (f->usage && f->usage->prompt_tokens > 0) rec.prompt_tokens = f->usage->prompt_tokens;
                   }
                   std::lock_guard<std::mutex> lock(mu);
                   last_outcome = now;
                   --outstanding;
                   cv.notify_all();
                 }});
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::duration<double>(o.drain_timeout_s), [&] { return outstanding == 0; });
  }
  client.stop();  // what is still open ends now (stopped): counted as failures
  std::vector<request_record> records;
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& f : flights) records.push_back(f->record);
  const double duration = last_outcome ? model_s(*last_outcome - start) : 0;
  return summarize(records, arrivals.size(), duration, o);
}

}  // namespace aladdin::node
