#include "storage/rocksdb_store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <mutex>
#include <span>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "schema/record_codec.hpp"
#include "storage/group_commit.hpp"
#include "storage/store_rules.hpp"

namespace aladdin {

using store_rules::error;

namespace {

constexpr std::uint64_t format_version = 1;

// meta keys
constexpr std::string_view key_format_version = "format_version";
constexpr std::string_view key_query_ceiling = "query_id_ceiling";  // ids below may be in use
constexpr std::string_view key_next_worker = "next_worker_id";
constexpr std::string_view key_accept_seq = "last_accept_seq";

enum cf_index : std::size_t { cf_meta, cf_models, cf_gpus, cf_configs, cf_workers, cf_plans, cf_journal, cf_count };

// ---- keys and values

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::optional<std::uint64_t> parse_be64(const rocksdb::Slice& s) {
  if (s.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string shape_key(const worker_config& c) {
  std::string key = c.model;
  key.push_back('\0');
  key += c.gpu;
  key.push_back('\0');
  // Big-endian so that TP 2 sorts before TP 16.
  const auto tp = static_cast<std::uint32_t>(c.tp);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>((tp >> shift) & 0xff));
  return key;
}

std::span<const std::byte> as_bytes(const rocksdb::Slice& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

rocksdb::Slice as_slice(const codec::encoded_message& m) {
  auto bytes = m.bytes();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

store_error io_error(const rocksdb::Status& s) { return error(store_errc::io, "rocksdb: " + s.ToString()); }

store_error closed() { return error(store_errc::io, "the store is closed"); }

}  // namespace

// ---------------------------------------------------------------------------------------------

struct rocksdb_store::impl {
  rocksdb_store_options options;
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // every open family, ours and foreign
  std::array<rocksdb::ColumnFamilyHandle*, cf_count> cf{};
  rocksdb::WriteOptions write_options;
  std::unique_ptr<group_commit> commits;

  // Guards every write (and what a write validates against: the counters, the unfinished
  // entries, the open group). Plain reads of ended things go straight to RocksDB, which is
  // safe to read from concurrently, once the groups pending are written.
  mutable std::mutex mutex;
  std::uint64_t next_query = 1;
  std::uint64_t query_ceiling = 1;
  std::uint32_t next_worker = 1;
  std::uint64_t last_accept_seq = 0;
  std::uint64_t current_epoch = 0;
  // The accepted and dispatched entries, as the last call left them: what a transition or a
  // duplicate check reads instead of the disk.
  std::unordered_map<std::uint64_t, journal_entry> live;
  // The largest id ever journaled (loaded at open): a new id above it cannot be a duplicate.
  std::uint64_t journal_high = 0;
  mutable std::uint64_t journal_reads = 0;  // see journal_commit_stats
  // The first journal record that did not decode at open, if any.
  std::optional<store_error> unreadable;
  // One compaction at a time (it runs outside `mutex`).
  std::mutex compaction_mutex;

  ~impl() { (void)close(); }

  store_status close() {
    if (db == nullptr) return {};
    store_status result;
    if (commits) {
      std::unique_lock lock(mutex);
      result = commits->flush(lock);
    }
    // A clean shutdown also survives power loss, whatever `sync` says for single writes.
    if (auto s = db->FlushWAL(true); !s.ok() && result) result = io_error(s);
    // Handles first, then the database (RocksDB asserts on the reverse order).
    for (auto* h : handles) {
      if (auto s = db->DestroyColumnFamilyHandle(h); !s.ok() && result) result = io_error(s);
    }
    handles.clear();
    cf.fill(nullptr);
    if (auto s = db->Close(); !s.ok() && result) result = io_error(s);
    commits.reset();
    delete db;
    db = nullptr;
    return result;
  }

  // The store refuses every write once a group failed (lock held).
  store_status usable() const {
    if (commits->broken()) return *commits->broken();
    return {};
  }

  // One key, in a group of its own or with whatever others append meanwhile.
  store_status put(cf_index family, const rocksdb::Slice& key, const rocksdb::Slice& value) {
    std::unique_lock lock(mutex);
    if (auto s = usable(); !s) return s;
    commits->open().Put(cf[family], key, value);
    return commits->commit(lock);
  }

  template <class T>
  store_result<T> get(cf_index family, const std::string& key, const std::string& what) const {
    rocksdb::PinnableSlice value;
    const auto s = db->Get(rocksdb::ReadOptions(), cf[family], key, &value);
    if (s.IsNotFound()) return error(store_errc::not_found, what);
    if (!s.ok()) return io_error(s);
    // RocksDB values carry no alignment promise; decode_record copies when needed.
    auto decoded = decode_record<T>(as_bytes(value));
    if (!decoded) return error(store_errc::corrupt, what + ": " + decoded.error().detail);
    return std::move(decoded).value();
  }

  template <class T>
  store_result<std::vector<T>> list(cf_index family, const char* what) const {
    std::vector<T> out;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[family]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto decoded = decode_record<T>(as_bytes(it->value()));
      if (!decoded) {
        return error(store_errc::corrupt, std::string(what) + " record: " + decoded.error().detail);
      }
      out.push_back(std::move(decoded).value());
    }
    if (!it->status().ok()) return io_error(it->status());
    return out;
  }

  store_result<std::optional<std::uint64_t>> meta_u64(std::string_view key) const {
    std::string value;
    const auto s = db->Get(rocksdb::ReadOptions(), cf[cf_meta], rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::uint64_t>{};
    if (!s.ok()) return io_error(s);
    auto v = parse_be64(value);
    if (!v) return error(store_errc::corrupt, "meta " + std::string(key) + " is not 8 bytes");
    return std::optional<std::uint64_t>{*v};
  }

  // The largest big-endian id key of a family (0 when empty).
  store_result<std::uint64_t> last_id(cf_index family) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[family]));
    it->SeekToLast();
    if (!it->status().ok()) return io_error(it->status());
    if (!it->Valid()) return std::uint64_t{0};
    auto id = parse_be64(it->key());
    if (!id) return error(store_errc::corrupt, "a key of 8 bytes was expected");
    return *id;
  }

  // A journal entry that is not live (ended, or unknown) from the disk. Lock held and the
  // pending groups written (the caller flushed): what is on disk is then current.
  store_result<journal_entry> stored_entry(query_id id) const {
    ++journal_reads;
    return get<journal_entry>(cf_journal, be64(id.value), "query " + std::to_string(id.value));
  }

  // Applies one transition per item, in order, each seeing the ones before it, and appends
  // every changed entry to one group. One status per item. Unfinished entries come from memory;
  // only an item about an ended or unknown entry makes the call read the disk.
  template <class Item, class IdOf, class Transition>
  std::vector<store_status> update_entries(std::span<const Item> items, IdOf id_of, Transition transition) {
    std::vector<store_status> out(items.size());
    std::unique_lock lock(mutex);
    if (auto s = usable(); !s) return std::vector<store_status>(items.size(), s);
    const bool reads_disk = std::any_of(items.begin(), items.end(),
                                        [&](const Item& item) { return live.count(id_of(item).value) == 0; });
    if (reads_disk) {
      if (auto s = commits->flush(lock); !s) return std::vector<store_status>(items.size(), s);
    }
    std::unordered_map<std::uint64_t, journal_entry> from_disk;  // ended entries this call read
    std::vector<std::uint64_t> changed;
    std::vector<std::size_t> written;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const query_id id = id_of(items[i]);
      journal_entry* current = nullptr;
      if (auto it = live.find(id.value); it != live.end()) {
        current = &it->second;
      } else if (auto d = from_disk.find(id.value); d != from_disk.end()) {
        current = &d->second;
      } else {
        auto stored = stored_entry(id);
        if (!stored) {
          out[i] = stored.error();
          continue;
        }
        current = &from_disk.emplace(id.value, std::move(stored).value()).first->second;
      }
      // The rules change the entry only when they allow the transition.
      if (auto s = transition(*current, items[i]); !s) {
        out[i] = s;
        continue;
      }
      changed.push_back(id.value);
      written.push_back(i);
    }
    if (written.empty()) return out;
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    for (const auto id : changed) {
      auto it = live.find(id);
      const journal_entry& e = it != live.end() ? it->second : from_disk.at(id);
      commits->open().Put(cf[cf_journal], be64(id), as_slice(encode_record(e)));
      if (it != live.end() && e.ended()) live.erase(it);
    }
    if (auto s = commits->commit(lock); !s)
      for (const auto i : written) out[i] = s;
    return out;
  }

  // Restores the counters and the unfinished entries from what is on disk (at open, alone).
  store_status load() {
    auto version = meta_u64(key_format_version);
    if (!version) return version.error();
    if (version.value() && *version.value() != format_version) {
      return error(store_errc::corrupt, "store format " + std::to_string(*version.value()) +
                                            ", this build reads " + std::to_string(format_version));
    }
    if (!version.value()) {
      if (auto s = put(cf_meta, key_format_version, be64(format_version)); !s) return s;
    }

    auto ceiling = meta_u64(key_query_ceiling);
    if (!ceiling) return ceiling.error();
    auto last_query = last_id(cf_journal);
    if (!last_query) return last_query.error();
    auto worker = meta_u64(key_next_worker);
    if (!worker) return worker.error();
    auto last_worker = last_id(cf_workers);
    if (!last_worker) return last_worker.error();
    auto seq = meta_u64(key_accept_seq);
    if (!seq) return seq.error();
    auto epoch = last_id(cf_plans);
    if (!epoch) return epoch.error();
    // Every id below the persisted ceiling may have been handed out before the restart.
    query_ceiling = std::max<std::uint64_t>(ceiling.value().value_or(1), last_query.value() + 1);
    next_query = query_ceiling;
    next_worker = static_cast<std::uint32_t>(
        std::max<std::uint64_t>(worker.value().value_or(1), last_worker.value() + 1));
    last_accept_seq = seq.value().value_or(0);
    current_epoch = epoch.value();
    journal_high = last_query.value();

    // The unfinished entries. A record that does not decode does not stop the store from
    // opening (the rest of the journal is still good), but unfinished() cannot be answered
    // without it: it reports the record, as does every call about its id.
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf[cf_journal]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto decoded = decode_record<journal_entry>(as_bytes(it->value()));
      if (!decoded) {
        if (!unreadable) unreadable = error(store_errc::corrupt, "journal record: " + decoded.error().detail);
        continue;
      }
      if (!decoded.value().ended()) live.emplace(decoded.value().id.value, std::move(decoded).value());
    }
    if (!it->status().ok()) return io_error(it->status());
    return {};
  }
};

// ---------------------------------------------------------------------------------------------

const std::vector<std::string>& rocksdb_store::column_family_names() {
  static const std::vector<std::string> names = {"meta",    "models", "gpus",   "configs",
                                                 "workers", "plans",  "journal"};
  return names;
}

rocksdb_store::rocksdb_store(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

rocksdb_store::~rocksdb_store() = default;

store_status rocksdb_store::close() { return impl_->close(); }

journal_commit_stats rocksdb_store::commit_stats() const {
  std::lock_guard lock(impl_->mutex);
  journal_commit_stats stats = impl_->commits ? impl_->commits->stats() : journal_commit_stats{};
  stats.journal_reads = impl_->journal_reads;
  return stats;
}

store_result<std::unique_ptr<rocksdb_store>> rocksdb_store::open(const rocksdb_store_options& options) {
  if (options.path.empty()) return error(store_errc::invalid_argument, "no path for the store");
  if (options.query_id_block == 0) return error(store_errc::invalid_argument, "query_id_block is 0");
  if (options.compaction_step == 0) return error(store_errc::invalid_argument, "compaction_step is 0");
  if (options.create_if_missing) {
    std::error_code ec;
    std::filesystem::create_directories(options.path.parent_path(), ec);
    // An error here resurfaces, with a better message, when RocksDB opens the path.
  }

  auto state = std::make_unique<impl>();
  state->options = options;
  state->write_options.sync = options.sync;
  state->write_options.disableWAL = false;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 4;  // RocksDB's own info logs, not the write-ahead log

  // RocksDB refuses to open unless every existing family is named, so start from what is there.
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(db_options, options.path.string(), &names).ok()) {
    names = {rocksdb::kDefaultColumnFamilyName};  // a new database
  }
  for (const auto& wanted : column_family_names()) {
    if (std::find(names.begin(), names.end(), wanted) == names.end()) names.push_back(wanted);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());

  const auto s = rocksdb::DB::Open(db_options, options.path.string(), descriptors, &state->handles, &state->db);
  if (!s.ok()) {
    state->db = nullptr;
    state->handles.clear();
    return io_error(s);
  }
  for (auto* handle : state->handles) {
    const auto& ours = column_family_names();
    auto it = std::find(ours.begin(), ours.end(), handle->GetName());
    if (it != ours.end()) state->cf[static_cast<std::size_t>(it - ours.begin())] = handle;
  }
  auto micros = options.monotonic_micros;
  if (!micros) {
    micros = [] {
      return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                            std::chrono::steady_clock::now().time_since_epoch())
                                            .count());
    };
  }
  state->commits = std::make_unique<group_commit>(state->db, state->write_options, std::move(micros));
  if (auto loaded = state->load(); !loaded) return loaded.error();  // ~impl closes
  return std::unique_ptr<rocksdb_store>(new rocksdb_store(std::move(state)));
}

// ---- catalogue

store_status rocksdb_store::put_model(const model_spec& model) {
  if (impl_->db == nullptr) return closed();
  if (auto s = store_rules::check_name("model", model.name); !s) return s;
  return impl_->put(cf_models, model.name, as_slice(encode_record(model)));
}

store_result<model_spec> rocksdb_store::get_model(std::string_view name) const {
  if (impl_->db == nullptr) return closed();
  return impl_->get<model_spec>(cf_models, std::string(name), "model " + std::string(name));
}

store_result<std::vector<model_spec>> rocksdb_store::list_models() const {
  if (impl_->db == nullptr) return closed();
  return impl_->list<model_spec>(cf_models, "model");
}

store_status rocksdb_store::put_gpu(const gpu_spec& gpu) {
  if (impl_->db == nullptr) return closed();
  if (auto s = store_rules::check_name("gpu", gpu.name); !s) return s;
  return impl_->put(cf_gpus, gpu.name, as_slice(encode_record(gpu)));
}

store_result<gpu_spec> rocksdb_store::get_gpu(std::string_view name) const {
  if (impl_->db == nullptr) return closed();
  return impl_->get<gpu_spec>(cf_gpus, std::string(name), "gpu " + std::string(name));
}

store_result<std::vector<gpu_spec>> rocksdb_store::list_gpus() const {
  if (impl_->db == nullptr) return closed();
  return impl_->list<gpu_spec>(cf_gpus, "gpu");
}

store_status rocksdb_store::put_worker_config(const worker_profile& profile) {
  if (impl_->db == nullptr) return closed();
  if (auto s = store_rules::check_shape(profile.config); !s) return s;
  return impl_->put(cf_configs, shape_key(profile.config), as_slice(encode_record(profile)));
}

store_result<worker_profile> rocksdb_store::get_worker_config(const worker_config& shape) const {
  if (impl_->db == nullptr) return closed();
  return impl_->get<worker_profile>(cf_configs, shape_key(shape), "worker config " + shape.label());
}

store_result<std::vector<worker_profile>> rocksdb_store::list_worker_configs() const {
  if (impl_->db == nullptr) return closed();
  return impl_->list<worker_profile>(cf_configs, "worker config");
}

// ---- registry

store_result<worker_id> rocksdb_store::allocate_worker_id() {
  if (impl_->db == nullptr) return closed();
  std::unique_lock lock(impl_->mutex);
  if (auto s = impl_->usable(); !s) return s.error();
  if (auto s = store_rules::check_worker_ids_left(impl_->next_worker); !s) return s.error();
  const std::uint32_t id = impl_->next_worker;
  impl_->next_worker = id + 1;
  impl_->commits->open().Put(impl_->cf[cf_meta], key_next_worker, be64(id + 1ULL));
  if (auto s = impl_->commits->commit(lock); !s) return s.error();
  return worker_id{id};
}

store_status rocksdb_store::upsert_worker(const worker_record& worker) {
  if (impl_->db == nullptr) return closed();
  if (auto s = store_rules::check_worker(worker); !s) return s;
  std::unique_lock lock(impl_->mutex);
  if (auto s = impl_->usable(); !s) return s;
  rocksdb::WriteBatch& batch = impl_->commits->open();
  batch.Put(impl_->cf[cf_workers], be64(worker.id.value), as_slice(encode_record(worker)));
  // An id stored without being allocated here must still never be handed out again.
  if (worker.id.value >= impl_->next_worker) {
    batch.Put(impl_->cf[cf_meta], key_next_worker, be64(worker.id.value + 1ULL));
    impl_->next_worker = worker.id.value + 1;
  }
  return impl_->commits->commit(lock);
}

store_status rocksdb_store::set_worker_state(worker_id id, worker_state state) {
  if (impl_->db == nullptr) return closed();
  std::unique_lock lock(impl_->mutex);
  if (auto s = impl_->usable(); !s) return s;
  // Workers are not kept in memory: read the current record once every pending group is on disk.
  if (auto s = impl_->commits->flush(lock); !s) return s;
  auto worker = impl_->get<worker_record>(cf_workers, be64(id.value), "worker " + std::to_string(id.value));
  if (!worker) return worker.error();
  worker.value().state = state;
  impl_->commits->open().Put(impl_->cf[cf_workers], be64(id.value), as_slice(encode_record(worker.value())));
  return impl_->commits->commit(lock);
}

store_result<worker_record> rocksdb_store::get_worker(worker_id id) const {
  if (impl_->db == nullptr) return closed();
  return impl_->get<worker_record>(cf_workers, be64(id.value), "worker " + std::to_string(id.value));
}

store_result<std::vector<worker_record>> rocksdb_store::list_workers() const {
  if (impl_->db == nullptr) return closed();
  return impl_->list<worker_record>(cf_workers, "worker");
}

// ---- plans

store_status rocksdb_store::put_plan(const plan_record& plan) {
  if (impl_->db == nullptr) return closed();
  std::unique_lock lock(impl_->mutex);
  if (auto s = impl_->usable(); !s) return s;
  if (plan.epoch <= impl_->current_epoch) {
    return error(store_errc::stale_epoch, "plan epoch " + std::to_string(plan.epoch) +
                                              " is not after the current epoch " +
                                              std::to_string(impl_->current_epoch));
  }
  impl_->current_epoch = plan.epoch;
  impl_->commits->open().Put(impl_->cf[cf_plans], be64(plan.epoch), as_slice(encode_record(plan)));
  return impl_->commits->commit(lock);
}

store_result<plan_record> rocksdb_store::current_plan() const {
  if (impl_->db == nullptr) return closed();
  std::uint64_t epoch = 0;
  {
    std::unique_lock lock(impl_->mutex);
    // The current epoch may be a put_plan still on its way to the disk.
    if (auto s = impl_->commits->flush(lock); !s) return s.error();
    epoch = impl_->current_epoch;
  }
  if (epoch == 0) return error(store_errc::not_found, "no plan yet");
  return get_plan(epoch);
}

store_result<plan_record> rocksdb_store::get_plan(std::uint64_t epoch) const {
  if (impl_->db == nullptr) return closed();
  return impl_->get<plan_record>(cf_plans, be64(epoch), "plan of epoch " + std::to_string(epoch));
}

// ---- journal

store_result<query_id> rocksdb_store::next_query_id() {
  if (impl_->db == nullptr) return closed();
  std::unique_lock lock(impl_->mutex);
  if (auto s = impl_->usable(); !s) return s.error();
  const query_id id{impl_->next_query++};
  if (id.value >= impl_->query_ceiling) {
    // Reserve the next block before handing out any id of it.
    const std::uint64_t ceiling = id.value + impl_->options.query_id_block;
    impl_->query_ceiling = ceiling;
    impl_->commits->open().Put(impl_->cf[cf_meta], key_query_ceiling, be64(ceiling));
    if (auto s = impl_->commits->commit(lock); !s) return s.error();
  }
  return id;
}

store_status rocksdb_store::accept(const journal_entry& entry) {
  return accept_all(std::span<const journal_entry>(&entry, 1)).front();
}

store_status rocksdb_store::mark_dispatched(query_id id, worker_id worker) {
  const std::pair<query_id, worker_id> one{id, worker};
  return mark_dispatched_all(std::span(&one, 1)).front();
}

store_status rocksdb_store::mark_finished(query_id id, const finish_info& finish) {
  const std::pair<query_id, finish_info> one{id, finish};
  return mark_finished_all(std::span(&one, 1)).front();
}

store_status rocksdb_store::mark_failed(query_id id, const failure_info& failure) {
  if (impl_->db == nullptr) return closed();
  const std::pair<query_id, failure_info> one{id, failure};
  return impl_->update_entries(
      std::span(&one, 1), [](const auto& f) { return f.first; },
      [](journal_entry& e, const auto& f) { return store_rules::fail(e, f.second); }).front();
}

std::vector<store_status> rocksdb_store::accept_all(std::span<const journal_entry> entries) {
  if (impl_->db == nullptr) return std::vector<store_status>(entries.size(), closed());
  std::vector<store_status> out(entries.size());
  std::unique_lock lock(impl_->mutex);
  if (auto s = impl_->usable(); !s) return std::vector<store_status>(entries.size(), s);
  // Ids from next_query_id are above every journaled one: no read. Another id may belong to an
  // ended entry, which only the disk knows (once the pending groups are on it).
  const bool reads_disk = std::any_of(entries.begin(), entries.end(), [&](const journal_entry& e) {
    return e.id.value <= impl_->journal_high && impl_->live.count(e.id.value) == 0;
  });
  if (reads_disk) {
    if (auto s = impl_->commits->flush(lock); !s) return std::vector<store_status>(entries.size(), s);
  }
  std::unordered_set<std::uint64_t> in_batch;
  std::vector<std::size_t> written;
  rocksdb::WriteBatch& batch = impl_->commits->open();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const journal_entry& entry = entries[i];
    if (auto s = store_rules::check_new_entry(entry); !s) {
      out[i] = s;
      continue;
    }
    const std::string key = be64(entry.id.value);
    bool exists = in_batch.count(entry.id.value) != 0 || impl_->live.count(entry.id.value) != 0;
    if (!exists && entry.id.value <= impl_->journal_high) {
      std::string ignored;
      ++impl_->journal_reads;
      const auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf[cf_journal], key, &ignored);
      if (!s.ok() && !s.IsNotFound()) {
        out[i] = io_error(s);
        continue;
      }
      exists = s.ok();
    }
    if (exists) {
      out[i] = error(store_errc::duplicate, "query " + std::to_string(entry.id.value) + " is already journaled");
      continue;
    }
    journal_entry stored = entry;
    stored.accept_seq = ++impl_->last_accept_seq;
    batch.Put(impl_->cf[cf_journal], key, as_slice(encode_record(stored)));
    // An id journaled without being allocated here must not be allocated later.
    if (entry.id.value >= impl_->query_ceiling) {
      impl_->query_ceiling = entry.id.value + 1;
      batch.Put(impl_->cf[cf_meta], key_query_ceiling, be64(impl_->query_ceiling));
    }
    impl_->next_query = std::max(impl_->next_query, entry.id.value + 1);
    impl_->journal_high = std::max(impl_->journal_high, entry.id.value);
    impl_->live.emplace(entry.id.value, std::move(stored));
    in_batch.insert(entry.id.value);
    written.push_back(i);
  }
  if (written.empty()) return out;
  batch.Put(impl_->cf[cf_meta], key_accept_seq, be64(impl_->last_accept_seq));
  if (auto s = impl_->commits->commit(lock); !s)
    for (const auto i : written) out[i] = s;
  return out;
}

std::vector<store_status> rocksdb_store::mark_dispatched_all(
    std::span<const std::pair<query_id, worker_id>> dispatches) {
  if (impl_->db == nullptr) return std::vector<store_status>(dispatches.size(), closed());
  return impl_->update_entries(
      dispatches, [](const auto& d) { return d.first; },
      [](journal_entry& e, const auto& d) { return store_rules::dispatch(e, d.second); });
}

std::vector<store_status> rocksdb_store::mark_finished_all(
    std::span<const std::pair<query_id, finish_info>> finishes) {
  if (impl_->db == nullptr) return std::vector<store_status>(finishes.size(), closed());
  return impl_->update_entries(
      finishes, [](const auto& f) { return f.first; },
      [](journal_entry& e, const auto& f) { return store_rules::finish(e, f.second); });
}

store_result<journal_entry> rocksdb_store::get_query(query_id id) const {
  if (impl_->db == nullptr) return closed();
  std::unique_lock lock(impl_->mutex);
  if (auto it = impl_->live.find(id.value); it != impl_->live.end()) return it->second;
  if (auto s = impl_->commits->flush(lock); !s) return s.error();
  return impl_->stored_entry(id);
}

store_result<std::vector<journal_entry>> rocksdb_store::unfinished() const {
  if (impl_->db == nullptr) return closed();
  std::vector<journal_entry> out;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->unreadable) return *impl_->unreadable;
    out.reserve(impl_->live.size());
    for (const auto& [id, e] : impl_->live) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const journal_entry& a, const journal_entry& b) {
    return a.accept_seq < b.accept_seq;
  });
  return out;
}

store_result<std::size_t> rocksdb_store::compact_journal(const journal_compaction& rule) {
  if (impl_->db == nullptr) return closed();
  std::lock_guard one_at_a_time(impl_->compaction_mutex);
  {
    std::lock_guard lock(impl_->mutex);
    if (auto s = impl_->usable(); !s) return s.error();
  }
  // The scan: an iterator (an implicit snapshot of the journal) read outside the store's lock,
  // compaction_step keys at a time. An entry ended in the snapshot is ended for good (ended is
  // final), so it is a victim whatever happened since; one that ends during the scan waits for
  // the next compaction.
  std::vector<store_rules::ended_entry> ended;
  {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf[cf_journal]));
    std::size_t in_step = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto decoded = decode_record<journal_entry>(as_bytes(it->value()));
      if (!decoded) return error(store_errc::corrupt, "journal record: " + decoded.error().detail);
      const journal_entry& e = decoded.value();
      if (e.ended()) ended.push_back({e.id, e.accept_seq, store_rules::ended_micros(e)});
      if (++in_step == impl_->options.compaction_step) {
        in_step = 0;
        if (impl_->options.between_compaction_steps) impl_->options.between_compaction_steps();
      }
    }
    if (!it->status().ok()) return io_error(it->status());
  }
  const auto victims = store_rules::compaction_victims(std::move(ended), rule);
  // The deletes, a step at a time, each a group of its own (or shared with other callers).
  std::size_t removed = 0;
  for (std::size_t from = 0; from < victims.size(); from += impl_->options.compaction_step) {
    const std::size_t to = std::min(victims.size(), from + impl_->options.compaction_step);
    std::unique_lock lock(impl_->mutex);
    if (auto s = impl_->usable(); !s) return s.error();
    std::size_t deletes = 0;
    for (std::size_t i = from; i < to; ++i) {
      // Only a misuse (an ended id accepted again after a compaction) can make a victim live.
      if (impl_->live.count(victims[i].value) != 0) continue;
      impl_->commits->open().Delete(impl_->cf[cf_journal], be64(victims[i].value));
      ++deletes;
    }
    if (deletes == 0) continue;
    if (auto s = impl_->commits->commit(lock); !s) return s.error();
    removed += deletes;
  }
  return removed;
}

}  // namespace aladdin
