// The state_store contract, run over every implementation (in-memory and RocksDB). "Restart"
// is the fixture's reopen(): a clean close and a new store over the same data.

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "store_fixtures.hpp"

namespace aladdin::test {
namespace {


std::vector<std::uint64_t> ids_of(const std::vector<journal_entry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) out.push_back(e.id.value);
  return out;
}

void check_profile_eq(const worker_profile& a, const worker_profile& b) {
  CHECK(a.config == b.config);
  CHECK(a.prefill.k1 == b.prefill.k1);
  CHECK(a.prefill.q1 == b.prefill.q1);
  CHECK(a.prefill.s1 == b.prefill.s1);
  CHECK(a.prefill.c1 == b.prefill.c1);
  CHECK(a.decode.k2 == b.decode.k2);
  CHECK(a.decode.c2 == b.decode.c2);
  CHECK(a.decode.c3 == b.decode.c3);
  CHECK(a.kv.bytes_per_token == b.kv.bytes_per_token);
  CHECK(a.kv.capacity_tokens == b.kv.capacity_tokens);
  CHECK(a.source == b.source);
}

// Accepts a fresh query (allocated id) and returns its id.
template <class F>
query_id accept_new(F& f, std::uint64_t accepted_micros = 0) {
  auto id = f.store->next_query_id();
  REQUIRE(id.ok());
  REQUIRE(f.store->accept(sample_entry(id.value(), accepted_micros)).ok());
  return id.value();
}

TEST_CASE_TEMPLATE("state store: catalogue round-trips models, GPUs and fitted worker configs", F,
                   STORE_FIXTURES) {
  F f;
  model_spec llama{"llama2-70b", 80, 8, 128, 2, 6.9e10};
  model_spec bloom{"bloom-176b", 70, 112, 128, 2, 1.76e11};
  REQUIRE(f.store->put_model(llama).ok());
  REQUIRE(f.store->put_model(bloom).ok());
  REQUIRE(f.store->put_gpu({"a100-80gb", 85899345920.0}).ok());
  REQUIRE(f.store->put_worker_config(sample_profile(8)).ok());
  REQUIRE(f.store->put_worker_config(sample_profile(2)).ok());
  REQUIRE(f.store->put_worker_config(sample_profile(16)).ok());
  f.reopen();

  auto model = f.store->get_model("llama2-70b");
  REQUIRE(model.ok());
  CHECK(model.value().layers == 80);
  CHECK(model.value().kv_heads == 8);
  CHECK(model.value().head_dim == 128);
  CHECK(model.value().parameters == 6.9e10);

  auto models = f.store->list_models();
  REQUIRE(models.ok());
  REQUIRE(models.value().size() == 2);
  CHECK(models.value()[0].name == "bloom-176b");  // by name
  CHECK(models.value()[1].name == "llama2-70b");

  auto gpu = f.store->get_gpu("a100-80gb");
  REQUIRE(gpu.ok());
  CHECK(gpu.value().memory_bytes == 85899345920.0);
  REQUIRE(f.store->list_gpus().ok());
  CHECK(f.store->list_gpus().value().size() == 1);

  auto profile = f.store->get_worker_config(sample_shape(8));
  REQUIRE(profile.ok());
  check_profile_eq(profile.value(), sample_profile(8));

  auto profiles = f.store->list_worker_configs();
  REQUIRE(profiles.ok());
  REQUIRE(profiles.value().size() == 3);
  CHECK(profiles.value()[0].config.tp == 2);  // TP order is numeric, not lexicographic
  CHECK(profiles.value()[1].config.tp == 8);
  CHECK(profiles.value()[2].config.tp == 16);

  // put replaces
  auto refit = sample_profile(8);
  refit.decode.k2 = 2.2e-6;
  refit.source = "online refit";
  REQUIRE(f.store->put_worker_config(refit).ok());
  auto again = f.store->get_worker_config(sample_shape(8));
  REQUIRE(again.ok());
  check_profile_eq(again.value(), refit);
  CHECK(f.store->list_worker_configs().value().size() == 3);
}

TEST_CASE_TEMPLATE("state store: missing keys and invalid values are typed errors", F,
                   STORE_FIXTURES) {
  F f;
  CHECK(f.store->get_model("nope").code() == store_errc::not_found);
  CHECK(f.store->get_gpu("nope").code() == store_errc::not_found);
  CHECK(f.store->get_worker_config(sample_shape()).code() == store_errc::not_found);
  CHECK(f.store->get_worker(worker_id{9}).code() == store_errc::not_found);
  CHECK(f.store->get_query(query_id{9}).code() == store_errc::not_found);
  CHECK(f.store->current_plan().code() == store_errc::not_found);
  CHECK(f.store->get_plan(1).code() == store_errc::not_found);

  CHECK(f.store->put_model(model_spec{}).code() == store_errc::invalid_argument);
  CHECK(f.store->put_gpu(gpu_spec{std::string("a\0b", 3), 1.0}).code() ==
        store_errc::invalid_argument);
  auto bad_tp = sample_profile();
  bad_tp.config.tp = 0;
  CHECK(f.store->put_worker_config(bad_tp).code() == store_errc::invalid_argument);
  CHECK(f.store->upsert_worker(sample_worker(0, "zero")).code() == store_errc::invalid_argument);
  CHECK(f.store->upsert_worker(sample_worker(UINT32_MAX, "last")).code() ==
        store_errc::invalid_argument);
  CHECK(f.store->accept(sample_entry(query_id{0})).code() == store_errc::invalid_argument);

  // Every error carries a message an operator can read.
  auto missing = f.store->get_model("nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("nope") != std::string::npos);
}

TEST_CASE_TEMPLATE("state store: worker registry upserts, changes state and lists by id", F,
                   STORE_FIXTURES) {
  F f;
  // 256 and 300 need more than one key byte: id order must still be numeric.
  REQUIRE(f.store->upsert_worker(sample_worker(300, "c")).ok());
  REQUIRE(f.store->upsert_worker(sample_worker(2, "a")).ok());
  REQUIRE(f.store->upsert_worker(sample_worker(256, "b")).ok());

  REQUIRE(f.store->set_worker_state(worker_id{256}, worker_state::active).ok());
  CHECK(f.store->set_worker_state(worker_id{7}, worker_state::active).code() ==
        store_errc::not_found);

  auto updated = sample_worker(2, "a");
  updated.endpoint = "tcp://10.9.9.9:5555";
  updated.state = worker_state::draining;
  REQUIRE(f.store->upsert_worker(updated).ok());
  f.reopen();

  auto listed = f.store->list_workers();
  REQUIRE(listed.ok());
  REQUIRE(listed.value().size() == 3);
  CHECK(listed.value()[0].id.value == 2);
  CHECK(listed.value()[1].id.value == 256);
  CHECK(listed.value()[2].id.value == 300);
  CHECK(listed.value()[0] == updated);
  CHECK(listed.value()[1].state == worker_state::active);
  CHECK(listed.value()[2].state == worker_state::starting);

  auto one = f.store->get_worker(worker_id{300});
  REQUIRE(one.ok());
  CHECK(one.value() == sample_worker(300, "c"));
}

TEST_CASE_TEMPLATE("state store: worker ids are never reused, also after a restart", F,
                   STORE_FIXTURES) {
  F f;
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 3; ++i) {
    auto id = f.store->allocate_worker_id();
    REQUIRE(id.ok());
    CHECK(id.value().value != 0);
    CHECK(seen.insert(id.value().value).second);
  }
  // A worker stored under an id never allocated (e.g. imported) also fences later allocations.
  REQUIRE(f.store->upsert_worker(sample_worker(40, "imported")).ok());
  f.reopen();
  auto next = f.store->allocate_worker_id();
  REQUIRE(next.ok());
  CHECK(next.value().value > 40);
  CHECK(*seen.rbegin() < next.value().value);
}

TEST_CASE_TEMPLATE("state store: plan epochs never go backwards, also after a restart", F,
                   STORE_FIXTURES) {
  F f;
  REQUIRE(f.store->put_plan(sample_plan(1)).ok());
  REQUIRE(f.store->put_plan(sample_plan(2)).ok());
  CHECK(f.store->put_plan(sample_plan(2)).code() == store_errc::stale_epoch);
  CHECK(f.store->put_plan(sample_plan(1)).code() == store_errc::stale_epoch);
  CHECK(f.store->put_plan(sample_plan(0)).code() == store_errc::stale_epoch);

  auto current = f.store->current_plan();
  REQUIRE(current.ok());
  CHECK(current.value() == sample_plan(2));

  // A rejected plan left nothing behind.
  auto stale = sample_plan(2);
  stale.note = "should not be stored";
  CHECK_FALSE(f.store->put_plan(stale).ok());
  CHECK(f.store->current_plan().value().note == "epoch 2");

  f.reopen();
  CHECK(f.store->put_plan(sample_plan(2)).code() == store_errc::stale_epoch);
  REQUIRE(f.store->current_plan().ok());
  CHECK(f.store->current_plan().value().epoch == 2);
  // Epochs may jump; 256 needs two key bytes and must still be "after" 3.
  REQUIRE(f.store->put_plan(sample_plan(3)).ok());
  REQUIRE(f.store->put_plan(sample_plan(256)).ok());
  f.reopen();
  CHECK(f.store->current_plan().value().epoch == 256);
  CHECK(f.store->put_plan(sample_plan(255)).code() == store_errc::stale_epoch);
  auto first = f.store->get_plan(1);
  REQUIRE(first.ok());
  CHECK(first.value() == sample_plan(1));
}

TEST_CASE_TEMPLATE("state store: journal lifecycle accepted, dispatched, finished or failed", F,
                   STORE_FIXTURES) {
  F f;
  const query_id a = accept_new(f, 10);
  const query_id b = accept_new(f, 20);

  auto stored = f.store->get_query(a);
  REQUIRE(stored.ok());
  CHECK(stored.value().state == journal_state::accepted);
  CHECK(stored.value().client_query_id == 1000 + a.value);
  CHECK(stored.value().accept_seq != 0);

  REQUIRE(f.store->mark_dispatched(a, worker_id{3}).ok());
  CHECK(f.store->get_query(a).value().state == journal_state::dispatched);
  CHECK(f.store->get_query(a).value().worker.value == 3);
  // Re-dispatch after a worker loss moves the query to another worker.
  REQUIRE(f.store->mark_dispatched(a, worker_id{5}).ok());
  CHECK(f.store->get_query(a).value().worker.value == 5);

  const finish_info done{128, 5'000'000, 180'000, 40'000};
  REQUIRE(f.store->mark_finished(a, done).ok());
  auto finished = f.store->get_query(a);
  REQUIRE(finished.ok());
  CHECK(finished.value().state == journal_state::finished);
  CHECK(finished.value().finish == done);

  const failure_info lost{failure_reason::worker_lost, "worker 5 stopped heartbeating", 6'000'000};
  REQUIRE(f.store->mark_failed(b, lost).ok());
  f.reopen();
  auto failed = f.store->get_query(b);
  REQUIRE(failed.ok());
  CHECK(failed.value().state == journal_state::failed);
  CHECK(failed.value().failure == lost);
  CHECK(f.store->get_query(a).value().finish == done);
}

TEST_CASE_TEMPLATE("state store: journal refuses transitions the lifecycle does not allow", F,
                   STORE_FIXTURES) {
  F f;
  const query_id a = accept_new(f);
  // Not dispatched yet: nothing ran, so nothing can have finished.
  CHECK(f.store->mark_finished(a, {}).code() == store_errc::invalid_transition);
  CHECK(f.store->mark_dispatched(a, worker_id{0}).code() == store_errc::invalid_argument);
  REQUIRE(f.store->mark_dispatched(a, worker_id{1}).ok());
  REQUIRE(f.store->mark_finished(a, {10, 1, 1, 1}).ok());

  // A duplicate completion must not end the query twice, nor undo its end.
  CHECK(f.store->mark_finished(a, {99, 2, 2, 2}).code() == store_errc::invalid_transition);
  CHECK(f.store->mark_failed(a, {}).code() == store_errc::invalid_transition);
  CHECK(f.store->mark_dispatched(a, worker_id{2}).code() == store_errc::invalid_transition);
  auto after = f.store->get_query(a);
  REQUIRE(after.ok());
  CHECK(after.value().state == journal_state::finished);
  CHECK(after.value().finish.output_tokens == 10);

  // Accepting the same id twice is a duplicate; a new entry must be in state accepted.
  CHECK(f.store->accept(sample_entry(a)).code() == store_errc::duplicate);
  auto not_new = sample_entry(query_id{a.value + 100});
  not_new.state = journal_state::dispatched;
  CHECK(f.store->accept(not_new).code() == store_errc::invalid_argument);

  CHECK(f.store->mark_dispatched(query_id{12345}, worker_id{1}).code() == store_errc::not_found);
  CHECK(f.store->mark_finished(query_id{12345}, {}).code() == store_errc::not_found);
  CHECK(f.store->mark_failed(query_id{12345}, {}).code() == store_errc::not_found);
}

TEST_CASE_TEMPLATE("state store: unfinished lists accepted and dispatched queries in accept order",
                   F, STORE_FIXTURES) {
  F f;
  // Ids allocated 1..5 but accepted out of id order, as concurrent intake would.
  std::vector<query_id> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(f.store->next_query_id().value());
  for (int i : {3, 0, 4, 1, 2}) REQUIRE(f.store->accept(sample_entry(ids[i])).ok());

  REQUIRE(f.store->mark_dispatched(ids[4], worker_id{1}).ok());
  REQUIRE(f.store->mark_dispatched(ids[1], worker_id{1}).ok());
  REQUIRE(f.store->mark_finished(ids[1], {1, 1, 1, 1}).ok());
  REQUIRE(f.store->mark_failed(ids[2], {failure_reason::cancelled, "client went away", 1}).ok());

  auto open = f.store->unfinished();
  REQUIRE(open.ok());
  CHECK(ids_of(open.value()) ==
        std::vector<std::uint64_t>{ids[3].value, ids[0].value, ids[4].value});
  CHECK(open.value()[2].state == journal_state::dispatched);
  CHECK(open.value()[0].state == journal_state::accepted);
}

TEST_CASE_TEMPLATE("state store: unfinished queries survive a restart", F, STORE_FIXTURES) {
  F f;
  std::vector<std::uint64_t> expected;
  for (int i = 0; i < 10; ++i) {
    const query_id id = accept_new(f, static_cast<std::uint64_t>(i));
    if (i % 3 == 0) {
      REQUIRE(f.store->mark_dispatched(id, worker_id{7}).ok());
      REQUIRE(f.store->mark_finished(id, {5, 9, 1, 1}).ok());
    } else {
      if (i % 3 == 1) REQUIRE(f.store->mark_dispatched(id, worker_id{7}).ok());
      expected.push_back(id.value);
    }
  }
  f.reopen();
  auto open = f.store->unfinished();
  REQUIRE(open.ok());
  CHECK(ids_of(open.value()) == expected);
  for (const auto& e : open.value()) {
    CHECK(e.client_id == "client-a");
    CHECK(e.ttft_slo_micros == 2'000'000);
    CHECK(e.worker.value == (e.state == journal_state::dispatched ? 7u : 0u));
  }
  // Accepting after the restart continues the accept order.
  const query_id later = accept_new(f);
  auto reopened = f.store->unfinished();
  REQUIRE(reopened.ok());
  CHECK(reopened.value().back().id == later);
}

TEST_CASE_TEMPLATE("state store: query ids are never reused, also after a restart", F,
                   STORE_FIXTURES) {
  F f;
  std::set<std::uint64_t> seen;
  for (int restart = 0; restart < 3; ++restart) {
    // More than one reservation block per round (the RocksDB fixture reserves 4 at a time),
    // some accepted and some only allocated.
    for (int i = 0; i < 6; ++i) {
      auto id = f.store->next_query_id();
      REQUIRE(id.ok());
      CHECK(id.value().value != 0);
      CHECK(seen.insert(id.value().value).second);
      if (i % 2 == 0) REQUIRE(f.store->accept(sample_entry(id.value())).ok());
    }
    f.reopen();
    auto next = f.store->next_query_id();
    REQUIRE(next.ok());
    CHECK(next.value().value > *seen.rbegin());
    seen.insert(next.value().value);
  }
  // An id journaled without being allocated (e.g. by a peer node) also fences allocation.
  REQUIRE(f.store->accept(sample_entry(query_id{10'000})).ok());
  f.reopen();
  CHECK(f.store->next_query_id().value().value > 10'000);
}

TEST_CASE_TEMPLATE("state store: compaction removes only ended entries, by age or count", F,
                   STORE_FIXTURES) {
  F f;
  // Eight queries: even ones finish at 100·i, i = 3 and 7 fail at 100·i, 1 and 5 stay open.
  std::vector<query_id> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(accept_new(f));
    const auto at = static_cast<std::uint64_t>(100 * i);
    if (i % 2 == 0) {
      REQUIRE(f.store->mark_dispatched(ids.back(), worker_id{1}).ok());
      REQUIRE(f.store->mark_finished(ids.back(), {1, at, 1, 1}).ok());
    } else if (i == 3 || i == 7) {
      REQUIRE(f.store->mark_failed(ids.back(), {failure_reason::internal, "x", at}).ok());
    }
  }
  // No rule: nothing goes.
  auto none = f.store->compact_journal({});
  REQUIRE(none.ok());
  CHECK(none.value() == 0);

  // Age: ended strictly before 300 → queries 0 and 2 (query 3 ended at 300 exactly stays).
  auto by_age = f.store->compact_journal({300, std::nullopt});
  REQUIRE(by_age.ok());
  CHECK(by_age.value() == 2);
  CHECK(f.store->get_query(ids[0]).code() == store_errc::not_found);
  CHECK(f.store->get_query(ids[2]).code() == store_errc::not_found);
  CHECK(f.store->get_query(ids[3]).ok());

  // Count: of the ended 3, 4, 6, 7 keep the two accepted last.
  auto by_count = f.store->compact_journal({0, 2});
  REQUIRE(by_count.ok());
  CHECK(by_count.value() == 2);
  CHECK(f.store->get_query(ids[3]).code() == store_errc::not_found);
  CHECK(f.store->get_query(ids[4]).code() == store_errc::not_found);
  CHECK(f.store->get_query(ids[6]).ok());
  CHECK(f.store->get_query(ids[7]).ok());

  // Unfinished entries are never removed, whatever the rule.
  auto all = f.store->compact_journal({UINT64_MAX, 0});
  REQUIRE(all.ok());
  CHECK(all.value() == 2);
  f.reopen();
  auto open = f.store->unfinished();
  REQUIRE(open.ok());
  CHECK(ids_of(open.value()) == std::vector<std::uint64_t>{ids[1].value, ids[5].value});
  // Compaction does not free ids for reuse.
  CHECK(f.store->next_query_id().value().value > ids.back().value);
}

}  // namespace
}  // namespace aladdin::test
