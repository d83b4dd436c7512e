#pragma once
// The queries a restarted node found unfinished in its journal, until each is accounted for.
//
// After a crash the node cannot tell which of them still run: a worker that re-registers
// reports what it holds in its heartbeats (running and waiting ids), and every query claimed
// that way is re-adopted where it is. Whatever no worker has claimed when the grace period ends
// is placed again (or, if it was never dispatched, placed for the first time). A completion
// that reaches the node for a query still in the book (the worker finished it while the node
// was down) ends it. So every accepted query is either re-dispatched or ends with a reply:
// none vanishes.

#include <cstddef>
#include <optional>
#include <unordered_map>
#include <vector>

#include "actors/node/ticket.hpp"
#include "actors/node/worker_tracker.hpp"
#include "schema/record_types.hpp"

namespace aladdin::node {

class recovery_book {
 public:
  recovery_book() = default;
  explicit recovery_book(std::vector<journal_entry> unfinished);

  // The entry, if it is still unclaimed; it is claimed (removed) by this call.
  std::optional<journal_entry> claim(query_id q);
  // Everything still unclaimed, in acceptance order; the book is empty afterwards.
  std::vector<journal_entry> take_rest();

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::unordered_map<std::uint64_t, journal_entry> entries_;
};

// What to do with the queries a worker reports that its proxy does not track.
struct readoption {
  struct adopted {
    ticket query;
    bool running = false;
    int generated_tokens = 0;
  };
  std::vector<adopted> adopt;     // from the book: keep them where they are
  std::vector<query_id> cancel;   // unknown, ended, or placed elsewhere after the grace period
};

// Claims from `book` what `report` lists as running, waiting or completed on report.worker:
// the claimed running and waiting ones are re-adopted (the journal is told where they are),
// the claimed completed ones are ended (journal, then a reply appended to `frames`), the
// unclaimed running and waiting ones are to be cancelled.
readoption readopt(recovery_book& book, state_store& store, const tracker_report& report,
                   const node_clock& clock, node_clock::steady now, std::vector<outbound_frame>& frames);

}  // namespace aladdin::node
