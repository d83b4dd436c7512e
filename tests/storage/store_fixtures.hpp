#pragma once
// Fixtures for the state-store contract suite: one per implementation, each able to "restart"
// its store over the same data, plus sample values.

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include <unistd.h>

#include "storage/memory_store.hpp"
#include "storage/rocksdb_store.hpp"

namespace aladdin::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<unsigned> counter{0};
    const auto base = std::filesystem::temp_directory_path();
    for (;;) {
      path_ = base / ("aladdin-store-" + std::to_string(::getpid()) + "-" +
                      std::to_string(counter.fetch_add(1)));
      std::error_code ec;
      if (std::filesystem::create_directory(path_, ec)) break;  // false: it existed, try again
      REQUIRE_MESSAGE(!ec, "cannot create a temp dir: " << ec.message());
    }
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct memory_fixture {
  std::shared_ptr<memory_store::contents> contents = memory_store::make_contents();
  std::unique_ptr<state_store> store = std::make_unique<memory_store>(contents);

  void reopen() {
    store.reset();
    store = std::make_unique<memory_store>(contents);
  }
};

struct rocksdb_fixture {
  temp_dir dir;  // declared first: outlives the store
  std::unique_ptr<state_store> store;

  rocksdb_fixture() { open(); }
  // A clean close (the destructor) and a fresh open of the same directory.
  void reopen() {
    store.reset();
    open();
  }
  void open() {
    rocksdb_store_options options;
    options.path = dir.path() / "db";
    options.query_id_block = 4;  // small, so tests cross reservations
    auto opened = rocksdb_store::open(options);
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    store = std::move(opened).value();
  }
};

inline worker_config sample_shape(int tp = 4) { return {"llama2-70b", "a100-80gb", tp}; }

inline worker_profile sample_profile(int tp = 4) {
  worker_profile p;
  p.config = sample_shape(tp);
  p.prefill = {1.5e-4, 2.0e-9, 3.0e-3, 0.021};
  p.decode = {1.1e-6, 2.5e-4, 0.019};
  p.kv = {327680.0, 123456.5};
  p.source = "test fit";
  return p;
}

inline worker_record sample_worker(std::uint32_t id, std::string name) {
  worker_record w;
  w.id = worker_id{id};
  w.name = std::move(name);
  w.shape = sample_shape();
  w.endpoint = "tcp://10.0.0." + std::to_string(id) + ":5555";
  w.state = worker_state::starting;
  w.registered_epoch = 3;
  return w;
}

inline plan_record sample_plan(std::uint64_t epoch) {
  plan_record p;
  p.epoch = epoch;
  p.created_micros = 1'000'000 * epoch;
  p.targets = {{sample_shape(4), 3}, {sample_shape(8), 1}};
  p.predicted_gpus = 20;
  p.note = "epoch " + std::to_string(epoch);
  return p;
}

inline journal_entry sample_entry(query_id id, std::uint64_t accepted_micros = 0) {
  journal_entry e;
  e.id = id;
  e.client_id = "client-a";
  e.client_query_id = 1000 + id.value;
  e.model = "llama2-70b";
  e.prompt_tokens = 512;
  e.max_output_tokens = 0;
  e.ttft_slo_micros = 2'000'000;
  e.atgt_slo_micros = 100'000;
  e.accepted_micros = accepted_micros;
  return e;
}

}  // namespace aladdin::test

TYPE_TO_STRING_AS("memory", aladdin::test::memory_fixture);
TYPE_TO_STRING_AS("rocksdb", aladdin::test::rocksdb_fixture);

// Every store the contract suites (test_store_contract.cpp, test_store_batches.cpp) run over:
// a new state_store implementation adds its fixture here and is held to the whole contract.
#define STORE_FIXTURES memory_fixture, rocksdb_fixture
