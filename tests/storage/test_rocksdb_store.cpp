// What only the RocksDB store has: a process crash, column families of another build, bytes on
// disk that are not what we wrote, and a close.

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "store_fixtures.hpp"

namespace aladdin::test {
namespace {

std::unique_ptr<rocksdb_store> open_store(const std::filesystem::path& path, bool sync = false) {
  rocksdb_store_options options;
  options.path = path;
  options.sync = sync;
  auto opened = rocksdb_store::open(options);
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
  return std::move(opened).value();
}

// Opens the raw database with every family it has; closes in the order RocksDB requires.
class raw_db {
 public:
  explicit raw_db(const std::filesystem::path& path) {
    rocksdb::DBOptions options;
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(options, path.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    REQUIRE(rocksdb::DB::Open(options, path.string(), descriptors, &handles_, &db_).ok());
  }
  ~raw_db() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
    delete db_;
  }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  rocksdb::DB* db() { return db_; }
  rocksdb::ColumnFamilyHandle* family(const std::string& name) {
    for (auto* h : handles_) {
      if (h->GetName() == name) return h;
    }
    FAIL("no column family " << name);
    return nullptr;
  }
  void add_family(const std::string& name) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    REQUIRE(db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), name, &h).ok());
    handles_.push_back(h);
  }

 private:
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

TEST_CASE("rocksdb store: journal survives a crash of the writing process") {
  temp_dir dir;
  const auto path = dir.path() / "db";
  constexpr int queries = 20;
  const std::string command = std::string("\"") + ALADDIN_CRASH_WRITER + "\" \"" + path.string() +
                              "\" " + std::to_string(queries);
  const int status = std::system(command.c_str());
  REQUIRE_MESSAGE(status == 0, "crash writer failed: " << command);

  auto store = open_store(path);
  auto open = store->unfinished();
  REQUIRE(open.ok());
  REQUIRE(open.value().size() == static_cast<std::size_t>(queries));
  std::uint64_t highest = 0;
  for (std::size_t i = 0; i < open.value().size(); ++i) {
    const auto& e = open.value()[i];
    CHECK(e.client_query_id == i);  // accept order
    CHECK(e.prompt_tokens == 100 + i);
    CHECK(e.state == (i % 2 == 1 ? journal_state::dispatched : journal_state::accepted));
    highest = std::max(highest, e.id.value);
  }
  auto plan = store->current_plan();
  REQUIRE(plan.ok());
  CHECK(plan.value().epoch == 7);
  CHECK(store->put_plan(sample_plan(7)).code() == store_errc::stale_epoch);
  auto workers = store->list_workers();
  REQUIRE(workers.ok());
  REQUIRE(workers.value().size() == 1);
  CHECK(workers.value()[0].name == "gpu-node-1");

  // The writer allocated one id past its last query before dying: neither may come back.
  auto next = store->next_query_id();
  REQUIRE(next.ok());
  CHECK(next.value().value > highest + 1);
  auto next_worker = store->allocate_worker_id();
  REQUIRE(next_worker.ok());
  CHECK(next_worker.value().value > workers.value()[0].id.value);
}

TEST_CASE("rocksdb store: destroying the store without close keeps every write") {
  temp_dir dir;
  const auto path = dir.path() / "db";
  {
    auto store = open_store(path);
    REQUIRE(store->put_plan(sample_plan(4)).ok());
    REQUIRE(store->accept(sample_entry(store->next_query_id().value())).ok());
  }  // no close(): the destructor is the only shutdown
  auto store = open_store(path);
  CHECK(store->current_plan().value().epoch == 4);
  CHECK(store->unfinished().value().size() == 1);
}

TEST_CASE("rocksdb store: sync writes are readable after reopen") {
  temp_dir dir;
  const auto path = dir.path() / "db";
  {
    auto store = open_store(path, /*sync=*/true);
    REQUIRE(store->put_model({"llama2-70b", 80, 8, 128, 2, 6.9e10}).ok());
    REQUIRE(store->close().ok());
    REQUIRE(store->close().ok());  // idempotent
  }
  auto store = open_store(path);
  CHECK(store->get_model("llama2-70b").ok());
}

TEST_CASE("rocksdb store: opens a database holding column families of a newer build") {
  temp_dir dir;
  const auto path = dir.path() / "db";
  {
    auto store = open_store(path);
    REQUIRE(store->put_plan(sample_plan(1)).ok());
  }
  {
    raw_db raw(path);
    raw.add_family("from_the_future");
    REQUIRE(raw.db()->Put(rocksdb::WriteOptions(), raw.family("from_the_future"), "k", "v").ok());
  }
  // Without naming every family RocksDB would refuse: "Column families not opened".
  auto store = open_store(path);
  CHECK(store->current_plan().value().epoch == 1);
  REQUIRE(store->put_plan(sample_plan(2)).ok());
  store.reset();
  raw_db raw(path);  // the foreign family is still there, untouched
  std::string value;
  CHECK(raw.db()->Get(rocksdb::ReadOptions(), raw.family("from_the_future"), "k", &value).ok());
  CHECK(value == "v");
}

TEST_CASE("rocksdb store: a corrupt value is a typed error, not a crash") {
  temp_dir dir;
  const auto path = dir.path() / "db";
  {
    auto store = open_store(path);
    REQUIRE(store->put_model({"good", 1, 1, 1, 2, 1.0}).ok());
    REQUIRE(store->accept(sample_entry(store->next_query_id().value())).ok());
  }
  {
    raw_db raw(path);
    const rocksdb::WriteOptions w;
    REQUIRE(raw.db()->Put(w, raw.family("models"), "bad", "not a capnp message").ok());
    REQUIRE(raw.db()->Put(w, raw.family("journal"), be64(99), std::string(24, '\xff')).ok());
  }
  auto store = open_store(path);
  CHECK(store->get_model("good").ok());
  auto bad = store->get_model("bad");
  CHECK(bad.code() == store_errc::corrupt);
  CHECK(store->list_models().code() == store_errc::corrupt);
  CHECK(store->get_query(query_id{99}).code() == store_errc::corrupt);
  CHECK(store->unfinished().code() == store_errc::corrupt);
  CHECK(store->mark_dispatched(query_id{99}, worker_id{1}).code() == store_errc::corrupt);
  // The corrupt key still fences id allocation.
  CHECK(store->next_query_id().value().value > 99);
}

TEST_CASE("rocksdb store: refuses a store format it does not read") {
  temp_dir dir;
  const auto path = dir.path() / "db";
  { auto store = open_store(path); }
  {
    raw_db raw(path);
    REQUIRE(raw.db()->Put(rocksdb::WriteOptions(), raw.family("meta"), "format_version", be64(99)).ok());
  }
  rocksdb_store_options options;
  options.path = path;
  auto opened = rocksdb_store::open(options);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code == store_errc::corrupt);
  CHECK(opened.error().message.find("99") != std::string::npos);
}

TEST_CASE("rocksdb store: bad paths and options are typed errors") {
  temp_dir dir;
  const auto file = dir.path() / "a-file";
  std::ofstream(file) << "not a database";

  rocksdb_store_options options;
  options.path = file;
  auto on_file = rocksdb_store::open(options);
  REQUIRE_FALSE(on_file.ok());
  CHECK(on_file.error().code == store_errc::io);

  options.path = dir.path() / "missing";
  options.create_if_missing = false;
  CHECK_FALSE(rocksdb_store::open(options).ok());

  options.path.clear();
  CHECK(rocksdb_store::open(options).error().code == store_errc::invalid_argument);
  options.path = dir.path() / "db";
  options.create_if_missing = true;
  options.query_id_block = 0;
  CHECK(rocksdb_store::open(options).error().code == store_errc::invalid_argument);
}

TEST_CASE("rocksdb store: a closed store answers every call with an io error") {
  temp_dir dir;
  auto store = open_store(dir.path() / "db");
  REQUIRE(store->close().ok());
  CHECK(store->get_model("x").code() == store_errc::io);
  CHECK(store->put_plan(sample_plan(1)).code() == store_errc::io);
  CHECK(store->next_query_id().code() == store_errc::io);
  CHECK(store->accept(sample_entry(query_id{1})).code() == store_errc::io);
  CHECK(store->unfinished().code() == store_errc::io);
  CHECK(store->compact_journal({1, 1}).code() == store_errc::io);
}

}  // namespace
}  // namespace aladdin::test
