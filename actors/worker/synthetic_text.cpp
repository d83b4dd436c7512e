#include "actors/worker/synthetic_text.hpp"

#include <iterator>

#include "util/rng.hpp"

namespace aladdin::worker {

namespace {

constexpr const char* words[] = {
    "the",    "of",     "and",   "to",     "in",     "a",      "is",     "that",  "for",   "it",
    "as",     "was",    "with",  "be",     "by",     "on",     "not",    "he",    "this",  "are",
    "or",     "his",    "from",  "at",     "which",  "but",    "have",   "an",    "had",   "they",
    "you",    "were",   "their", "one",    "all",    "we",     "can",    "her",   "has",   "there",
    "been",   "if",     "more",  "when",   "will",   "would",  "who",    "so",    "no",    "model",
    "token",  "engine", "batch", "cache",  "query",  "worker", "latency", "queue", "fleet", "node",
    "prompt", "answer", "time",  "memory",
};

}  // namespace

std::string synthetic_words(std::uint64_t seed, std::uint64_t query_id, std::uint32_t from,
                            std::uint32_t to) {
  std::string out;
  for (std::uint32_t i = from; i < to; ++i) {
    // One generator per token, so any range is drawn alike however the query is chunked.
    rng r(seed ^ (query_id * 0x9e3779b97f4a7c15ULL) ^ (static_cast<std::uint64_t>(i) << 1));
    out += ' ';
    out += words[r.below(std::size(words))];
  }
  return out;
}

}  // namespace aladdin::worker
