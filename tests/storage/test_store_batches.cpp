// The batched journal calls (accept_all, mark_dispatched_all, mark_finished_all), run over
// every implementation: each element follows its single call's rules, in order, and sees the
// elements before it; what is accepted survives a restart.

#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "store_fixtures.hpp"

namespace aladdin::test {
namespace {


TEST_CASE_TEMPLATE("state store: batched journal calls follow the single calls' rules, element by element", F,
                   STORE_FIXTURES) {
  F f;
  std::vector<journal_entry> entries;
  for (int i = 0; i < 5; ++i) entries.push_back(sample_entry(f.store->next_query_id().value(), 100 + i));
  // A duplicate inside the batch and an invalid entry (id 0) are refused; the rest go in.
  entries.push_back(entries[1]);
  entries.push_back(sample_entry(query_id{0}));
  const auto accepted = f.store->accept_all(entries);
  REQUIRE(accepted.size() == 7);
  for (int i = 0; i < 5; ++i) CHECK(accepted[i].ok());
  CHECK(accepted[5].code() == store_errc::duplicate);
  CHECK(accepted[6].code() == store_errc::invalid_argument);
  // Accept order is batch order.
  const auto open = f.store->unfinished().value();
  REQUIRE(open.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(open[i].id == entries[i].id);
  // A batch after the first sees it: every one a duplicate now.
  for (const auto& s : f.store->accept_all(std::span(entries).first(5))) CHECK(s.code() == store_errc::duplicate);

  std::vector<std::pair<query_id, worker_id>> dispatches;
  for (int i = 0; i < 4; ++i) dispatches.emplace_back(entries[i].id, worker_id{7});
  dispatches.emplace_back(entries[0].id, worker_id{9});     // again, later in the batch: wins
  dispatches.emplace_back(query_id{999999}, worker_id{7});  // unknown
  const auto dispatched = f.store->mark_dispatched_all(dispatches);
  REQUIRE(dispatched.size() == 6);
  for (int i = 0; i < 5; ++i) CHECK(dispatched[i].ok());
  CHECK(dispatched[5].code() == store_errc::not_found);
  CHECK(f.store->get_query(entries[0].id).value().worker.value == 9);

  const finish_info done{64, 5'000'000, 100'000, 20'000};
  std::vector<std::pair<query_id, finish_info>> finishes = {
      {entries[0].id, done}, {entries[1].id, done},
      {entries[0].id, done},  // twice in one batch: the second is refused
      {entries[4].id, done},  // never dispatched: refused
  };
  const auto finished = f.store->mark_finished_all(finishes);
  REQUIRE(finished.size() == 4);
  CHECK(finished[0].ok());
  CHECK(finished[1].ok());
  CHECK(finished[2].code() == store_errc::invalid_transition);
  CHECK(finished[3].code() == store_errc::invalid_transition);

  f.reopen();
  CHECK(f.store->get_query(entries[0].id).value().state == journal_state::finished);
  CHECK(f.store->get_query(entries[0].id).value().finish == done);
  CHECK(f.store->get_query(entries[2].id).value().state == journal_state::dispatched);
  CHECK(f.store->get_query(entries[4].id).value().state == journal_state::accepted);
  CHECK(f.store->unfinished().value().size() == 3);
  // Ids stay unique after a restart, past everything the batch journaled.
  CHECK(f.store->next_query_id().value().value > entries[4].id.value);
}

}  // namespace
}  // namespace aladdin::test
