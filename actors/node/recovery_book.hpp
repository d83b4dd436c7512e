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

}  // namespace aladdin::node
