#pragma once
// The state store on RocksDB: one column family per kind of record, values are Cap'n Proto
// records (records.capnp), keys of numbered things are big-endian ids so that iteration order is
// id order.
//
//   meta     format version, id counters, last accept sequence
//   models   name → ModelRecord            gpus   name → GpuRecord
//   configs  model \0 gpu \0 tp → WorkerConfigRecord
//   workers  id → WorkerRecord             plans  epoch → PlanRecord
//   journal  query id → JournalRecord
//
// Durability: the write-ahead log is always on. With `sync` off (the default) a successful call
// survives a crash of the process but not of the machine; with `sync` on every write is fsynced
// (about 70 times slower on the reference VM). Where a call changes several keys it writes
// them in one WriteBatch, and the batched journal calls (accept_all, ...) write a whole batch in
// one WriteBatch too.
//
// Query ids are reserved in blocks of `query_id_block`: the reservation is persisted before any
// id of the block is handed out, so ids never repeat across restarts, at the price of a gap of
// at most one block after each restart.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/state_store.hpp"

namespace aladdin {

struct rocksdb_store_options {
  std::filesystem::path path;
  bool sync = false;
  std::uint64_t query_id_block = 1024;
  bool create_if_missing = true;
};

class rocksdb_store final : public state_store {
 public:
  // Opens (or creates) the store at options.path. Opens every column family already in the
  // database, including ones a newer build added, since RocksDB refuses to open otherwise.
  static store_result<std::unique_ptr<rocksdb_store>> open(const rocksdb_store_options& options);

  // The column families this build uses.
  static const std::vector<std::string>& column_family_names();

  // Closes cleanly if close() was not called.
  ~rocksdb_store() override;
  rocksdb_store(const rocksdb_store&) = delete;
  rocksdb_store& operator=(const rocksdb_store&) = delete;

  // Syncs the log and releases the database. Idempotent. Must not race other calls; after it,
  // every call returns an io error.
  store_status close();

  store_status put_model(const model_spec& model) override;
  store_result<model_spec> get_model(std::string_view name) const override;
  store_result<std::vector<model_spec>> list_models() const override;
  store_status put_gpu(const gpu_spec& gpu) override;
  store_result<gpu_spec> get_gpu(std::string_view name) const override;
  store_result<std::vector<gpu_spec>> list_gpus() const override;
  store_status put_worker_config(const worker_profile& profile) override;
  store_result<worker_profile> get_worker_config(const worker_config& shape) const override;
  store_result<std::vector<worker_profile>> list_worker_configs() const override;

  store_result<worker_id> allocate_worker_id() override;
  store_status upsert_worker(const worker_record& worker) override;
  store_status set_worker_state(worker_id id, worker_state state) override;
  store_result<worker_record> get_worker(worker_id id) const override;
  store_result<std::vector<worker_record>> list_workers() const override;

  store_status put_plan(const plan_record& plan) override;
  store_result<plan_record> current_plan() const override;
  store_result<plan_record> get_plan(std::uint64_t epoch) const override;

  store_result<query_id> next_query_id() override;
  store_status accept(const journal_entry& entry) override;
  store_status mark_dispatched(query_id id, worker_id worker) override;
  store_status mark_finished(query_id id, const finish_info& finish) override;
  store_status mark_failed(query_id id, const failure_info& failure) override;
  std::vector<store_status> accept_all(std::span<const journal_entry> entries) override;
  std::vector<store_status> mark_dispatched_all(
      std::span<const std::pair<query_id, worker_id>> dispatches) override;
  std::vector<store_status> mark_finished_all(
      std::span<const std::pair<query_id, finish_info>> finishes) override;
  store_result<journal_entry> get_query(query_id id) const override;
  store_result<std::vector<journal_entry>> unfinished() const override;
  store_result<std::size_t> compact_journal(const journal_compaction& rule) override;

 private:
  struct impl;  // keeps RocksDB's headers (about a second per translation unit) out of users
  explicit rocksdb_store(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace aladdin
