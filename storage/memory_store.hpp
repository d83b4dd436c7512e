#pragma once
// An in-memory state_store for tests and for runs that need no persistence. Same contract as
// the RocksDB store (the contract suite runs over both), except durability: the data lives as
// long as its `contents`. Several memory_store objects may share one contents, one after the
// other, which is how tests "restart" it.

#include <memory>

#include "storage/state_store.hpp"

namespace aladdin {

class memory_store final : public state_store {
 public:
  struct contents;  // opaque; shared_ptr so a later store can pick it up
  static std::shared_ptr<contents> make_contents();

  // A fresh store, or one continuing `shared` (what a restart over the same data looks like).
  explicit memory_store(std::shared_ptr<contents> shared = make_contents());
  ~memory_store() override;

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
  store_result<journal_entry> get_query(query_id id) const override;
  store_result<std::vector<journal_entry>> unfinished() const override;
  store_result<std::size_t> compact_journal(const journal_compaction& rule) override;

 private:
  template <class F>
  store_status update_entry(query_id id, F&& transition);

  std::shared_ptr<contents> contents_;
};

}  // namespace aladdin
