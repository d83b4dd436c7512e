#pragma once
// The rules every state_store implementation applies the same way: what a valid value is, which
// journal transitions are allowed, which ended entries a compaction removes. Kept in one place
// so that the in-memory store used by tests cannot drift from the RocksDB one.

#include <cstdint>
#include <string_view>
#include <vector>

#include "storage/state_store.hpp"

namespace aladdin::store_rules {

store_error error(store_errc code, std::string message);

// Names are keys: non-empty and without NUL (a NUL would let two shapes share a key).
store_status check_name(std::string_view what, std::string_view name);
store_status check_shape(const worker_config& shape);
store_status check_worker(const worker_record& worker);
store_status check_new_entry(const journal_entry& entry);
// Whether another worker id can be allocated after `next` (the largest id stays reserved).
store_status check_worker_ids_left(std::uint32_t next);

// In-place journal transitions; on error the entry is unchanged.
store_status dispatch(journal_entry& entry, worker_id worker);
store_status finish(journal_entry& entry, const finish_info& finish);
store_status fail(journal_entry& entry, const failure_info& failure);

// When an ended entry ended (finish or failure time).
std::uint64_t ended_micros(const journal_entry& entry);

struct ended_entry {
  query_id id;
  std::uint64_t accept_seq = 0;
  std::uint64_t ended_micros = 0;
};
// The ids `rule` removes from `ended` (any order in, ascending id order out).
std::vector<query_id> compaction_victims(std::vector<ended_entry> ended,
                                         const journal_compaction& rule);

}  // namespace aladdin::store_rules
