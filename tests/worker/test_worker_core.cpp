// worker_core on a fake clock: registration, assignments against the engine's own times, time
// scale, heartbeats, drain, cancellation, refusals and re-registration.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "actors/worker/worker_core.hpp"

using namespace aladdin;
using namespace aladdin::worker;
namespace wc = aladdin::worker_channel;

namespace {

const sim::ground_truth& truth() {
  static const sim::ground_truth gt = *sim::ground_truth::builtin("llama2-70b", "a100-80gb", 4);
  return gt;
}

constexpr micros t0 = 1'700'000'000'000'000;  // a wall clock in microseconds since the epoch

worker_core_options options(double time_scale = 1) {
  worker_core_options o;
  o.identity = {"w1", "llama2-70b", "a100-80gb", 4};
  o.engine.kv_capacity_tokens = 100'000;
  o.engine.noise_sigma = 0.03;
  o.engine.report_progress = false;
  o.seed = 11;
  o.time_scale = time_scale;
  o.heartbeat_interval = 100'000;
  o.register_retry = 1'000'000;
  return o;
}

// Drives a core the way worker_process does, on a clock the test moves.
struct harness {
  explicit harness(worker_core_options o = options()) : core(std::move(o), truth(), t0) {
    core.start();
    collect();
  }

  void collect() {
    for (auto& m : core.take_outbound()) sent.push_back(std::move(m));
  }
  // Wakes the core at every time it asked for up to `t`, then at `t`. A wake-up at or before
  // `now` after an advance can only be a silence warning nobody has taken yet (advance() does
  // not take it: the process asks silence_warning()), so it ends the loop instead of spinning.
  void run_until(micros t) {
    for (micros w = core.next_wake(); w != never && w <= t && !core.finished() && w > now;
         w = core.next_wake()) {
      now = std::max(now, w);
      core.advance(now);
      collect();
    }
    now = std::max(now, t);
    core.advance(now);
    collect();
  }
  void run_for(micros d) { run_until(now + d); }
  // Runs, wake-up by wake-up, until `n` messages of type T were sent (or `limit` passed).
  template <class T>
  void run_until_sent(std::size_t n, micros limit = 60'000'000) {
    const micros end = now + limit;
    while (count<T>() < n && now < end && !core.finished())
      run_until(std::min(end, std::max(now + 1, core.next_wake())));
  }
  // Runs until nothing but heartbeats is scheduled: the engine is idle.
  void run_until_idle(micros limit = 3'600'000'000) {
    const micros end = now + limit;
    while (core.engine().busy() && now < end && !core.finished())
      run_until(std::min(end, std::max(now + 1, core.wall_time(core.engine().next_event_time()))));
  }
  void deliver(const wc::message& m) {
    core.handle(m, now);
    collect();
  }
  void register_as(std::uint32_t id, std::uint64_t epoch) { deliver(wc::registered{id, epoch}); }

  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& m : sent)
      if (const auto* p = std::get_if<T>(&m)) out.push_back(*p);
    return out;
  }
  template <class T>
  std::size_t count() const {
    return all<T>().size();
  }
  void clear() { sent.clear(); }

  worker_core core;
  micros now = t0;
  std::vector<wc::message> sent;
};

// The engine alone, fed the same request at the same engine time: what the worker must report.
std::vector<sim::engine_event> reference_events(const worker_core_options& o,
                                                std::vector<sim::request> requests, double at) {
  sim::engine e(o.engine, truth(), o.seed);
  for (const auto& r : requests) REQUIRE(e.enqueue(r, at) == sim::enqueue_result::accepted);
  std::vector<sim::engine_event> out;
  while (e.busy()) {
    const auto& r = e.step();
    for (const auto& ev : r.events)
      if (ev.kind == sim::event_kind::first_token || ev.kind == sim::event_kind::completed)
        out.push_back(ev);
  }
  return out;
}

wc::assign_query assign(std::uint64_t id, std::uint32_t prompt, std::uint32_t max_out,
                        std::uint32_t hint = 0) {
  return {id, prompt, hint, max_out, t0};
}

}  // namespace

TEST_CASE("worker core: registration says the engine's batching regime (chunked budget, or 0 for prefill-first)") {
  const auto said = [](sim::batching_mode mode, int budget) {
    auto o = options();
    o.engine.mode = mode;
    o.engine.max_batched_tokens = budget;
    harness h(o);
    return std::get<wc::register_worker>(h.sent.at(0)).max_batched_tokens;
  };
  CHECK(said(sim::batching_mode::prefill_first, 0) == 0);
  CHECK(said(sim::batching_mode::prefill_first, 4096) == 0);  // a prefill batch cap, not a chunk
  CHECK(said(sim::batching_mode::chunked, 0) == sim::engine_options::default_chunked_tokens);
  CHECK(said(sim::batching_mode::chunked, 512) == 512);
}

TEST_CASE("worker core: registers first and sends no heartbeat until registered") {
  harness h;
  REQUIRE(h.sent.size() == 1);
  const auto reg = std::get<wc::register_worker>(h.sent[0]);
  CHECK(reg.worker_name == "w1");
  CHECK(reg.model == "llama2-70b");
  CHECK(reg.gpu == "a100-80gb");
  CHECK(reg.tp == 4);
  CHECK(reg.block_size == 16);
  // The engine's capacity in whole blocks, the same the heartbeats count.
  CHECK(reg.kv_capacity_tokens == 100'000 / 16 * 16);
  CHECK(reg.kv_capacity_tokens ==
        static_cast<std::uint64_t>(h.core.engine().kv_blocks_total()) * reg.block_size);

  // Unanswered, it keeps asking once per retry interval and sends nothing else.
  h.run_until(t0 + 3'500'000);
  CHECK(h.count<wc::register_worker>() == 4);
  CHECK(h.count<wc::heartbeat>() == 0);
  CHECK(h.sent.size() == 4);
  CHECK_FALSE(h.core.registered());

  h.clear();
  h.register_as(7, 3);
  CHECK(h.core.registered());
  CHECK(h.core.worker_id() == 7);
  CHECK(h.core.epoch() == 3);
  REQUIRE(h.sent.size() == 1);
  const auto hb = std::get<wc::heartbeat>(h.sent[0]);
  CHECK(hb.worker_id == 7);
  CHECK(hb.at_micros == h.now);
  CHECK(hb.running.empty());
  CHECK(hb.waiting_count == 0);
  CHECK(hb.kv_blocks_used == 0);
  CHECK(hb.kv_blocks_total == 100'000 / 16);

  // Then one heartbeat per interval and no more registrations.
  h.clear();
  h.run_for(1'000'000);
  CHECK(h.count<wc::heartbeat>() == 10);
  CHECK(h.count<wc::register_worker>() == 0);
}

TEST_CASE(
    "worker core: an assignment yields firstToken then queryCompleted at the engine's times") {
  harness h;
  h.register_as(1, 1);
  h.run_for(250'000);  // the worker has been up a while: engine time is not zero
  h.clear();

  const micros assigned_at = h.now;
  h.deliver(assign(42, 700, 37));
  CHECK(h.core.stats().accepted == 1);
  h.run_until_idle();

  const double at = h.core.engine_time(assigned_at);
  const auto expected = reference_events(h.core.options(), {{42, 700, 37, at}}, at);
  REQUIRE(expected.size() == 2);

  const auto first = h.all<wc::first_token>();
  const auto done = h.all<wc::query_completed>();
  REQUIRE(first.size() == 1);
  REQUIRE(done.size() == 1);
  CHECK(first[0].query_id == 42);
  CHECK(first[0].at_micros == h.core.wall_time(expected[0].time_s));
  CHECK(done[0].query_id == 42);
  CHECK(done[0].output_tokens == 37);
  CHECK(done[0].at_micros == h.core.wall_time(expected[1].time_s));
  CHECK(first[0].at_micros > assigned_at);
  CHECK(done[0].at_micros > first[0].at_micros);

  // In order on the wire: the first token before the completion.
  std::size_t i_first = 0, i_done = 0;
  for (std::size_t i = 0; i < h.sent.size(); ++i) {
    if (std::holds_alternative<wc::first_token>(h.sent[i])) i_first = i;
    if (std::holds_alternative<wc::query_completed>(h.sent[i])) i_done = i;
  }
  CHECK(i_first < i_done);
  CHECK(h.core.active_queries() == 0);
  CHECK(h.core.stats().completed == 1);
}

TEST_CASE("worker core: the output length is max tokens, else the hint, else the default") {
  auto o = options();
  o.default_output_tokens = 9;
  harness h(o);
  h.register_as(1, 1);
  h.deliver(assign(1, 100, 5, 50));  // max_tokens wins over the hint
  h.deliver(assign(2, 100, 0, 12));  // the hint when there is no max
  h.deliver(assign(3, 100, 0, 0));   // neither: the default
  h.run_until_idle();
  auto done = h.all<wc::query_completed>();
  std::sort(done.begin(), done.end(), [](auto& a, auto& b) { return a.query_id < b.query_id; });
  REQUIRE(done.size() == 3);
  CHECK(done[0].output_tokens == 5);
  CHECK(done[1].output_tokens == 12);
  CHECK(done[2].output_tokens == 9);
}

TEST_CASE("worker core: time scale divides engine time into wall time") {
  harness slow(options(1));
  harness fast(options(50));
  for (auto* h : {&slow, &fast}) {
    h->register_as(1, 1);
    h->deliver(assign(5, 2000, 200));
    h->run_until_idle();
  }
  const auto slow_done = slow.all<wc::query_completed>();
  const auto fast_done = fast.all<wc::query_completed>();
  REQUIRE(slow_done.size() == 1);
  REQUIRE(fast_done.size() == 1);
  // Same engine, same seed, same engine times: 50 times less wall time (to the microsecond).
  const double slow_us = static_cast<double>(slow_done[0].at_micros - t0);
  const double fast_us = static_cast<double>(fast_done[0].at_micros - t0);
  CHECK(slow_us > 5e6);  // 200 decode steps of a 70B model take seconds
  CHECK(fast_us == doctest::Approx(slow_us / 50).epsilon(1e-5));
  CHECK(fast.core.engine_time(fast_done[0].at_micros) ==
        doctest::Approx(slow.core.engine_time(slow_done[0].at_micros)));
  CHECK(fast.core.engine().iterations() == slow.core.engine().iterations());
}

TEST_CASE("worker core: heartbeats list running and waiting queries with their progress") {
  auto o = options();
  o.engine.max_num_seqs = 2;  // two run, the rest wait
  o.max_heartbeat_waiting_ids = 2;
  harness h(o);
  h.register_as(3, 1);
  for (std::uint64_t id = 10; id < 14; ++id) h.deliver(assign(id, 500, 400));
  // Past the first prefill and a few decode steps.
  h.run_for(2'000'000);
  h.clear();
  h.run_for(100'000);
  const auto hbs = h.all<wc::heartbeat>();
  REQUIRE_FALSE(hbs.empty());
  const auto hb = hbs.back();
  CHECK(hb.worker_id == 3);
  REQUIRE(hb.running.size() == 2);
  CHECK(hb.running[0].query_id == 10);
  CHECK(hb.running[1].query_id == 11);
  for (const auto& p : hb.running) {
    CHECK(p.generated_tokens > 1);
    CHECK(p.generated_tokens ==
          static_cast<std::uint32_t>(*h.core.engine().generated_tokens(p.query_id)));
  }
  CHECK(hb.waiting_count == 2);
  CHECK(hb.waiting == std::vector<std::uint64_t>{12, 13});
  CHECK(hb.kv_blocks_used == static_cast<std::uint32_t>(h.core.engine().kv_blocks_used()));
  CHECK(hb.kv_blocks_used > 0);

  SUBCASE("the waiting list is capped, the count is not") {
    h.deliver(assign(14, 500, 400));
    h.clear();
    h.run_for(100'000);
    const auto later = h.all<wc::heartbeat>();
    REQUIRE_FALSE(later.empty());
    CHECK(later.back().waiting_count == 3);
    CHECK(later.back().waiting == std::vector<std::uint64_t>{12, 13});
  }
}

TEST_CASE("worker core: drain refuses new queries and finishes when the last one completes") {
  harness h;
  h.register_as(1, 1);
  h.deliver(assign(1, 300, 20));
  h.deliver(wc::drain_worker{0});
  CHECK(h.core.draining());
  CHECK_FALSE(h.core.finished());

  h.deliver(assign(2, 300, 20));
  const auto rejected = h.all<wc::engine_rejected>();
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0].query_id == 2);
  CHECK(rejected[0].reason == wc::engine_reject_code::invalid);
  CHECK(rejected[0].detail.find("draining") != std::string::npos);

  h.run_until_idle();
  CHECK(h.core.finished());
  CHECK(h.core.why_finished() == exit_reason::drained);
  CHECK(h.count<wc::query_completed>() == 1);
  // The last word is a heartbeat showing the worker empty.
  const auto* last = std::get_if<wc::heartbeat>(&h.sent.back());
  REQUIRE(last != nullptr);
  CHECK(last->running.empty());
  CHECK(last->waiting_count == 0);
  CHECK(h.core.next_wake() == never);
}

TEST_CASE("worker core: a drain deadline abandons what still runs") {
  harness h;
  h.register_as(1, 1);
  h.deliver(assign(1, 300, 50'000));  // would run for about an hour
  h.run_for(10'000);
  h.deliver(wc::drain_worker{h.now + 500'000});
  CHECK(h.core.next_wake() <= h.now + 500'000);
  h.run_for(400'000);
  CHECK_FALSE(h.core.finished());
  h.run_for(100'000);
  CHECK(h.core.finished());
  CHECK(h.core.why_finished() == exit_reason::drain_deadline);
}

TEST_CASE("worker core: drain of an idle worker finishes at once") {
  harness h;
  h.register_as(1, 1);
  h.deliver(wc::drain_worker{0});
  CHECK(h.core.finished());
  CHECK(h.core.why_finished() == exit_reason::drained);
}

TEST_CASE("worker core: a cancelled query reports nothing more and leaves the heartbeats") {
  harness h;
  h.register_as(1, 1);
  h.deliver(assign(1, 400, 300));
  h.deliver(assign(2, 400, 30));
  h.run_until_sent<wc::first_token>(2);  // both prefilled
  REQUIRE(h.count<wc::first_token>() == 2);
  h.deliver(wc::cancel_query{1});
  CHECK(h.core.stats().cancelled == 1);
  CHECK(h.core.active_queries() == 1);

  // The engine cannot remove it: it still holds its KV, but it is no longer listed.
  h.clear();
  h.run_for(100'000);
  auto hbs = h.all<wc::heartbeat>();
  REQUIRE_FALSE(hbs.empty());
  for (const auto& p : hbs.back().running) CHECK(p.query_id != 1);
  CHECK(h.core.engine().generated_tokens(1).has_value());

  // Its id cannot be reused while the cancelled sequence lives; a cancel of a stranger is a no-op.
  h.deliver(assign(1, 400, 30));
  auto rejected = h.all<wc::engine_rejected>();
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0].reason == wc::engine_reject_code::invalid);
  h.deliver(wc::cancel_query{999});
  CHECK(h.core.stats().cancels_of_unknown_queries == 1);

  // A drain does not wait for the cancelled query.
  h.deliver(wc::drain_worker{0});
  h.run_until_idle();
  CHECK(h.core.finished());
  CHECK(h.core.why_finished() == exit_reason::drained);
  const auto done = h.all<wc::query_completed>();
  REQUIRE(done.size() == 1);
  CHECK(done[0].query_id == 2);
  // Finished while query 1 still runs in the engine: nothing was waited for on its behalf.
  CHECK(h.core.engine().generated_tokens(1).has_value());
}

TEST_CASE("worker core: cancelled queries produce no events even after they end") {
  harness h;
  h.register_as(1, 1);
  h.deliver(assign(1, 400, 10));
  h.deliver(wc::cancel_query{1});  // before its first token
  h.run_until_idle();
  CHECK(h.count<wc::first_token>() == 0);
  CHECK(h.count<wc::query_completed>() == 0);
  // Gone from the engine: the id is free again.
  h.deliver(assign(1, 400, 10));
  h.run_until_idle();
  CHECK(h.count<wc::query_completed>() == 1);
}

TEST_CASE("worker core: engine refusals become queryRejected and duplicates are ignored") {
  harness h;
  h.register_as(1, 1);
  h.deliver(assign(1, 0, 10));              // no prompt
  h.deliver(assign(2, 99'000, 5'000));      // more than the cache holds
  h.deliver(assign(3, 4'000'000'000u, 1));  // more than an int
  h.deliver(assign(4, 100, 10));
  h.deliver(assign(4, 100, 10));  // a resend
  const auto rejected = h.all<wc::engine_rejected>();
  REQUIRE(rejected.size() == 3);
  CHECK(rejected[0].query_id == 1);
  CHECK(rejected[0].reason == wc::engine_reject_code::invalid);
  CHECK(rejected[1].query_id == 2);
  CHECK(rejected[1].reason == wc::engine_reject_code::too_large);
  CHECK(rejected[1].detail.find("KV") != std::string::npos);
  CHECK(rejected[2].query_id == 3);
  CHECK(rejected[2].reason == wc::engine_reject_code::too_large);
  CHECK(h.core.stats().duplicate_assignments == 1);
  CHECK(h.core.stats().accepted == 1);
  h.run_until_idle();
  CHECK(h.count<wc::query_completed>() == 1);
}

TEST_CASE("worker core: unknownWorker makes it register again and keeps its queries") {
  harness h;
  h.register_as(7, 1);
  h.deliver(assign(1, 300, 50'000));  // runs through the whole test
  h.deliver(assign(2, 300, 10));
  h.run_until_sent<wc::first_token>(2);
  REQUIRE(h.count<wc::first_token>() == 2);
  h.clear();

  // The control node restarted: it answers whatever we send with unknownWorker.
  h.deliver(wc::wire_error{wc::error_code::unknown_worker, "who are you"});
  CHECK_FALSE(h.core.registered());
  REQUIRE(h.sent.size() == 1);
  const auto reg = std::get<wc::register_worker>(h.sent[0]);
  CHECK(reg.worker_name == "w1");
  // Answers to our other in-flight messages do not trigger more registrations.
  h.deliver(wc::wire_error{wc::error_code::unknown_worker, "who are you"});
  CHECK(h.count<wc::register_worker>() == 1);

  // Unregistered: no heartbeats, the registration is retried, query 2 completes but is held.
  h.run_for(1'500'000);
  CHECK(h.count<wc::heartbeat>() == 0);
  CHECK(h.count<wc::register_worker>() == 2);
  CHECK(h.count<wc::query_completed>() == 0);
  CHECK(h.core.stats().completed == 1);  // it did finish in the engine

  h.clear();
  h.register_as(8, 2);
  CHECK(h.core.worker_id() == 8);
  CHECK(h.core.epoch() == 2);
  // First a heartbeat that lets the node re-adopt query 1, then what it missed.
  REQUIRE(h.sent.size() == 2);
  const auto hb = std::get<wc::heartbeat>(h.sent[0]);
  CHECK(hb.worker_id == 8);
  REQUIRE(hb.running.size() == 1);
  CHECK(hb.running[0].query_id == 1);
  CHECK(hb.running[0].generated_tokens > 1);
  const auto done = std::get<wc::query_completed>(h.sent[1]);
  CHECK(done.query_id == 2);
  CHECK(done.output_tokens == 10);
  // Its time is when it completed, not when it was finally sent.
  CHECK(done.at_micros < h.now);

  h.clear();
  h.run_for(300'000);
  CHECK(h.count<wc::heartbeat>() == 3);
}

TEST_CASE("worker core: other errors from the control plane are counted, never answered") {
  harness h;
  h.register_as(1, 1);
  h.clear();
  h.deliver(wc::wire_error{wc::error_code::malformed, "could not read your heartbeat"});
  CHECK(h.sent.empty());
  CHECK(h.core.registered());
  CHECK(h.core.stats().errors_received == 1);
}

TEST_CASE("worker core: members only a control plane receives are ignored") {
  // The shared message type can hold them; decode refuses them before they reach a worker.
  harness h;
  h.register_as(1, 1);
  h.clear();
  h.deliver(wc::heartbeat{7, h.now, 1, 2, {{5, 1}}, 0, {}});
  h.deliver(wc::query_completed{5, 10, h.now});
  h.deliver(wc::register_worker{"other", "llama2-70b", "a100-80gb", 4, 1000, 16});
  CHECK(h.sent.empty());
  CHECK(h.core.registered());
  CHECK(h.core.worker_id() == 1);
  CHECK(h.core.active_queries() == 0);
  CHECK(h.core.stats().errors_received == 0);
  CHECK_FALSE(h.core.finished());
}

TEST_CASE("worker core: shutdown finishes at once and later messages are ignored") {
  harness h;
  h.register_as(1, 1);
  h.deliver(assign(1, 300, 1000));
  h.deliver(wc::shutdown_worker{"scale down"});
  CHECK(h.core.finished());
  CHECK(h.core.why_finished() == exit_reason::shutdown);
  CHECK(h.core.next_wake() == never);
  h.clear();
  h.deliver(assign(2, 300, 10));
  h.run_for(5'000'000);
  CHECK(h.sent.empty());
}

TEST_CASE("worker core: a wall clock that steps back does not move engine time back") {
  harness h;
  h.register_as(1, 1);
  h.deliver(assign(1, 300, 50));
  h.run_for(500'000);
  const auto iterations = h.core.engine().iterations();
  h.core.advance(t0);  // NTP stepped the clock back
  h.core.handle(wc::assign_query{2, 300, 0, 10, t0}, t0);
  CHECK(h.core.engine().iterations() == iterations);
  CHECK(h.core.stats().accepted == 2);
  h.run_until_idle();
  CHECK(h.count<wc::query_completed>() == 2);
}

TEST_CASE("worker core: assignments before registration are served and reported after it") {
  harness h;
  h.deliver(assign(1, 300, 5));
  h.run_until_idle();
  CHECK(h.count<wc::first_token>() == 0);
  CHECK(h.count<wc::query_completed>() == 0);
  h.register_as(1, 1);
  CHECK(h.count<wc::first_token>() == 1);
  CHECK(h.count<wc::query_completed>() == 1);
}

TEST_CASE("worker core: bad options are refused") {
  auto o = options();
  o.time_scale = 0;
  CHECK_THROWS_AS(worker_core(o, truth(), t0), std::invalid_argument);
  o = options();
  o.heartbeat_interval = 0;
  CHECK_THROWS_AS(worker_core(o, truth(), t0), std::invalid_argument);
  o = options();
  o.identity.name.clear();
  CHECK_THROWS_AS(worker_core(o, truth(), t0), std::invalid_argument);
  o = options();
  o.engine.kv_capacity_tokens = 0;
  CHECK_THROWS_AS(worker_core(o, truth(), t0), std::invalid_argument);
}

TEST_CASE("worker core: registering unanswered is told after the silence warning, then at each repeat; an answer ends it") {
  auto o = options();
  o.silence_warning = 5'000'000;
  o.silence_repeat = 30'000'000;
  harness h(o);
  h.run_until(t0 + 4'999'999);
  CHECK_FALSE(h.core.silence_warning(h.now).has_value());
  CHECK(h.core.next_wake() <= t0 + 5'000'000);  // the process wakes up to tell it
  h.run_until(t0 + 5'000'000);
  auto told = h.core.silence_warning(h.now);
  REQUIRE(told.has_value());
  CHECK(*told == 5'000'000);
  CHECK_FALSE(h.core.silence_warning(h.now).has_value());  // once per warning
  CHECK(h.count<wc::register_worker>() == 6);  // still trying, every second
  h.run_until(t0 + 35'000'000);
  told = h.core.silence_warning(h.now);
  REQUIRE(told.has_value());
  CHECK(*told == 35'000'000);

  // A refusal is an answer: a node is there (the refusal's reason is what the process logs).
  h.deliver(wc::wire_error{wc::error_code::malformed, "worker runs at time scale 1 and this node at 10"});
  h.run_until(t0 + 40'000'000);
  CHECK_FALSE(h.core.silence_warning(h.now).has_value());
  h.register_as(3, 1);
  h.run_until(t0 + 200'000'000);
  CHECK_FALSE(h.core.silence_warning(h.now).has_value());
}

TEST_CASE("worker core: registerWorker carries the worker's time scale") {
  harness h(options(20));
  REQUIRE(h.count<wc::register_worker>() == 1);
  CHECK(h.all<wc::register_worker>()[0].time_scale == 20);
}
