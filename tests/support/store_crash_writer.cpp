// Child process of the crash test: opens a RocksDB store, writes a known history, then exits
// with std::_Exit — no destructors, no close(), no log sync — as a killed process would. What
// the parent finds on reopen is what the write-ahead log alone carried.
//
//   aladdin_store_crash_writer <path> <queries>
//
// History: plan epoch 7; one worker (the first allocated id); <queries> queries with the first
// allocated ids, accepted in order, every odd one dispatched to the worker; then one more query
// id allocated and never used. Exit code 0 after the history, 2 on any store error.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "storage/rocksdb_store.hpp"

namespace {

[[noreturn]] void die(const char* what, const aladdin::store_error& e) {
  std::fprintf(stderr, "crash_writer: %s: %s\n", what, e.message.c_str());
  std::_Exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace aladdin;
  if (argc != 3) {
    std::fprintf(stderr, "usage: aladdin_store_crash_writer <path> <queries>\n");
    return 2;
  }
  const int queries = std::atoi(argv[2]);

  rocksdb_store_options options;
  options.path = argv[1];
  options.query_id_block = 8;  // several reservations within the history
  auto opened = rocksdb_store::open(options);
  if (!opened) die("open", opened.error());
  // Deliberately leaked: destroying it would close the store cleanly.
  auto* store = std::move(opened).value().release();

  plan_record plan;
  plan.epoch = 7;
  plan.targets = {{{"llama2-70b", "a100-80gb", 4}, 3}};
  plan.predicted_gpus = 12;
  if (auto s = store->put_plan(plan); !s) die("put_plan", s.error());

  auto worker = store->allocate_worker_id();
  if (!worker) die("allocate_worker_id", worker.error());
  worker_record w;
  w.id = worker.value();
  w.name = "gpu-node-1";
  w.shape = {"llama2-70b", "a100-80gb", 4};
  w.state = worker_state::active;
  if (auto s = store->upsert_worker(w); !s) die("upsert_worker", s.error());

  for (int i = 0; i < queries; ++i) {
    auto id = store->next_query_id();
    if (!id) die("next_query_id", id.error());
    journal_entry e;
    e.id = id.value();
    e.client_id = "client-a";
    e.client_query_id = static_cast<std::uint64_t>(i);
    e.model = "llama2-70b";
    e.prompt_tokens = 100u + static_cast<std::uint32_t>(i);
    e.accepted_micros = 1000u * static_cast<std::uint64_t>(i);
    if (auto s = store->accept(e); !s) die("accept", s.error());
    if (i % 2 == 1) {
      if (auto s = store->mark_dispatched(e.id, w.id); !s) die("mark_dispatched", s.error());
    }
  }
  if (auto unused = store->next_query_id(); !unused) die("next_query_id", unused.error());

  std::_Exit(0);
}
