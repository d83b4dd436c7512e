#include "actors/loadgen/loadgen.hpp"

#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "schema/client_channel.hpp"
#include "util/answer_watch.hpp"
#include "util/json.hpp"
#include "util/quantile.hpp"

namespace aladdin::node {

namespace cc = client_channel;

namespace {

using clock = std::chrono::steady_clock;

double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }
std::uint64_t micros_of(clock::duration d) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

struct query_track {
  clock::time_point sent{};
  clock::time_point first{};
  bool replied = false;
  bool accepted = false;
  bool ended = false;
  bool has_first = false;
};

}  // namespace

std::string loadgen_report::text() const {
  std::string out;
  char line[256];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out += line;
  };
  if (no_answer) add("  NO NODE ANSWERED: stopped after %.1f s without any reply\n", wall_s);
  add("  queries         %zu sent of %zu in the trace, over %.1f s\n", sent, queries, wall_s);
  add("  attainment      %.4f  (%zu met both SLOs)\n", attainment, met_slo);
  add("  TTFT p50 / p99  %.3f s / %.3f s\n", ttft_p50_s, ttft_p99_s);
  add("  ATGT p50 / p99  %.1f ms / %.1f ms\n", atgt_p50_s * 1e3, atgt_p99_s * 1e3);
  add("  finished        %zu  (%.2f queries/s)\n", finished, throughput_per_s);
  add("  accepted        %zu, rejected %zu, failed %zu, errors %zu\n", accepted, rejected, failed, errors);
  add("  lost            %zu accepted without an outcome, %zu sent without a reply\n", lost, unanswered);
  for (const auto& [k, v] : rejected_by) add("  rejected %-14s %zu\n", (k + ":").c_str(), v);
  for (const auto& [k, v] : failed_by) add("  failed %-16s %zu\n", (k + ":").c_str(), v);
  for (const auto& [k, v] : errors_by) add("  error %-17s %zu\n", (k + ":").c_str(), v);
  return out;
}

std::string loadgen_report::json() const {
  json_writer w;
  w.begin_object()
      .field("queries", queries)
      .field("sent", sent)
      .field("accepted", accepted)
      .field("rejected", rejected)
      .field("finished", finished)
      .field("failed", failed)
      .field("errors", errors)
      .field("lost", lost)
      .field("unanswered", unanswered)
      .field("no_answer", no_answer)
      .field("met_slo", met_slo)
      .field("attainment", attainment)
      .field("ttft_p50_s", ttft_p50_s)
      .field("ttft_p99_s", ttft_p99_s)
      .field("atgt_p50_s", atgt_p50_s)
      .field("atgt_p99_s", atgt_p99_s)
      .field("wall_s", wall_s)
      .field("throughput_per_s", throughput_per_s);
  auto map = [&](const char* name, const std::map<std::string, std::size_t>& m) {
    w.key(name).begin_object();
    for (const auto& [k, v] : m) w.field(k, v);
    w.end_object();
  };
  map("rejected_by", rejected_by);
  map("failed_by", failed_by);
  map("errors_by", errors_by);
  w.end_object();
  return w.str();
}

loadgen_report run_loadgen(const loadgen_options& o, const trace& arrivals, const std::atomic<bool>* stop) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::routing_id, zmq::buffer(o.client_id));
  s.set(zmq::sockopt::sndhwm, 1000000);
  s.set(zmq::sockopt::rcvhwm, 1000000);
  try {
    s.connect(o.endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot connect to " + o.endpoint + ": " + e.what());
  }

  loadgen_report r;
  r.queries = arrivals.size();
  std::vector<query_track> tracks(arrivals.size());
  std::unordered_map<std::uint64_t, std::size_t> by_query_id;
  std::vector<double> ttfts, atgts;
  std::uint64_t seq = 0;
  std::size_t open = 0;  // sent and not ended (or refused)
  const auto start = clock::now();
  const double scale = o.time_scale;
  answer_watch node(static_cast<std::uint64_t>(o.answer_timeout_s * 1e6), 0);
  auto silent_too_long = [&] {
    if (!node.warn(micros_of(clock::now() - start))) return false;
    r.no_answer = true;
    return true;
  };

  auto handle = [&](const cc::message& m, clock::time_point now) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, cc::query_accepted>) {
            if (x.client_query_id >= tracks.size()) return;
            auto& t = tracks[x.client_query_id];
            if (t.replied) return;
            t.replied = t.accepted = true;
            ++r.accepted;
            by_query_id[x.query_id] = x.client_query_id;
          } else if constexpr (std::is_same_v<T, cc::query_rejected>) {
            if (x.client_query_id >= tracks.size()) return;
            auto& t = tracks[x.client_query_id];
            if (t.replied) return;
            t.replied = t.ended = true;
            ++r.rejected;
            ++r.rejected_by[to_string(x.reason)];
            --open;
          } else if constexpr (std::is_same_v<T, cc::first_token>) {
            const auto it = by_query_id.find(x.query_id);
            if (it == by_query_id.end()) return;
            auto& t = tracks[it->second];
            if (!t.has_first) {
              t.has_first = true;
              t.first = now;
            }
          } else if constexpr (std::is_same_v<T, cc::query_finished>) {
            const auto it = by_query_id.find(x.query_id);
            if (it == by_query_id.end() || tracks[it->second].ended) return;
            auto& t = tracks[it->second];
            t.ended = true;
            --open;
            ++r.finished;
            const auto first = t.has_first ? t.first : now;
            const double ttft = seconds(first - t.sent) * scale;
            const double atgt = x.output_tokens > 1 ? seconds(now - first) * scale / (x.output_tokens - 1) : 0;
            ttfts.push_back(ttft);
            atgts.push_back(atgt);
            if (ttft <= o.slo_ttft_s && atgt <= o.slo_atgt_s) ++r.met_slo;
          } else if constexpr (std::is_same_v<T, cc::query_failed>) {
            const auto it = by_query_id.find(x.query_id);
            if (it == by_query_id.end() || tracks[it->second].ended) return;
            tracks[it->second].ended = true;
            --open;
            ++r.failed;
            ++r.failed_by[to_string(x.reason)];
          } else if constexpr (std::is_same_v<T, cc::wire_error>) {
            ++r.errors;
            ++r.errors_by[to_string(x.code)];
          }
        },
        m);
  };

  auto receive = [&](std::chrono::milliseconds wait) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, wait);
    zmq::message_t msg;
    while (s.recv(msg, zmq::recv_flags::dontwait)) {
      node.answered();  // anything, even an error: a node is there
      auto m = cc::decode({static_cast<const std::byte*>(msg.data()), msg.size()}, cc::party::client);
      if (!m) {
        ++r.errors;
        ++r.errors_by["undecodable reply"];
        continue;
      }
      handle(m.value().body, clock::now());
    }
  };

  std::size_t next = 0;
  while (next < arrivals.size() && !(stop && stop->load()) && !silent_too_long()) {
    const auto due = start + std::chrono::duration_cast<clock::duration>(
                                 std::chrono::duration<double>(arrivals[next].arrival_s / scale));
    auto now = clock::now();
    if (now < due) {
      // Wait for replies until the next send (or the answer timeout); below a millisecond
      // (poll's granularity) nap instead of spinning, which would take a core from the node on
      // a small machine.
      const auto wake = node.next_warning() == answer_watch::never
                            ? due
                            : std::min(due, start + std::chrono::microseconds(node.next_warning()));
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now);
      if (left.count() > 0) receive(left);
      else if (wake > now) std::this_thread::sleep_for(wake - now);
      continue;
    }
    // Everything due goes out now (a late sender catches up instead of drifting).
    for (; next < arrivals.size() && start + std::chrono::duration_cast<clock::duration>(
                                                std::chrono::duration<double>(arrivals[next].arrival_s / scale)) <= now;
         ++next) {
      const trace_record& q = arrivals[next];
      cc::submit_query sq{next,
                          static_cast<std::uint32_t>(std::max(1, q.input_tokens)),
                          static_cast<std::uint32_t>(std::max(1, q.output_tokens)),
                          static_cast<std::uint64_t>(o.slo_ttft_s * 1e6),
                          static_cast<std::uint64_t>(o.slo_atgt_s * 1e6),
                          o.model};
      const auto bytes = cc::encode(codec::envelope_header{codec::protocol_version, o.client_id, 0, ++seq}, sq);
      tracks[next].sent = clock::now();
      (void)s.send(zmq::const_buffer(bytes.bytes().data(), bytes.size()), zmq::send_flags::none);
      node.asked(micros_of(tracks[next].sent - start));
      ++r.sent;
      ++open;
    }
    receive(std::chrono::milliseconds(0));
  }
  const auto drain_until = clock::now() + std::chrono::duration_cast<clock::duration>(
                                               std::chrono::duration<double>(o.drain_timeout_s));
  while (open > 0 && clock::now() < drain_until && !r.no_answer && !silent_too_long())
    receive(std::chrono::milliseconds(20));

  r.wall_s = seconds(clock::now() - start);
  for (const auto& t : tracks) {
    if (t.sent == clock::time_point{}) continue;
    if (!t.replied) ++r.unanswered;
    else if (t.accepted && !t.ended) ++r.lost;
  }
  r.attainment = r.sent > 0 ? static_cast<double>(r.met_slo) / static_cast<double>(r.sent) : 0;
  r.ttft_p50_s = quantile(ttfts, 0.5);
  r.ttft_p99_s = quantile(ttfts, 0.99);
  r.atgt_p50_s = quantile(atgts, 0.5);
  r.atgt_p99_s = quantile(atgts, 0.99);
  r.throughput_per_s = r.wall_s > 0 ? static_cast<double>(r.finished) / r.wall_s : 0;
  return r;
}

std::string no_answer_advice(const loadgen_options& o, const loadgen_report& r) {
  char line[512];
  std::snprintf(line, sizeof line,
                "no node answers at %s: no reply in %.1f s to the %zu queries sent. Check that `aladdin serve` "
                "runs there and listens for clients at that address (its --listen, not its --worker-listen) "
                "and that the host and port are reachable",
                o.endpoint.c_str(), o.answer_timeout_s, r.sent);
  return line;
}

}  // namespace aladdin::node
