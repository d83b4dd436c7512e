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
// survives a crash of the process but not of the machine; with `sync` on it also survives a
// crash of the machine (power loss, kernel panic): the log is fsynced before the call returns.
//
// Group commit (storage/group_commit.hpp): every call that writes appends its keys to one open
// WriteBatch under the store's lock and returns once that batch is written; concurrent callers
// share the batch, its log record and, with `sync`, its one fsync. A batched journal call
// (accept_all, ...) is one append, so an actor turn is at most one batch of its own.
//
// No read before a journal write: the unfinished entries (accepted or dispatched) are kept in
// memory, loaded once at open, so accept's duplicate check and the transitions of unfinished
// entries read nothing from disk. Only a call about an ended or unknown entry reads RocksDB (after
// the pending groups are written), which the node's hot path never does. Memory: one
// journal_entry per unfinished query, which the node bounds anyway (--max-waiting plus what runs).
//
// Compaction scans the journal with an iterator outside the store's lock, a step of keys at a
// time, and deletes in groups of its own, so journal writes go on while it runs.
//
// Query ids are reserved in blocks of `query_id_block`: the reservation is persisted before any
// id of the block is handed out, so ids never repeat across restarts, at the price of a gap of
// at most one block after each restart.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/state_store.hpp"

namespace aladdin {

struct rocksdb_store_options {
  std::filesystem::path path;
  bool sync = false;  // fsync each group: a crash of the machine loses nothing acknowledged
  std::uint64_t query_id_block = 1024;
  bool create_if_missing = true;
  // Journal keys compact_journal reads per step of its scan.
  std::size_t compaction_step = 4096;
  // Called between two steps of a compaction's scan, outside the lock (tests: to write while a
  // compaction runs). Empty: nothing.
  std::function<void()> between_compaction_steps;
  // Microseconds of a monotonic clock, read only to time group writes for journal_commit_stats
  // (no stored value depends on it). Empty: std::chrono::steady_clock.
  std::function<std::uint64_t()> monotonic_micros;
};

// What group commit has done since the store opened: how many groups, how many calls they
// carried, and the latency of each group's write (WAL append, plus the fsync with `sync`), as
// counts per bucket (a plain histogram an exporter can read: bucket i counts writes of at most
// bucket_bounds_micros[i] and more than the bound before it; the last bucket, everything above).
struct journal_commit_stats {
  static constexpr std::array<std::uint64_t, 12> bucket_bounds_micros = {
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000};
  std::uint64_t groups = 0;
  std::uint64_t calls = 0;
  std::uint64_t keys = 0;
  std::uint64_t write_micros_total = 0;
  std::uint64_t waiting_calls = 0;  // a gauge: calls in the open group, waiting for its write
  // Journal records read from disk by journal calls (a duplicate check or a transition of an
  // ended or unknown entry, get_query of one): 0 on the node's hot path.
  std::uint64_t journal_reads = 0;
  std::array<std::uint64_t, bucket_bounds_micros.size() + 1> buckets{};

  void record(std::uint64_t calls_in_group, std::uint64_t keys_in_group, std::uint64_t micros);
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

  // Group commit's counters and write latencies so far (safe from any thread).
  journal_commit_stats commit_stats() const;

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
