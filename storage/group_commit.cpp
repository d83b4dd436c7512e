#include "storage/group_commit.hpp"

#include <utility>

#include "storage/store_rules.hpp"

namespace aladdin {

void journal_commit_stats::record(std::uint64_t calls_in_group, std::uint64_t keys_in_group, std::uint64_t micros) {
  ++groups;
  calls += calls_in_group;
  keys += keys_in_group;
  write_micros_total += micros;
  std::size_t b = 0;
  while (b < bucket_bounds_micros.size() && micros > bucket_bounds_micros[b]) ++b;
  ++buckets[b];
}

void group_commit::write_open_group(std::unique_lock<std::mutex>& lock) {
  writing_ = true;
  rocksdb::WriteBatch group = std::move(open_);
  open_ = rocksdb::WriteBatch();
  const std::uint64_t number = open_group_++;
  const std::uint64_t calls = pending_calls_;
  pending_calls_ = 0;
  lock.unlock();
  const std::uint64_t t0 = micros_();
  const rocksdb::Status s = db_->Write(options_, &group);
  const std::uint64_t took = micros_() - t0;
  lock.lock();
  writing_ = false;
  written_group_ = number;
  if (!s.ok() && !broken_) {
    broken_ = store_rules::error(store_errc::io, "rocksdb: the journal could not be written (" + s.ToString() +
                                                     "); the store refuses every call from now on");
    broken_group_ = number;
  }
  stats_.record(calls, group.Count(), took);
  written_.notify_all();
}

void group_commit::wait_written(std::unique_lock<std::mutex>& lock, std::uint64_t group) {
  while (written_group_ < group) {
    if (writing_) {
      written_.wait(lock);
    } else {
      write_open_group(lock);
    }
  }
}

store_status group_commit::commit(std::unique_lock<std::mutex>& lock) {
  const std::uint64_t mine = open_group_;
  ++pending_calls_;
  wait_written(lock, mine);
  if (broken_ && mine >= broken_group_) return *broken_;
  return {};
}

store_status group_commit::flush(std::unique_lock<std::mutex>& lock) {
  // The open group holds keys only when a caller is waiting for it (or appended and is about
  // to): write it; otherwise only the group being written, if any, is pending.
  wait_written(lock, open_.Count() > 0 ? open_group_ : open_group_ - 1);
  if (broken_) return *broken_;
  return {};
}

}  // namespace aladdin
