#pragma once
// Decisions as they happen: the fleet simulator and the live node (`serve --decisions FILE`)
// record each query's placement and its outcome through these, so that both write the same
// rows (decision_record.hpp) from the same desk results.
//
// record_placement / record_refusal fill a record from what the placement desk decided.
// decision_log keeps the records of queries still in flight (the node's case: outcomes arrive
// one by one) and hands each back once its query has ended, finished or not, to be written.

#include <optional>
#include <unordered_map>
#include <vector>

#include "placement/decision_record.hpp"
#include "placement/placement_desk.hpp"

namespace aladdin {

// The query itself (id, arrival, prompt, SLO) and where and how the desk placed it at `now_s`.
void record_query(decision_record& r, const desk_query& q);
void record_placement(decision_record& r, const desk_dispatch& d, double now_s);
// It will not be placed: `kind` is never_fit or expired.
void record_refusal(decision_record& r, const desk_refusal& f, decision_kind kind, double now_s);

class decision_log {
 public:
  // Placed (again, after a loss: the new placement replaces the old one's record).
  void placed(const desk_query& q, const desk_dispatch& d, double now_s);
  // Refused or expired: it ends here.
  decision_record refused(const desk_query& q, const desk_refusal& f, decision_kind kind, double now_s);
  void first_token(query_id q, double now_s);
  // Its worker reported it finished.
  std::optional<decision_record> finished(query_id q, int output_tokens, double now_s);
  // It ended without an outcome to learn from (failed, cancelled).
  std::optional<decision_record> ended(query_id q);
  // Its worker is gone (or came back as a new incarnation): every placement there has ended.
  // A query placed again starts a record of its own: the log has a row per placement.
  std::vector<decision_record> worker_gone(worker_id w);
  std::size_t in_flight() const { return open_.size(); }

 private:
  std::unordered_map<query_id, decision_record> open_;
};

}  // namespace aladdin
