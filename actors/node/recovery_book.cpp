#include "actors/node/recovery_book.hpp"

#include <algorithm>

namespace aladdin::node {

recovery_book::recovery_book(std::vector<journal_entry> unfinished) {
  entries_.reserve(unfinished.size());
  for (auto& e : unfinished) entries_.emplace(e.id.value, std::move(e));
}

std::optional<journal_entry> recovery_book::claim(query_id q) {
  const auto it = entries_.find(q.value);
  if (it == entries_.end()) return std::nullopt;
  journal_entry e = std::move(it->second);
  entries_.erase(it);
  return e;
}

std::vector<journal_entry> recovery_book::take_rest() {
  std::vector<journal_entry> out;
  out.reserve(entries_.size());
  for (auto& [id, e] : entries_) out.push_back(std::move(e));
  entries_.clear();
  std::sort(out.begin(), out.end(),
            [](const journal_entry& a, const journal_entry& b) { return a.accept_seq < b.accept_seq; });
  return out;
}

readoption readopt(recovery_book& book, state_store& store, const tracker_report& report,
                   const node_clock& clock, node_clock::steady now, std::vector<outbound_frame>& frames) {
  readoption r;
  auto consider = [&](query_id q, bool running, int generated) {
    auto e = book.claim(q);
    if (!e) {
      r.cancel.push_back(q);
      return;
    }
    if (e->state != journal_state::dispatched || e->worker.value != report.worker)
      (void)store.mark_dispatched(q, worker_id{report.worker});
    r.adopt.push_back({ticket_from_journal(*e, clock, now), running, generated});
  };
  for (const auto& [q, n] : report.unknown_running) consider(q, true, n);
  for (const auto q : report.unknown_waiting) consider(q, false, 0);
  for (const auto& done : report.unknown_completed)
    if (auto e = book.claim(query_id{done.query_id}))
      finish_recovered(store, frames, *e, done, clock.wall_micros(now));
  return r;
}

}  // namespace aladdin::node
