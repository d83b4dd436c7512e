// The control plane's own cost, end to end over loopback: queries/s through
// client → intake (journal) → placement → worker proxy (journal) → worker, with fake workers
// that answer every assignment at once, and the latency the node adds between a client's
// submission and the assignment reaching the worker.
//
// A separate executable (aladdin_bench_control_plane) with its own main: bench/*.cpp go into
// aladdin_bench, which links the core only. Two phases per durability level (memory, RocksDB
// WAL without fsync, RocksDB with one fsync per group), each on a node of its own:
//   saturation  a closed loop keeping --window queries outstanding: the node's throughput,
//               and as a ratio of the memory store's in the same run;
//   latency     open-loop arrivals at half of that level's saturation (and at any --rates):
//               p50/p99 of submit → assignQuery at the worker (the control plane's added
//               latency) and of submit → queryAccepted.
// Everything runs in one process on the machine's cores (client, bridge, actors, workers),
// so the numbers are what one node sustains while sharing its cores with its load.

#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/caf/control_node.hpp"
#include "schema/client_channel.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"
#include "util/quantile.hpp"

using namespace aladdin;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
  std::size_t queries = 100000;
  std::size_t window = 1000;
  int workers = 4;
  std::string policy = "aladdin";
  std::vector<double> rates;  // fixed rates, besides half of each level's saturation
  bool half = true;
  double latency_seconds = 3;
  std::vector<node::durability_level> levels = {node::durability_level::memory, node::durability_level::wal,
                                                node::durability_level::fsync};
};

// Assignment arrival times by query id, written by the workers' threads (each id once).
struct arrivals {
  std::vector<std::int64_t> at_ns;
  explicit arrivals(std::size_t n) : at_ns(n, 0) {}
  void record(std::uint64_t id, clock_type::time_point t) {
    if (id < at_ns.size()) at_ns[id] = t.time_since_epoch().count();
  }
};

class bench_client {
 public:
  explicit bench_client(const std::string& endpoint) : ctx_(1), s_(ctx_, zmq::socket_type::dealer) {
    s_.set(zmq::sockopt::linger, 0);
    s_.set(zmq::sockopt::routing_id, zmq::str_buffer("bench-client"));
    s_.set(zmq::sockopt::sndhwm, 1000000);
    s_.set(zmq::sockopt::rcvhwm, 1000000);
    s_.connect(endpoint);
  }

  struct sample {
    clock_type::time_point sent{};
    clock_type::time_point accepted{};
    std::uint64_t query_id = 0;
    bool done = false;
  };
  std::vector<sample> samples;
  std::size_t finished = 0, refused = 0, other = 0;

  void send(std::uint64_t cqid) {
    const client_channel::submit_query q{cqid, 64, 16, 2'000'000, 100'000, "llama2-70b"};
    const auto bytes =
        client_channel::encode(codec::envelope_header{codec::protocol_version, "bench", 0, ++seq_}, q);
    samples[cqid].sent = clock_type::now();
    (void)s_.send(zmq::const_buffer(bytes.bytes().data(), bytes.size()), zmq::send_flags::none);
  }

  // Reads what is there (waiting up to `wait` for the first frame).
  void poll(std::chrono::microseconds wait) {
    zmq::pollitem_t item{s_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::duration_cast<std::chrono::milliseconds>(wait));
    zmq::message_t msg;
    while (s_.recv(msg, zmq::recv_flags::dontwait)) {
      const auto now = clock_type::now();
      auto r = client_channel::decode({static_cast<const std::byte*>(msg.data()), msg.size()},
                                      client_channel::party::client);
      if (!r) continue;
      const client_channel::message& m = r.value().body;
      if (auto* a = std::get_if<client_channel::query_accepted>(&m)) {
        if (a->client_query_id < samples.size()) {
          samples[a->client_query_id].accepted = now;
          samples[a->client_query_id].query_id = a->query_id;
        }
      } else if (std::holds_alternative<client_channel::query_finished>(m)) {
        ++finished;
      } else if (std::holds_alternative<client_channel::query_rejected>(m) ||
                 std::holds_alternative<client_channel::query_failed>(m)) {
        ++refused;
      } else if (!std::holds_alternative<client_channel::first_token>(m)) {
        ++other;
      }
    }
  }

 private:
  zmq::context_t ctx_;
  zmq::socket_t s_;
  std::uint64_t seq_ = 0;
};

struct node_under_test {
  test::temp_dir dir{"bench"};
  std::unique_ptr<node::control_node> node;
  std::vector<std::unique_ptr<test::fake_worker>> workers;
  std::shared_ptr<arrivals> seen;

  node_under_test(const settings& s, node::durability_level level, std::size_t max_queries) {
    std::string names;
    for (int i = 1; i <= s.workers; ++i) names += (i > 1 ? "," : "") + std::string("bench-") + std::to_string(i);
    node::serve_options o = test::loopback_node(dir.str(), names);
    o.policy = s.policy;
    o.max_waiting = 10'000'000;
    o.heartbeat_timeout_s = 5;
    o.durability = level;  // the node opens its store as `aladdin serve --durability` does
    node = std::make_unique<node::control_node>(o);
    node->start();
    seen = std::make_shared<arrivals>(max_queries + 4096);
    for (int i = 1; i <= s.workers; ++i) {
      test::fake_worker_options wo;
      wo.endpoint = node->worker_endpoint();
      wo.name = "bench-" + std::to_string(i);
      wo.first_token_after = std::chrono::milliseconds(0);
      wo.complete_after = std::chrono::milliseconds(0);
      wo.heartbeat = std::chrono::milliseconds(200);
      auto w = std::make_unique<test::fake_worker>(wo);
      auto sink = seen;
      w->on_assign = [sink](const worker_channel::assign_query& a, clock_type::time_point t) { sink->record(a.query_id, t); };
      w->start();
      workers.push_back(std::move(w));
    }
    for (auto& w : workers)
      if (!test::eventually([&] { return w->registered(); }, std::chrono::seconds(10)))
        throw std::runtime_error("a fake worker did not register");
  }
  ~node_under_test() {
    for (auto& w : workers) w->stop();
    node->stop();
  }
};

// CPU time of this process's threads by role, from /proc: what the node itself spends per
// query, apart from the client and the fake workers sharing the machine with it.
struct cpu_split {
  double bridge = 0, actors = 0, node_io = 0, storage = 0, harness = 0;  // seconds
};

cpu_split cpu_now() {
  cpu_split c;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string name = line.substr(open + 1, close - open - 1);
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    std::vector<std::string> fields;
    while (rest >> field) fields.push_back(field);
    if (fields.size() < 13) continue;
    const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / tick;  // utime + stime
    if (name == "aladdin-bridge") c.bridge += cpu;
    else if (name.rfind("caf.", 0) == 0) c.actors += cpu;
    else if (name.rfind("1/ZMQbg", 0) == 0) c.node_io += cpu;
    else if (name.rfind("rocksdb", 0) == 0) c.storage += cpu;
    else c.harness += cpu;
  }
  return c;
}

// Closed loop: keep `window` outstanding until `n` finished. Returns queries/s.
double saturate(bench_client& c, std::size_t first, std::size_t n, std::size_t window) {
  const std::size_t done0 = c.finished + c.refused;
  std::size_t next = first;
  const auto t0 = clock_type::now();
  while (c.finished + c.refused - done0 < n) {
    const std::size_t outstanding = (next - first) - (c.finished + c.refused - done0);
    while (next < first + n && (next - first) - (c.finished + c.refused - done0) < window) c.send(next++);
    (void)outstanding;
    c.poll(std::chrono::microseconds(1000));
    if (clock_type::now() - t0 > std::chrono::seconds(120)) break;
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  return static_cast<double>(c.finished + c.refused - done0) / secs;
}

struct latency_result {
  double rate = 0, achieved = 0;
  double assign_p50_us = 0, assign_p99_us = 0, accept_p50_us = 0, accept_p99_us = 0;
  std::size_t samples = 0;
};

latency_result open_loop(bench_client& c, const arrivals& seen, std::size_t first, double rate, double seconds) {
  const std::size_t n = static_cast<std::size_t>(rate * seconds);
  const auto t0 = clock_type::now();
  const std::size_t done0 = c.finished + c.refused;
  for (std::size_t i = 0; i < n; ++i) {
    const auto due = t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(static_cast<double>(i) / rate));
    // Sleep rather than spin until the next send: a spinning client would take a core from
    // the node it measures (this machine has two).
    // Replies are read as they come (poll wakes on them), so submit→accepted is not inflated
    // by the client's sleep; below a millisecond, short naps between non-blocking polls.
    for (auto now = clock_type::now(); now < due; now = clock_type::now()) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(due - now);
      if (left >= std::chrono::microseconds(1000)) {
        c.poll(std::chrono::microseconds(1000));
      } else {
        c.poll(std::chrono::microseconds(0));
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
    c.send(first + i);
  }
  const double sent_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  const auto deadline = clock_type::now() + std::chrono::seconds(30);
  while (c.finished + c.refused - done0 < n && clock_type::now() < deadline) c.poll(std::chrono::microseconds(1000));
  latency_result r;
  r.rate = rate;
  r.achieved = static_cast<double>(n) / sent_s;
  std::vector<double> to_worker, to_accept;
  for (std::size_t i = first; i < first + n; ++i) {
    const auto& s = c.samples[i];
    if (s.accepted != clock_type::time_point{}) to_accept.push_back(std::chrono::duration<double, std::micro>(s.accepted - s.sent).count());
    if (s.query_id < seen.at_ns.size() && seen.at_ns[s.query_id] != 0)
      to_worker.push_back(static_cast<double>(seen.at_ns[s.query_id] - s.sent.time_since_epoch().count()) / 1e3);
  }
  // The first tenth warms caches and connections; leave it out.
  auto trim = [](std::vector<double>& v) { v.erase(v.begin(), v.begin() + static_cast<long>(v.size() / 10)); };
  trim(to_worker);
  trim(to_accept);
  r.samples = to_worker.size();
  r.assign_p50_us = quantile(to_worker, 0.5);
  r.assign_p99_us = quantile(to_worker, 0.99);
  r.accept_p50_us = quantile(to_accept, 0.5);
  r.accept_p99_us = quantile(to_accept, 0.99);
  return r;
}

void print_latency(const char* label, const latency_result& r) {
  std::printf("%-7s at %7.0f/s: submit→worker p50 %7.1f us p99 %8.1f us | submit→accepted p50 %7.1f us p99 %8.1f us (%zu samples)\n",
              label, r.achieved, r.assign_p50_us, r.assign_p99_us, r.accept_p50_us, r.accept_p99_us, r.samples);
}

// Returns the saturation throughput.
double run(const settings& s, node::durability_level level, double memory_qps) {
  const char* label = node::to_string(level);
  // Half of saturation is known only after the saturation phase: size for the most it can be.
  std::size_t total = s.queries + 5000 + 2'000'000;
  for (double r : s.rates) total += static_cast<std::size_t>(r * s.latency_seconds);
  node_under_test nut(s, level, total);
  bench_client c(nut.node->client_endpoint());
  c.samples.resize(total);
  std::size_t next = 0;
  saturate(c, next, 5000, s.window);  // warm-up
  next += 5000;
  const cpu_split before = cpu_now();
  const auto journal_before = nut.node->journal_stats();
  const double qps = saturate(c, next, s.queries, s.window);
  const cpu_split after = cpu_now();
  const auto journal_after = nut.node->journal_stats();
  next += s.queries;
  std::printf("%-7s %-8s saturation: %9.0f queries/s (window %zu, %d workers, %zu refused)", label, s.policy.c_str(),
              qps, s.window, s.workers, c.refused);
  if (memory_qps > 0) std::printf("  = %.2f x memory", qps / memory_qps);
  std::printf("\n");
  if (journal_before && journal_after) {
    const double groups = static_cast<double>(journal_after->groups - journal_before->groups);
    const double calls = static_cast<double>(journal_after->calls - journal_before->calls);
    const double micros = static_cast<double>(journal_after->write_micros_total - journal_before->write_micros_total);
    std::printf("%-7s journal: %.0f groups, %.2f calls and %.1f queries per group, %.1f us per group write,"
                " %.2f groups per query, %llu disk reads\n",
                label, groups, groups > 0 ? calls / groups : 0, groups > 0 ? static_cast<double>(s.queries) / groups : 0,
                groups > 0 ? micros / groups : 0, groups / static_cast<double>(s.queries),
                static_cast<unsigned long long>(journal_after->journal_reads - journal_before->journal_reads));
  }
  // Storage work runs on the actors' threads (plus RocksDB's own background threads).
  const double n = static_cast<double>(s.queries);
  const double bridge = (after.bridge - before.bridge) / n * 1e6, actors = (after.actors - before.actors) / n * 1e6,
               io = (after.node_io - before.node_io) / n * 1e6, bg = (after.storage - before.storage) / n * 1e6,
               harness = (after.harness - before.harness) / n * 1e6;
  const double node_us = bridge + actors + io + bg;
  std::printf("%-7s CPU per query: node %.1f us (bridge %.1f, actors incl. journal %.1f, node zmq I/O %.1f, rocksdb threads %.1f),"
              " client and workers %.1f us; the node alone on 2 cores: ~%.0f queries/s, its bridge thread caps it at ~%.0f\n",
              label, node_us, bridge, actors, io, bg, harness, 2e6 / node_us, 1e6 / bridge);
  std::vector<double> rates = s.rates;
  if (s.half) rates.insert(rates.begin(), qps / 2);
  for (double rate : rates) {
    if (next + static_cast<std::size_t>(rate * s.latency_seconds) > total) continue;
    const latency_result r = open_loop(c, *nut.seen, next, rate, s.latency_seconds);
    next += static_cast<std::size_t>(rate * s.latency_seconds);
    print_latency(label, r);
  }
  const node::node_stats st = nut.node->stats();
  std::printf("%-7s node: accepted %llu, placed %llu, waited %llu, frames in %llu out %llu\n", label,
              static_cast<unsigned long long>(st.accepted), static_cast<unsigned long long>(st.placed),
              static_cast<unsigned long long>(st.waited), static_cast<unsigned long long>(st.frames_in),
              static_cast<unsigned long long>(st.frames_out));
  std::fflush(stdout);
  return qps;
}

std::vector<std::string> split(const std::string& v) {
  std::vector<std::string> out;
  for (std::size_t p = 0; p < v.size();) {
    const auto q = v.find(',', p);
    out.push_back(v.substr(p, q - p));
    p = q == std::string::npos ? v.size() : q + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--queries") s.queries = std::stoul(value());
    else if (a == "--window") s.window = std::stoul(value());
    else if (a == "--workers") s.workers = std::stoi(value());
    else if (a == "--policy") s.policy = value();
    else if (a == "--durability") {
      s.levels.clear();
      for (const auto& word : split(value())) {
        if (word == "memory") s.levels.push_back(node::durability_level::memory);
        else if (word == "wal") s.levels.push_back(node::durability_level::wal);
        else if (word == "fsync") s.levels.push_back(node::durability_level::fsync);
        else {
          std::fprintf(stderr, "--durability: '%s' is not memory, wal or fsync\n", word.c_str());
          return 2;
        }
      }
    } else if (a == "--rates") {
      s.rates.clear();
      s.half = false;
      for (const auto& word : split(value())) {
        if (word == "half") s.half = true;
        else if (word != "none") s.rates.push_back(std::stod(word));
      }
    } else if (a == "--latency-seconds") {
      s.latency_seconds = std::stod(value());
    } else if (a == "--help") {
      std::printf("usage: aladdin_bench_control_plane [--queries N] [--window W] [--workers K] [--policy P]\n"
                  "                                   [--durability memory,wal,fsync] [--rates half,r1,r2,...|none]\n"
                  "                                   [--latency-seconds S]\n");
      return 0;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  double memory_qps = 0;
  for (const auto level : s.levels) {
    const double qps = run(s, level, memory_qps);
    if (level == node::durability_level::memory) memory_qps = qps;
  }
  return 0;
}
