// decision_log (src/placement/decision_log.hpp): the node's record of each placement until its
// query ends, in the rows `simulate --decisions` writes.

#include <doctest/doctest.h>

#include "placement/decision_log.hpp"

using namespace aladdin;

namespace {

desk_query query(std::uint64_t id, int prompt) {
  desk_query q;
  q.id = query_id{id};
  q.prompt_tokens = prompt;
  q.arrival_s = 1.0;
  q.slo = {2.0, 0.1};
  return q;
}

desk_dispatch dispatch(std::uint64_t id, std::uint32_t worker) {
  desk_dispatch d;
  d.query = query_id{id};
  d.worker = worker_id{worker};
  d.refusals = 2;
  d.last_refusal = reject_reason::kv;
  d.predicted.predicted_ttft_s = 0.4;
  d.predicted.predicted_iteration_s = 0.05;
  d.expected_output_tokens = 30;
  return d;
}

}  // namespace

TEST_CASE("decision log: a placement's row carries the prediction and, once finished, the outcome") {
  decision_log log;
  log.placed(query(7, 500), dispatch(7, 3), 1.5);
  CHECK(log.in_flight() == 1);
  log.first_token(query_id{7}, 2.0);
  log.first_token(query_id{7}, 9.0);  // a repeat changes nothing
  const auto r = log.finished(query_id{7}, 21, 3.0);
  REQUIRE(r);
  CHECK(log.in_flight() == 0);
  CHECK(r->query == 7);
  CHECK(r->prompt_tokens == 500);
  CHECK(r->output_tokens == 21);
  CHECK(r->kind == decision_kind::planned);
  CHECK(r->worker == 3);
  CHECK(r->decided_s == 1.5);
  CHECK(r->refusals == 2);
  CHECK(r->last_refusal == reject_reason::kv);
  CHECK(r->predicted_ttft_s == 0.4);
  CHECK(r->ttft_s() == doctest::Approx(1.0));
  CHECK(r->atgt_s() == doctest::Approx(1.0 / 20));
  CHECK(r->met());
  CHECK_FALSE(log.finished(query_id{7}, 21, 3.0));  // ended once
}

TEST_CASE("decision log: refusals end at once; a lost worker ends its placements; a re-placement starts a row") {
  decision_log log;
  desk_refusal f;
  f.query = query_id{1};
  f.reason = reject_reason::kv;
  const decision_record refused = log.refused(query(1, 9000), f, decision_kind::never_fit, 4.0);
  CHECK(refused.kind == decision_kind::never_fit);
  CHECK(refused.output_tokens == -1);
  CHECK(refused.worker == -1);
  CHECK(log.in_flight() == 0);

  log.placed(query(2, 100), dispatch(2, 1), 1.0);
  log.placed(query(3, 100), dispatch(3, 2), 1.0);
  const auto gone = log.worker_gone(worker_id{1});
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].query == 2);
  CHECK_FALSE(gone[0].finished());
  CHECK(log.in_flight() == 1);
  log.placed(query(2, 100), dispatch(2, 2), 5.0);  // placed again elsewhere: a row of its own
  CHECK(log.in_flight() == 2);
  const auto ended = log.ended(query_id{3});
  REQUIRE(ended);
  CHECK(ended->finish_s == -1);
  CHECK_FALSE(log.ended(query_id{99}));
}
