#pragma once
// Group commit for the RocksDB store (internal: only rocksdb_store.cpp includes it, since it
// pulls in RocksDB's headers).
//
// Callers append their keys to the open group under the store's lock, then call commit(),
// which returns once the group holding their keys is written at the store's durability (WAL;
// with sync, fsynced). One caller at a time writes: it takes the open group, releases the lock
// for the write, and what other callers append meanwhile goes into the next group, which the
// first of them to find no writer in progress writes next. So concurrent callers (the intake,
// every worker proxy, placement) share one WriteBatch and one fsync per group, and the groups
// reach the log in the order their keys were appended: the order in which the store's
// in-memory state changed.
//
// A write that fails leaves the in-memory state ahead of the disk, so the store is broken from
// then on: every call of that group and after reports the failure (restart the node: the disk
// holds every acknowledged call).

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "storage/rocksdb_store.hpp"

namespace aladdin {

class group_commit {
 public:
  group_commit(rocksdb::DB* db, rocksdb::WriteOptions options, std::function<std::uint64_t()> micros)
      : db_(db), options_(options), micros_(std::move(micros)) {}

  // The open group, to append to with the store's lock held.
  rocksdb::WriteBatch& open() { return open_; }

  // Writes the open group (lock held on entry and on return; released while writing or
  // waiting) and returns when it is written; the group's failure if it failed.
  store_status commit(std::unique_lock<std::mutex>& lock);
  // Waits until every group appended so far is written (nothing to do when none is pending).
  store_status flush(std::unique_lock<std::mutex>& lock);
  // The failure that broke the store, if one did (lock held).
  const std::optional<store_error>& broken() const { return broken_; }
  journal_commit_stats stats() const {  // lock held
    journal_commit_stats s = stats_;
    s.waiting_calls = pending_calls_;
    return s;
  }

 private:
  void write_open_group(std::unique_lock<std::mutex>& lock);
  void wait_written(std::unique_lock<std::mutex>& lock, std::uint64_t group);

  rocksdb::DB* db_;
  rocksdb::WriteOptions options_;
  std::function<std::uint64_t()> micros_;
  std::condition_variable written_;
  rocksdb::WriteBatch open_;
  std::uint64_t open_group_ = 1;     // the number of the group being filled
  std::uint64_t written_group_ = 0;  // every group up to this one has been written
  std::uint64_t pending_calls_ = 0;  // calls waiting on the open group
  bool writing_ = false;
  std::optional<store_error> broken_;
  std::uint64_t broken_group_ = 0;   // the first group that failed
  journal_commit_stats stats_;
};

}  // namespace aladdin
