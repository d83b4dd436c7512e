#include "storage/store_rules.hpp"

#include <algorithm>
#include <limits>
#include <string>

namespace aladdin {

std::string_view to_string(store_errc code) {
  switch (code) {
    case store_errc::not_found: return "not_found";
    case store_errc::stale_epoch: return "stale_epoch";
    case store_errc::duplicate: return "duplicate";
    case store_errc::invalid_transition: return "invalid_transition";
    case store_errc::invalid_argument: return "invalid_argument";
    case store_errc::corrupt: return "corrupt";
    case store_errc::io: return "io";
  }
  return "unknown";
}

namespace store_rules {

namespace {

std::string query_name(query_id id) { return "query " + std::to_string(id.value); }

store_status transition_error(const journal_entry& entry, std::string_view to) {
  return error(store_errc::invalid_transition, query_name(entry.id) + ": cannot go from " +
                                                   std::string(to_string(entry.state)) + " to " +
                                                   std::string(to));
}

}  // namespace

store_error error(store_errc code, std::string message) { return {code, std::move(message)}; }

store_status check_name(std::string_view what, std::string_view name) {
  if (name.empty()) return error(store_errc::invalid_argument, std::string(what) + " name is empty");
  if (name.find('\0') != std::string_view::npos) {
    return error(store_errc::invalid_argument, std::string(what) + " name contains a NUL byte");
  }
  return {};
}

store_status check_shape(const worker_config& shape) {
  if (auto s = check_name("model", shape.model); !s) return s;
  if (auto s = check_name("gpu", shape.gpu); !s) return s;
  if (shape.tp < 1 || shape.tp > std::numeric_limits<std::uint16_t>::max()) {
    return error(store_errc::invalid_argument, "tp " + std::to_string(shape.tp) + " out of range");
  }
  return {};
}

store_status check_worker(const worker_record& worker) {
  // 0 means "none"; the largest id is kept free so that "next id" never wraps around.
  if (worker.id.value == 0 || worker.id.value == std::numeric_limits<std::uint32_t>::max()) {
    return error(store_errc::invalid_argument,
                 "worker id " + std::to_string(worker.id.value) + " is reserved");
  }
  return check_shape(worker.shape);
}

store_status check_new_entry(const journal_entry& entry) {
  if (entry.id.value == 0 || entry.id.value == std::numeric_limits<std::uint64_t>::max()) {
    return error(store_errc::invalid_argument,
                 "query id " + std::to_string(entry.id.value) + " is reserved");
  }
  if (entry.state != journal_state::accepted) {
    return error(store_errc::invalid_argument,
                 query_name(entry.id) + ": a new journal entry must be accepted, not " +
                     std::string(to_string(entry.state)));
  }
  return {};
}

store_status check_worker_ids_left(std::uint32_t next) {
  if (next == std::numeric_limits<std::uint32_t>::max()) {
    return error(store_errc::invalid_argument, "worker ids are exhausted");
  }
  return {};
}

store_status dispatch(journal_entry& entry, worker_id worker) {
  if (worker.value == 0) return error(store_errc::invalid_argument, "worker id 0 is reserved");
  if (entry.ended()) return transition_error(entry, "dispatched");
  entry.state = journal_state::dispatched;
  entry.worker = worker;
  return {};
}

store_status finish(journal_entry& entry, const finish_info& finish) {
  // A query finishes on a worker; an accepted one has not been sent anywhere yet.
  if (entry.state != journal_state::dispatched) return transition_error(entry, "finished");
  entry.state = journal_state::finished;
  entry.finish = finish;
  return {};
}

store_status fail(journal_entry& entry, const failure_info& failure) {
  if (entry.ended()) return transition_error(entry, "failed");
  entry.state = journal_state::failed;
  entry.failure = failure;
  return {};
}

std::uint64_t ended_micros(const journal_entry& entry) {
  return entry.state == journal_state::finished ? entry.finish.finished_micros
                                                : entry.failure.failed_micros;
}

std::vector<query_id> compaction_victims(std::vector<ended_entry> ended,
                                         const journal_compaction& rule) {
  std::vector<query_id> victims;
  if (rule.ended_before_micros != 0) {
    auto old = std::stable_partition(ended.begin(), ended.end(), [&](const ended_entry& e) {
      return e.ended_micros >= rule.ended_before_micros;
    });
    for (auto it = old; it != ended.end(); ++it) victims.push_back(it->id);
    ended.erase(old, ended.end());
  }
  if (rule.keep_last_ended && ended.size() > *rule.keep_last_ended) {
    std::sort(ended.begin(), ended.end(), [](const ended_entry& a, const ended_entry& b) {
      return a.accept_seq < b.accept_seq;
    });
    const std::size_t drop = ended.size() - *rule.keep_last_ended;
    for (std::size_t i = 0; i < drop; ++i) victims.push_back(ended[i].id);
  }
  std::sort(victims.begin(), victims.end());
  return victims;
}

}  // namespace store_rules
// ---- batched journal calls: the one-by-one defaults ---------------------------------------------

std::vector<store_status> state_store::accept_all(std::span<const journal_entry> entries) {
  std::vector<store_status> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(accept(e));
  return out;
}

std::vector<store_status> state_store::mark_dispatched_all(
    std::span<const std::pair<query_id, worker_id>> dispatches) {
  std::vector<store_status> out;
  out.reserve(dispatches.size());
  for (const auto& [id, worker] : dispatches) out.push_back(mark_dispatched(id, worker));
  return out;
}

std::vector<store_status> state_store::mark_finished_all(
    std::span<const std::pair<query_id, finish_info>> finishes) {
  std::vector<store_status> out;
  out.reserve(finishes.size());
  for (const auto& [id, finish] : finishes) out.push_back(mark_finished(id, finish));
  return out;
}

}  // namespace aladdin
