#pragma once
// Deterministic stand-in text for an emulated engine, which has no model: output token i of a
// query is one word (with a leading space), drawn from a fixed word list by a generator seeded
// with (seed, query id, i). So the same seed and query give the same words, whatever the
// chunking: words(s, q, 0, 5) == words(s, q, 0, 2) + words(s, q, 2, 5). The emulated worker's
// queryText (worker_core) and the emulated HTTP engine's SSE chunks both use it.

#include <cstdint>
#include <string>

namespace aladdin::worker {

// Output tokens [from, to) of query `query_id` under `seed`; empty when to <= from.
std::string synthetic_words(std::uint64_t seed, std::uint64_t query_id, std::uint32_t from,
                            std::uint32_t to);

}  // namespace aladdin::worker
