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

}  // namespace aladdin::node
