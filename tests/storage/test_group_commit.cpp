// Group commit and compaction of the RocksDB store: concurrent calls share one group (one
// WriteBatch, one log write), the node's hot path reads nothing from disk, everything
// acknowledged is there after a restart, and compaction lets journal writes through while it
// scans.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "store_fixtures.hpp"

namespace aladdin::test {
namespace {

std::unique_ptr<rocksdb_store> open_with(rocksdb_store_options options) {
  auto opened = rocksdb_store::open(options);
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
  return std::move(opened).value();
}

constexpr auto generous = std::chrono::seconds(20);

// Polls until `condition` holds or `timeout` passes (tests/support/node_fixtures.hpp has the
// same for the node tests, but its temp_dir clashes with the store fixtures').
bool eventually(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST_CASE("group commit: calls made while a group is being written share the next group") {
  temp_dir dir;
  // The clock that times group writes is read by the writer just before its write, outside the
  // lock: holding it there keeps the first group in flight while two more calls come in.
  std::atomic<bool> hold{false};
  std::atomic<bool> held{false};
  std::atomic<bool> release{false};
  rocksdb_store_options options;
  options.path = dir.path() / "db";
  options.monotonic_micros = [&]() -> std::uint64_t {
    if (hold.exchange(false)) {
      held = true;
      const bool released = eventually([&] { return release.load(); }, generous);
      CHECK(released);
    }
    return 0;
  };
  auto store = open_with(options);
  const auto q1 = store->next_query_id().value(), q2 = store->next_query_id().value(),
             q3 = store->next_query_id().value();
  const journal_commit_stats before = store->commit_stats();

  hold = true;
  auto first = std::async(std::launch::async, [&] { return store->accept(sample_entry(q1)).ok(); });
  REQUIRE(eventually([&] { return held.load(); }, generous));
  // In id order, as the intake accepts (an id below one journaled already would make the call
  // check the disk for a duplicate, and wait for the pending groups first).
  auto second = std::async(std::launch::async, [&] { return store->accept(sample_entry(q2)).ok(); });
  CHECK(eventually([&] { return store->commit_stats().waiting_calls == 1; }, generous));
  auto third = std::async(std::launch::async, [&] { return store->accept(sample_entry(q3)).ok(); });
  CHECK(eventually([&] { return store->commit_stats().waiting_calls == 2; }, generous));
  release = true;
  CHECK(first.get());
  CHECK(second.get());
  CHECK(third.get());

  const journal_commit_stats after = store->commit_stats();
  CHECK(after.calls - before.calls == 3);
  CHECK(after.groups - before.groups == 2);  // the first call's group, then one for the other two
  CHECK(after.waiting_calls == 0);
  CHECK(after.journal_reads == 0);
  std::uint64_t bucketed = 0;
  for (const auto b : after.buckets) bucketed += b;
  CHECK(bucketed == after.groups);

  store.reset();
  options.monotonic_micros = nullptr;
  store = open_with(options);
  auto open = store->unfinished();
  REQUIRE(open.ok());
  CHECK(open.value().size() == 3);
}

TEST_CASE("group commit: concurrent intake, dispatch and finish read nothing from disk and all survive a restart") {
  temp_dir dir;
  rocksdb_store_options options;
  options.path = dir.path() / "db";
  options.query_id_block = 16;
  auto store = open_with(options);
  // The node's shape: one intake allocates ids and accepts batches in order; several worker
  // proxies dispatch and finish them concurrently.
  constexpr int threads = 4, rounds = 50, per_batch = 8;
  std::mutex m;
  std::condition_variable ready;
  std::vector<std::vector<std::vector<journal_entry>>> inbox(threads);
  bool intake_done = false;
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int r = 0;; ++r) {
        std::vector<journal_entry> entries;
        {
          std::unique_lock lock(m);
          ready.wait(lock, [&] { return !inbox[t].empty() || intake_done; });
          if (inbox[t].empty()) return;
          entries = std::move(inbox[t].front());
          inbox[t].erase(inbox[t].begin());
        }
        std::vector<std::pair<query_id, worker_id>> dispatches;
        std::vector<std::pair<query_id, finish_info>> finishes;
        for (const auto& e : entries) {
          dispatches.emplace_back(e.id, worker_id{static_cast<std::uint32_t>(t + 1)});
          finishes.emplace_back(e.id, finish_info{7, 10, 20, 30});
        }
        for (const auto& s : store->mark_dispatched_all(dispatches)) failures += s ? 0 : 1;
        // Half the queries finish, the other half stay dispatched.
        if (r % 2 == 0)
          for (const auto& s : store->mark_finished_all(finishes)) failures += s ? 0 : 1;
      }
    });
  }
  for (int r = 0; r < rounds * threads; ++r) {
    std::vector<journal_entry> entries;
    for (int i = 0; i < per_batch; ++i) entries.push_back(sample_entry(store->next_query_id().value(), 1));
    for (const auto& s : store->accept_all(entries)) failures += s ? 0 : 1;
    std::lock_guard lock(m);
    inbox[static_cast<std::size_t>(r % threads)].push_back(std::move(entries));
    ready.notify_all();
  }
  {
    std::lock_guard lock(m);
    intake_done = true;
    ready.notify_all();
  }
  for (auto& th : pool) th.join();
  CHECK(failures == 0);
  const journal_commit_stats stats = store->commit_stats();
  CHECK(stats.journal_reads == 0);  // no read before any of these writes
  CHECK(stats.groups <= stats.calls);

  // A duplicate completion is refused, and that (off the hot path) is what reads the disk.
  auto ended = store->get_query(query_id{1});
  REQUIRE(ended.ok());
  REQUIRE(ended.value().state == journal_state::finished);
  CHECK(store->mark_finished(query_id{1}, {1, 1, 1, 1}).code() == store_errc::invalid_transition);
  CHECK(store->commit_stats().journal_reads >= 1);
  CHECK(store->accept(sample_entry(query_id{1})).code() == store_errc::duplicate);

  store.reset();
  store = open_with(options);
  auto open = store->unfinished();
  REQUIRE(open.ok());
  CHECK(open.value().size() == static_cast<std::size_t>(threads * rounds / 2 * per_batch));
  for (const auto& e : open.value()) CHECK(e.state == journal_state::dispatched);
  std::size_t finished = 0;
  for (std::uint64_t id = 1; id <= static_cast<std::uint64_t>(threads * rounds * per_batch) + 64; ++id) {
    auto e = store->get_query(query_id{id});
    if (e.ok() && e.value().state == journal_state::finished) {
      ++finished;
      CHECK(e.value().finish.output_tokens == 7);
    }
  }
  CHECK(finished == static_cast<std::size_t>(threads * rounds / 2 * per_batch));
}

TEST_CASE("compaction: journal writes go on while it scans, and what changed meanwhile waits for the next one") {
  temp_dir dir;
  std::function<void()> during;
  rocksdb_store_options options;
  options.path = dir.path() / "db";
  options.compaction_step = 2;  // several steps over eight entries
  options.between_compaction_steps = [&] {
    if (during) std::exchange(during, nullptr)();
  };
  auto store = open_with(options);
  std::vector<query_id> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(store->next_query_id().value());
    REQUIRE(store->accept(sample_entry(ids.back())).ok());
    REQUIRE(store->mark_dispatched(ids.back(), worker_id{1}).ok());
    if (i < 6) REQUIRE(store->mark_finished(ids.back(), {1, 100, 1, 1}).ok());  // 6 and 7 stay dispatched
  }
  query_id late;
  during = [&] {
    // On another thread, with a generous timeout: if the scan held the store's lock, these
    // calls could not finish before it does.
    auto writes = std::async(std::launch::async, [&] {
      late = store->next_query_id().value();
      return store->accept(sample_entry(late)).ok() && store->mark_dispatched(late, worker_id{1}).ok() &&
             store->mark_finished(late, {1, 100, 1, 1}).ok() && store->mark_finished(ids[6], {1, 100, 1, 1}).ok();
    });
    REQUIRE(writes.wait_for(generous) == std::future_status::ready);
    CHECK(writes.get());
  };
  auto removed = store->compact_journal({1000, std::nullopt});
  REQUIRE(removed.ok());
  CHECK(during == nullptr);  // the hook ran
  CHECK(removed.value() == 6);
  for (int i = 0; i < 6; ++i) CHECK(store->get_query(ids[i]).code() == store_errc::not_found);
  // Ended during the scan (after its snapshot): still there, and gone with the next compaction.
  CHECK(store->get_query(ids[6]).ok());
  CHECK(store->get_query(late).ok());
  auto again = store->compact_journal({1000, std::nullopt});
  REQUIRE(again.ok());
  CHECK(again.value() == 2);
  CHECK(store->get_query(ids[6]).code() == store_errc::not_found);
  CHECK(store->get_query(late).code() == store_errc::not_found);
  auto open = store->unfinished();
  REQUIRE(open.ok());
  REQUIRE(open.value().size() == 1);
  CHECK(open.value().front().id == ids[7]);
}

}  // namespace
}  // namespace aladdin::test
