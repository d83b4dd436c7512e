#include "storage/memory_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "storage/store_rules.hpp"

namespace aladdin {

using store_rules::error;

struct memory_store::contents {
  using shape_key = std::tuple<std::string, std::string, int>;

  mutable std::mutex mutex;
  std::map<std::string, model_spec, std::less<>> models;
  std::map<std::string, gpu_spec, std::less<>> gpus;
  std::map<shape_key, worker_profile> configs;
  std::map<std::uint32_t, worker_record> workers;
  std::map<std::uint64_t, plan_record> plans;
  std::map<std::uint64_t, journal_entry> journal;
  std::uint32_t next_worker = 1;
  std::uint64_t next_query = 1;
  std::uint64_t next_accept_seq = 1;
};

namespace {

memory_store::contents::shape_key key_of(const worker_config& c) { return {c.model, c.gpu, c.tp}; }

template <class Map>
auto values_of(const Map& map) {
  std::vector<typename Map::mapped_type> out;
  out.reserve(map.size());
  for (const auto& [key, value] : map) out.push_back(value);
  return out;
}

store_error missing(std::string what) { return error(store_errc::not_found, std::move(what)); }

}  // namespace

std::shared_ptr<memory_store::contents> memory_store::make_contents() {
  return std::make_shared<contents>();
}

memory_store::memory_store(std::shared_ptr<contents> shared) : contents_(std::move(shared)) {
  if (!contents_) contents_ = make_contents();
}

memory_store::~memory_store() = default;

// ---- catalogue

store_status memory_store::put_model(const model_spec& model) {
  if (auto s = store_rules::check_name("model", model.name); !s) return s;
  std::lock_guard lock(contents_->mutex);
  contents_->models[model.name] = model;
  return {};
}

store_result<model_spec> memory_store::get_model(std::string_view name) const {
  std::lock_guard lock(contents_->mutex);
  auto it = contents_->models.find(name);
  if (it == contents_->models.end()) return missing("model " + std::string(name));
  return it->second;
}

store_result<std::vector<model_spec>> memory_store::list_models() const {
  std::lock_guard lock(contents_->mutex);
  return values_of(contents_->models);
}

store_status memory_store::put_gpu(const gpu_spec& gpu) {
  if (auto s = store_rules::check_name("gpu", gpu.name); !s) return s;
  std::lock_guard lock(contents_->mutex);
  contents_->gpus[gpu.name] = gpu;
  return {};
}

store_result<gpu_spec> memory_store::get_gpu(std::string_view name) const {
  std::lock_guard lock(contents_->mutex);
  auto it = contents_->gpus.find(name);
  if (it == contents_->gpus.end()) return missing("gpu " + std::string(name));
  return it->second;
}

store_result<std::vector<gpu_spec>> memory_store::list_gpus() const {
  std::lock_guard lock(contents_->mutex);
  return values_of(contents_->gpus);
}

store_status memory_store::put_worker_config(const worker_profile& profile) {
  if (auto s = store_rules::check_shape(profile.config); !s) return s;
  std::lock_guard lock(contents_->mutex);
  contents_->configs[key_of(profile.config)] = profile;
  return {};
}

store_result<worker_profile> memory_store::get_worker_config(const worker_config& shape) const {
  std::lock_guard lock(contents_->mutex);
  auto it = contents_->configs.find(key_of(shape));
  if (it == contents_->configs.end()) return missing("worker config " + shape.label());
  return it->second;
}

store_result<std::vector<worker_profile>> memory_store::list_worker_configs() const {
  std::lock_guard lock(contents_->mutex);
  return values_of(contents_->configs);
}

// ---- registry

store_result<worker_id> memory_store::allocate_worker_id() {
  std::lock_guard lock(contents_->mutex);
  if (auto s = store_rules::check_worker_ids_left(contents_->next_worker); !s) return s.error();
  return worker_id{contents_->next_worker++};
}

store_status memory_store::upsert_worker(const worker_record& worker) {
  if (auto s = store_rules::check_worker(worker); !s) return s;
  std::lock_guard lock(contents_->mutex);
  contents_->workers[worker.id.value] = worker;
  // An id stored without being allocated here must still never be handed out again.
  contents_->next_worker = std::max(contents_->next_worker, worker.id.value + 1);
  return {};
}

store_status memory_store::set_worker_state(worker_id id, worker_state state) {
  std::lock_guard lock(contents_->mutex);
  auto it = contents_->workers.find(id.value);
  if (it == contents_->workers.end()) return missing("worker " + std::to_string(id.value));
  it->second.state = state;
  return {};
}

store_result<worker_record> memory_store::get_worker(worker_id id) const {
  std::lock_guard lock(contents_->mutex);
  auto it = contents_->workers.find(id.value);
  if (it == contents_->workers.end()) return missing("worker " + std::to_string(id.value));
  return it->second;
}

store_result<std::vector<worker_record>> memory_store::list_workers() const {
  std::lock_guard lock(contents_->mutex);
  return values_of(contents_->workers);
}

// ---- plans

store_status memory_store::put_plan(const plan_record& plan) {
  std::lock_guard lock(contents_->mutex);
  const std::uint64_t current =
      contents_->plans.empty() ? 0 : contents_->plans.rbegin()->first;
  if (plan.epoch <= current) {
    return error(store_errc::stale_epoch, "plan epoch " + std::to_string(plan.epoch) +
                                              " is not after the current epoch " +
                                              std::to_string(current));
  }
  contents_->plans[plan.epoch] = plan;
  return {};
}

store_result<plan_record> memory_store::current_plan() const {
  std::lock_guard lock(contents_->mutex);
  if (contents_->plans.empty()) return missing("no plan yet");
  return contents_->plans.rbegin()->second;
}

store_result<plan_record> memory_store::get_plan(std::uint64_t epoch) const {
  std::lock_guard lock(contents_->mutex);
  auto it = contents_->plans.find(epoch);
  if (it == contents_->plans.end()) return missing("plan of epoch " + std::to_string(epoch));
  return it->second;
}

// ---- journal

store_result<query_id> memory_store::next_query_id() {
  std::lock_guard lock(contents_->mutex);
  return query_id{contents_->next_query++};
}

store_status memory_store::accept(const journal_entry& entry) {
  if (auto s = store_rules::check_new_entry(entry); !s) return s;
  std::lock_guard lock(contents_->mutex);
  if (contents_->journal.contains(entry.id.value)) {
    return error(store_errc::duplicate, "query " + std::to_string(entry.id.value) +
                                            " is already journaled");
  }
  journal_entry stored = entry;
  stored.accept_seq = contents_->next_accept_seq++;
  contents_->journal.emplace(entry.id.value, std::move(stored));
  contents_->next_query = std::max(contents_->next_query, entry.id.value + 1);
  return {};
}

template <class F>
store_status memory_store::update_entry(query_id id, F&& transition) {
  std::lock_guard lock(contents_->mutex);
  auto it = contents_->journal.find(id.value);
  if (it == contents_->journal.end()) return missing("query " + std::to_string(id.value));
  journal_entry updated = it->second;
  if (auto s = transition(updated); !s) return s;
  it->second = std::move(updated);
  return {};
}

store_status memory_store::mark_dispatched(query_id id, worker_id worker) {
  return update_entry(id, [&](journal_entry& e) { return store_rules::dispatch(e, worker); });
}

store_status memory_store::mark_finished(query_id id, const finish_info& finish) {
  return update_entry(id, [&](journal_entry& e) { return store_rules::finish(e, finish); });
}

store_status memory_store::mark_failed(query_id id, const failure_info& failure) {
  return update_entry(id, [&](journal_entry& e) { return store_rules::fail(e, failure); });
}

store_result<journal_entry> memory_store::get_query(query_id id) const {
  std::lock_guard lock(contents_->mutex);
  auto it = contents_->journal.find(id.value);
  if (it == contents_->journal.end()) return missing("query " + std::to_string(id.value));
  return it->second;
}

store_result<std::vector<journal_entry>> memory_store::unfinished() const {
  std::vector<journal_entry> out;
  {
    std::lock_guard lock(contents_->mutex);
    for (const auto& [id, entry] : contents_->journal) {
      if (!entry.ended()) out.push_back(entry);
    }
  }
  std::sort(out.begin(), out.end(), [](const journal_entry& a, const journal_entry& b) {
    return a.accept_seq < b.accept_seq;
  });
  return out;
}

store_result<std::size_t> memory_store::compact_journal(const journal_compaction& rule) {
  std::lock_guard lock(contents_->mutex);
  std::vector<store_rules::ended_entry> ended;
  for (const auto& [id, entry] : contents_->journal) {
    if (entry.ended()) ended.push_back({entry.id, entry.accept_seq, store_rules::ended_micros(entry)});
  }
  const auto victims = store_rules::compaction_victims(std::move(ended), rule);
  for (const auto id : victims) contents_->journal.erase(id.value);
  return victims.size();
}

}  // namespace aladdin
