#pragma once
// The state store: everything the control plane must find again after a restart.
//
//   catalogue   model and GPU facts, and the fitted profile of each worker shape
//   registry    the workers of the fleet and their lifecycle state
//   plans       fleet plans by epoch; the epoch never goes backwards
//   journal     every accepted query until it ends, so none is lost across a restart
//   ids         query and worker ids, never reused, also across restarts
//
// Contract shared by every implementation (tests/storage/test_store_contract.cpp runs the same
// suite over each):
// - No call throws. Failures come back as a store_error whose code says what kind of failure it
//   is (not_found, stale_epoch, ... ) and whose message says what happened.
// - A call that returned success is durable to the implementation's promise (RocksDB: it
//   survives a crash of the process; with sync on, also of the machine). In particular accept()
//   returns only after the entry is durable: tell the client "accepted" after it, never before.
// - Several keys changed by one call change together or not at all.
// - Calls may come from several threads; each call is atomic with respect to the others.
// - The store never reads a clock: every time is passed in by the caller.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "model/hardware.hpp"
#include "model/latency_model.hpp"
#include "placement/types.hpp"
#include "schema/record_types.hpp"

namespace aladdin {

enum class store_errc : std::uint8_t {
  not_found,           // no such key
  stale_epoch,         // put_plan with an epoch ≤ the current one
  duplicate,           // accept of a query id already in the journal
  invalid_transition,  // a journal transition the lifecycle does not allow (e.g. finish twice)
  invalid_argument,    // a value the store refuses to hold (id 0, empty name, ...)
  corrupt,             // a stored value could not be decoded
  io,                  // the storage engine failed, or the store is closed
};
std::string_view to_string(store_errc code);

struct store_error {
  store_errc code = store_errc::io;
  std::string message;
};

// A value or a store_error. Accessing the wrong alternative is a programming error (it throws
// std::bad_variant_access); check ok() first.
template <class T>
class [[nodiscard]] store_result {
 public:
  store_result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  store_result(store_error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const store_error& error() const { return std::get<store_error>(v_); }
  // The code, or nullopt on success: lets a test write CHECK(r.code() == store_errc::...).
  std::optional<store_errc> code() const {
    return ok() ? std::nullopt : std::optional<store_errc>(error().code);
  }

 private:
  std::variant<T, store_error> v_;
};

template <>
class [[nodiscard]] store_result<void> {
 public:
  store_result() = default;
  store_result(store_error error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const store_error& error() const { return *error_; }
  std::optional<store_errc> code() const {
    return error_ ? std::optional<store_errc>(error_->code) : std::nullopt;
  }

 private:
  std::optional<store_error> error_;
};

using store_status = store_result<void>;

// Which ended (finished or failed) journal entries compact_journal removes. Unfinished entries
// are never removed. Both rules may be combined; the age rule applies first.
struct journal_compaction {
  // Remove entries that ended strictly before this time; 0 disables the rule.
  std::uint64_t ended_before_micros = 0;
  // Then keep only this many ended entries, the most recently accepted ones.
  std::optional<std::size_t> keep_last_ended;
};

class state_store {
 public:
  virtual ~state_store() = default;

  // ---- catalogue. Keyed by name (models, GPUs) or by shape (worker configs); put replaces.
  virtual store_status put_model(const model_spec& model) = 0;
  virtual store_result<model_spec> get_model(std::string_view name) const = 0;
  virtual store_result<std::vector<model_spec>> list_models() const = 0;  // by name

  virtual store_status put_gpu(const gpu_spec& gpu) = 0;
  virtual store_result<gpu_spec> get_gpu(std::string_view name) const = 0;
  virtual store_result<std::vector<gpu_spec>> list_gpus() const = 0;  // by name

  virtual store_status put_worker_config(const worker_profile& profile) = 0;
  virtual store_result<worker_profile> get_worker_config(const worker_config& shape) const = 0;
  // By model, then GPU, then TP.
  virtual store_result<std::vector<worker_profile>> list_worker_configs() const = 0;

  // ---- worker registry.
  // A fresh id, greater than every id allocated or stored before (also before a restart).
  virtual store_result<worker_id> allocate_worker_id() = 0;
  // Inserts or replaces the worker with this id (id 0 is invalid).
  virtual store_status upsert_worker(const worker_record& worker) = 0;
  virtual store_status set_worker_state(worker_id id, worker_state state) = 0;
  virtual store_result<worker_record> get_worker(worker_id id) const = 0;
  virtual store_result<std::vector<worker_record>> list_workers() const = 0;  // by id

  // ---- plans.
  // Stores a plan whose epoch is greater than the current one; stale_epoch otherwise, and the
  // store is unchanged.
  virtual store_status put_plan(const plan_record& plan) = 0;
  // The plan of the highest epoch; not_found before the first.
  virtual store_result<plan_record> current_plan() const = 0;
  virtual store_result<plan_record> get_plan(std::uint64_t epoch) const = 0;

  // ---- journal of accepted queries.
  // A fresh query id, greater than every id allocated or journaled before (also before a
  // restart). Ids may skip values after a restart; they never repeat.
  virtual store_result<query_id> next_query_id() = 0;
  // Journals a new query in state accepted (invalid_argument otherwise, or for id 0; duplicate
  // if the id is already journaled). The store assigns entry.accept_seq. Durable on success.
  virtual store_status accept(const journal_entry& entry) = 0;
  // accepted or dispatched → dispatched on `worker` (again after a worker loss).
  virtual store_status mark_dispatched(query_id id, worker_id worker) = 0;
  // dispatched → finished. Finishing twice is invalid_transition, so a duplicate completion
  // from a worker cannot end a query twice.
  virtual store_status mark_finished(query_id id, const finish_info& finish) = 0;
  // accepted or dispatched → failed.
  virtual store_status mark_failed(query_id id, const failure_info& failure) = 0;
  virtual store_result<journal_entry> get_query(query_id id) const = 0;
  // ---- the same journal calls in batches: the node's hot path journals every accepted query
  // two or three times, and one durable write per batch (one WAL record in RocksDB) instead of
  // one per call is what lets a node journal tens of thousands of queries per second. Each
  // element follows the rules of its single call, in order, and sees the effect of the
  // elements before it; the result holds one status per element. Elements that are refused
  // leave their entry unchanged; the others are written together, and if that write fails,
  // every one of them reports the failure. The defaults call the single versions one by one.
  virtual std::vector<store_status> accept_all(std::span<const journal_entry> entries);
  virtual std::vector<store_status> mark_dispatched_all(
      std::span<const std::pair<query_id, worker_id>> dispatches);
  virtual std::vector<store_status> mark_finished_all(
      std::span<const std::pair<query_id, finish_info>> finishes);

  // Every accepted or dispatched entry, in accept order: what a restarted control plane must
  // place again or wait for.
  virtual store_result<std::vector<journal_entry>> unfinished() const = 0;
  // Removes ended entries by `rule`; returns how many were removed.
  virtual store_result<std::size_t> compact_journal(const journal_compaction& rule) = 0;
};

}  // namespace aladdin
