#include "sim/engine.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aladdin::sim {

const char* to_string(enqueue_result a) {
  switch (a) {
    case enqueue_result::accepted: return "accepted";
    case enqueue_result::rejected_too_large: return "rejected_too_large";
    case enqueue_result::rejected_invalid: return "rejected_invalid";
  }
  return "?";
}

const char* to_string(event_kind k) {
  switch (k) {
    case event_kind::first_token: return "first_token";
    case event_kind::completed: return "completed";
    case event_kind::handoff: return "handoff";
    case event_kind::preempted: return "preempted";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------

void engine::slot_ring::grow() {
  // Power-of-two capacity so that indices wrap with a mask; the elements are unrolled to the
  // start of the new buffer.
  std::vector<std::uint32_t> bigger(buf_.empty() ? 16 : 2 * buf_.size());
  for (std::size_t i = 0; i < size_; ++i) bigger[i] = (*this)[i];
  buf_.swap(bigger);
  head_ = 0;
}

void engine::slot_ring::push_back(std::uint32_t v) {
  if (size_ == buf_.size()) grow();
  buf_[(head_ + size_) & mask()] = v;
  ++size_;
}

void engine::slot_ring::push_front(std::uint32_t v) {
  if (size_ == buf_.size()) grow();
  head_ = (head_ + buf_.size() - 1) & mask();
  buf_[head_] = v;
  ++size_;
}

void engine::slot_ring::pop_front() {
  head_ = (head_ + 1) & mask();
  --size_;
}

// ---------------------------------------------------------------------------------------------

engine::engine(engine_options options, const ground_truth& truth, std::uint64_t seed)
    : options_(options), truth_(truth), rng_(seed) {
  if (options_.block_size <= 0) throw std::invalid_argument("engine: block_size must be > 0");
  if (options_.max_num_seqs <= 0) throw std::invalid_argument("engine: max_num_seqs must be > 0");
  if (options_.max_batched_tokens < 0)
    throw std::invalid_argument("engine: max_batched_tokens must be ≥ 0 (0 = the mode's default)");
  if (!(options_.noise_sigma >= 0) || !std::isfinite(options_.noise_sigma))
    throw std::invalid_argument("engine: noise_sigma must be a finite number ≥ 0");
  if (!std::isfinite(options_.kv_capacity_tokens) ||
      options_.kv_capacity_tokens / options_.block_size < 1 ||
      options_.kv_capacity_tokens / options_.block_size > 1e9)
    throw std::invalid_argument("engine: kv_capacity_tokens must hold at least one block");
  total_blocks_ = static_cast<int>(std::floor(options_.kv_capacity_tokens / options_.block_size));
  budget_ = options_.batched_tokens();
  running_.reserve(static_cast<std::size_t>(options_.max_num_seqs));
  events_.reserve(64);
  progress_.reserve(static_cast<std::size_t>(options_.max_num_seqs));
}

std::uint32_t engine::new_slot() {
  if (!free_slots_.empty()) {
    const std::uint32_t s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void engine::release(std::uint32_t slot) {
  sequence& s = slots_[slot];
  used_blocks_ -= s.blocks;
  s = sequence{};
  free_slots_.push_back(slot);
}

enqueue_result engine::enqueue(const request& r, double now) {
  if (!std::isfinite(now)) throw std::logic_error("engine::enqueue: time is not finite");
  if (busy() && now > current_.end_s)
    throw std::logic_error(
        "engine::enqueue: time is past the end of the current iteration; "
        "step() first");
  const bool decode_only = options_.role == engine_role::decode_only;
  if (r.input_tokens <= 0 || r.output_tokens <= 0 || (decode_only && r.output_tokens < 2) ||
      !std::isfinite(r.arrival_s)) {
    ++rejected_;
    return enqueue_result::rejected_invalid;
  }
  if (blocks_for(static_cast<long long>(r.input_tokens) + r.output_tokens) > total_blocks_) {
    ++rejected_;
    return enqueue_result::rejected_too_large;
  }
  const std::uint32_t slot = new_slot();
  sequence& s = slots_[slot];
  s.id = r.query_id;
  s.order = next_order_++;
  s.arrival_s = r.arrival_s;
  s.input = r.input_tokens;
  s.output = r.output_tokens;
  // A decode-only instance receives the prompt's KV and the first token from the prefill side.
  s.generated = decode_only ? 1 : 0;
  s.kv_ready = decode_only;
  s.state = seq_state::waiting;
  waiting_.push_back(slot);

  if (!busy()) {
    plan(std::max(now, last_end_), std::nullopt);
    planned_from_idle_ = busy();
  } else if (planned_from_idle_ && now == current_.start_s) {
    // Same instant as the iteration that an idle engine just started: the scheduler would have
    // seen both arrivals at once, so plan again with the same noise draw.
    const double start = current_.start_s;
    const double noise = current_.noise;
    undo_plan_from_idle();
    plan(start, noise);
  }
  return enqueue_result::accepted;
}

void engine::undo_plan_from_idle() {
  // An idle engine has nothing running or waiting, so its first plan only admitted requests
  // from the head of the waiting queue; putting them back in reverse restores the queue.
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    sequence& s = slots_[*it];
    used_blocks_ -= s.blocks;
    s.blocks = 0;
    s.prompt = s.prefilled = s.chunk = 0;
    s.decode_now = false;
    s.state = seq_state::waiting;
    waiting_.push_front(*it);
  }
  running_.clear();
  used_blocks_ -= pending_blocks_;
  pending_blocks_ = 0;
  decode_all_ = false;
  decoding_count_ = decoding_need_ = 0;
  decoding_context_ = 0;
  prefilling_count_ = 0;
  current_ = iteration_info{};
}

void engine::admit_for_prefill(std::uint32_t slot) {
  sequence& s = slots_[slot];
  s.prompt = s.input + s.generated;
  s.prefilled = 0;
  s.chunk = 0;
  // The prefill produces a token, so the blocks cover it too.
  s.blocks = blocks_for(static_cast<long long>(s.prompt) + 1);
  used_blocks_ += s.blocks;
  s.state = seq_state::prefilling;
  ++prefilling_count_;
  running_.push_back(slot);
}

void engine::admit_kv_ready() {
  // The blocks the running sequences take in their next decode step are spoken for.
  while (!waiting_.empty() && running_.size() < static_cast<std::size_t>(options_.max_num_seqs)) {
    const std::uint32_t slot = waiting_.front();
    sequence& s = slots_[slot];
    if (!s.kv_ready) break;
    const long long len = static_cast<long long>(s.input) + s.generated;
    const int need_next = blocks_for(len + 1);
    if (need_next > total_blocks_ - used_blocks_ - decoding_need_) break;
    waiting_.pop_front();
    s.blocks = blocks_for(len);
    used_blocks_ += s.blocks;
    s.state = seq_state::decoding;
    running_.push_back(slot);
    ++decoding_count_;
    decoding_context_ += len;
    if (need_next > s.blocks) ++decoding_need_;
  }
}

void engine::preempt_latest_arrival() {
  std::size_t victim = 0;
  for (std::size_t i = 1; i < running_.size(); ++i) {
    const sequence& a = slots_[running_[i]];
    const sequence& v = slots_[running_[victim]];
    if (a.arrival_s > v.arrival_s || (a.arrival_s == v.arrival_s && a.order > v.order)) victim = i;
  }
  const std::uint32_t slot = running_[victim];
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(victim));
  sequence& s = slots_[slot];
  if (s.state == seq_state::decoding) {
    const long long len = static_cast<long long>(s.input) + s.generated;
    --decoding_count_;
    decoding_context_ -= len;
    if (len == static_cast<long long>(s.blocks) * options_.block_size) --decoding_need_;
  } else if (s.state == seq_state::prefilling) {
    --prefilling_count_;
  }
  used_blocks_ -= s.blocks;
  s.blocks = 0;
  s.prompt = s.prefilled = s.chunk = 0;
  s.decode_now = false;
  s.kv_ready = false;  // its cache is gone: it will be prefilled again (input + generated)
  s.state = seq_state::waiting;
  waiting_.push_front(slot);
  ++preemptions_;
  events_.push_back({event_kind::preempted, s.id, current_.start_s, s.generated});
}

int engine::schedule_decodes(int limit, double* context) {
  if (decoding_count_ == 0) return 0;
  if (decoding_count_ <= limit && decoding_need_ <= total_blocks_ - used_blocks_) {
    decode_all_ = true;
    pending_blocks_ = decoding_need_;
    used_blocks_ += decoding_need_;
    *context += static_cast<double>(decoding_context_);
    return decoding_count_;
  }
  return schedule_decodes_one_by_one(limit, context);
}

int engine::schedule_decodes_one_by_one(int limit, double* context) {
  const long long bs = options_.block_size;
  while (true) {
    // One pass that allocates tentatively: between iterations a decoding sequence holds exactly
    // ceil(len / bs) blocks, so its next token needs a new block exactly when len fills its
    // last block.
    int count = 0, need = 0;
    long long ctx = 0;
    for (std::uint32_t i : running_) {
      sequence& s = slots_[i];
      if (s.state != seq_state::decoding) continue;
      if (count == limit) break;
      ++count;
      const long long len = static_cast<long long>(s.input) + s.generated;
      if (len == s.blocks * bs) {
        ++s.blocks;
        ++need;
      }
      s.decode_now = true;
      ctx += len;
    }
    if (need <= total_blocks_ - used_blocks_) {
      used_blocks_ += need;
      *context += static_cast<double>(ctx);
      return count;
    }
    // Rare: the new blocks do not fit. Undo, preempt one sequence, try again. A lone sequence
    // always fits: its whole length was checked against the cache at enqueue.
    for (std::uint32_t i : running_) {
      sequence& s = slots_[i];
      if (!s.decode_now) continue;
      s.decode_now = false;
      const long long len = static_cast<long long>(s.input) + s.generated;
      if ((s.blocks - 1) * bs == len) --s.blocks;
    }
    preempt_latest_arrival();
  }
}

void engine::plan(double start, std::optional<double> noise) {
  current_ = iteration_info{};
  current_.start_s = start;  // preemption events are stamped with it
  admit_kv_ready();

  const auto max_seqs = static_cast<std::size_t>(options_.max_num_seqs);
  double prefill_tokens = 0, prompt_work_s = 0, decode_context = 0, penalty_s = 0;
  int prefill_seqs = 0, decode_seqs = 0;

  if (options_.mode == batching_mode::prefill_first) {
    // A prefill batch if the head of the queue fits; otherwise a decode step.
    while (!waiting_.empty() && running_.size() < max_seqs) {
      const std::uint32_t slot = waiting_.front();
      const sequence& s = slots_[slot];
      if (s.kv_ready) break;  // FCFS: a cache-carrying request behind waits for its turn
      const int prompt = s.input + s.generated;
      if (prefill_seqs > 0 && prefill_tokens + prompt > budget_) break;
      if (blocks_for(static_cast<long long>(prompt) + 1) > total_blocks_ - used_blocks_) break;
      waiting_.pop_front();
      admit_for_prefill(slot);
      slots_[slot].chunk = prompt;
      prefill_tokens += prompt;
      prompt_work_s += truth_.prompt_s(prompt);
      ++prefill_seqs;
    }
    if (prefill_seqs == 0 && !running_.empty())
      decode_seqs = schedule_decodes(std::numeric_limits<int>::max(), &decode_context);
  } else {
    int budget = budget_;
    decode_seqs = schedule_decodes(budget, &decode_context);
    budget -= decode_seqs;
    auto give_chunk = [&](sequence& s) {
      const int c = std::min(s.prompt - s.prefilled, budget);
      s.chunk = c;
      budget -= c;
      prefill_tokens += c;
      prompt_work_s += truth_.prompt_s(c);
      ++prefill_seqs;
      penalty_s += truth_.context_penalty_s(c, s.prefilled);
    };
    // Prompts already started continue first, in running order (the pass is skipped when none).
    int seen = 0;
    for (std::size_t k = 0; k < running_.size() && seen < prefilling_count_ && budget > 0; ++k) {
      sequence& s = slots_[running_[k]];
      if (s.state != seq_state::prefilling) continue;
      ++seen;
      give_chunk(s);
    }
    while (budget > 0 && !waiting_.empty() && running_.size() < max_seqs) {
      const std::uint32_t slot = waiting_.front();
      const sequence& s = slots_[slot];
      if (s.kv_ready) break;
      if (blocks_for(static_cast<long long>(s.input) + s.generated + 1) >
          total_blocks_ - used_blocks_)
        break;
      waiting_.pop_front();
      admit_for_prefill(slot);
      give_chunk(slots_[slot]);
    }
  }

  if (prefill_seqs == 0 && decode_seqs == 0) {
    current_ = iteration_info{};
    return;
  }
  current_.kind = prefill_seqs > 0
                      ? (decode_seqs > 0 ? iteration_kind::mixed : iteration_kind::prefill)
                      : iteration_kind::decode;
  current_.prefill_tokens = static_cast<int>(prefill_tokens);
  current_.prefill_seqs = prefill_seqs;
  current_.decode_seqs = decode_seqs;
  const double base =
      truth_.mixed_s(prompt_work_s, prefill_seqs, decode_seqs, decode_context) + penalty_s;
  current_.noise = noise ? *noise : ground_truth::noise_factor(rng_, options_.noise_sigma);
  current_.end_s = start + base * current_.noise;
}

const step_result& engine::step() {
  if (!busy()) throw std::logic_error("engine::step: the engine is idle");
  events_.clear();
  progress_.clear();
  const double t = current_.end_s;
  const bool prefill_only = options_.role == engine_role::prefill_only;

  const long long bs = options_.block_size;
  int count = 0, need = 0, prefilling = 0;
  long long context = 0;
  std::size_t keep = 0;
  for (std::size_t k = 0; k < running_.size(); ++k) {
    const std::uint32_t slot = running_[k];
    sequence& s = slots_[slot];
    bool produced = false;
    if (s.chunk > 0) {
      s.prefilled += s.chunk;
      s.chunk = 0;
      if (s.prefilled == s.prompt) {
        s.state = seq_state::decoding;
        produced = true;
      }
    } else if (decode_all_ ? s.state == seq_state::decoding : s.decode_now) {
      // The O(1) plan counted this sequence's new block as pending; it takes it now.
      if (decode_all_ && static_cast<long long>(s.input) + s.generated == s.blocks * bs) ++s.blocks;
      s.decode_now = false;
      produced = true;
    }
    if (produced) {
      ++s.generated;
      if (s.generated == 1) events_.push_back({event_kind::first_token, s.id, t, 1});
      if (options_.report_progress) progress_.push_back({s.id, s.generated});
      if (s.generated >= s.output) {
        events_.push_back({event_kind::completed, s.id, t, s.generated});
        ++completed_;
        release(slot);
        continue;
      }
      if (prefill_only) {
        // The prompt's KV goes to a decode instance; the first token's KV is computed there.
        events_.push_back({event_kind::handoff, s.id, t, s.input});
        ++handed_off_;
        release(slot);
        continue;
      }
    }
    if (s.state == seq_state::decoding) {
      const long long len = static_cast<long long>(s.input) + s.generated;
      ++count;
      context += len;
      if (len == s.blocks * bs) ++need;
    } else {
      ++prefilling;
    }
    running_[keep++] = slot;
  }
  running_.resize(keep);
  decode_all_ = false;
  pending_blocks_ = 0;
  decoding_count_ = count;
  decoding_need_ = need;
  decoding_context_ = context;
  prefilling_count_ = prefilling;

  result_.iteration = current_;
  ++iterations_;
  last_end_ = t;
  planned_from_idle_ = false;
  plan(t, std::nullopt);
  result_.progress = progress_;
  result_.events = events_;
  return result_;
}

std::optional<int> engine::generated_tokens(std::uint64_t query_id) const {
  for (const auto& s : slots_)
    if (s.state != seq_state::free && s.id == query_id) return s.generated;
  return std::nullopt;
}

int engine::blocks_held(const sequence& s) const {
  // Under the O(1) decode plan a sequence's new block is counted as pending until step().
  if (decode_all_ && s.state == seq_state::decoding &&
      static_cast<long long>(s.input) + s.generated ==
          static_cast<long long>(s.blocks) * options_.block_size)
    return s.blocks + 1;
  return s.blocks;
}

std::vector<sequence_view> engine::sequences() const {
  std::vector<sequence_view> out;
  auto view = [&](std::uint32_t i, bool running) {
    const sequence& s = slots_[i];
    out.push_back({s.id, s.input, s.output, s.generated, blocks_held(s), running});
  };
  for (std::uint32_t i : running_) view(i, true);
  for (std::size_t k = 0; k < waiting_.size(); ++k) view(waiting_[k], false);
  return out;
}

std::string engine::check_invariants() const {
  auto fail = [](const std::string& what) { return "engine invariant: " + what; };
  if (used_blocks_ < 0 || used_blocks_ > total_blocks_)
    return fail("blocks used " + std::to_string(used_blocks_) + " outside [0, " +
                std::to_string(total_blocks_) + "]");
  if (running_.size() > static_cast<std::size_t>(options_.max_num_seqs))
    return fail("more running sequences than max_num_seqs");
  long long held = 0;
  int decoding = 0;
  long long context = 0;
  for (std::uint32_t i : running_) {
    const sequence& s = slots_[i];
    const long long len = static_cast<long long>(s.input) + s.generated;
    const std::string who = "query " + std::to_string(s.id);
    if (s.generated >= s.output) return fail(who + " is running although finished");
    if (s.state == seq_state::prefilling) {
      if (s.prompt != len || s.blocks != blocks_for(len + 1))
        return fail(who + " holds the wrong blocks for its prefill");
      if (s.prefilled + s.chunk > s.prompt) return fail(who + " prefills past its prompt");
    } else if (s.state == seq_state::decoding) {
      const bool decodes_now = decode_all_ || s.decode_now;
      if (blocks_held(s) != blocks_for(len + (decodes_now ? 1 : 0)))
        return fail(who + " holds " + std::to_string(blocks_held(s)) + " blocks for " +
                    std::to_string(len) + " tokens");
      ++decoding;
      context += len;
    } else {
      return fail(who + " is in the running list but not running");
    }
    held += blocks_held(s);
  }
  if (decoding != decoding_count_ || context != decoding_context_ ||
      static_cast<int>(running_.size()) - decoding != prefilling_count_)
    return fail("decode statistics out of date");
  for (std::size_t k = 0; k < waiting_.size(); ++k) {
    const sequence& s = slots_[waiting_[k]];
    if (s.state != seq_state::waiting || s.blocks != 0)
      return fail("waiting query " + std::to_string(s.id) + " holds blocks or is not waiting");
  }
  if (held != used_blocks_) return fail("blocks held by sequences differ from the count");
  if (!decode_all_ && pending_blocks_ != 0) return fail("pending blocks without an O(1) decode");
  if (busy()) {
    const int tokens = current_.prefill_tokens + current_.decode_seqs;
    if (options_.mode == batching_mode::chunked && tokens > budget_)
      return fail("iteration of " + std::to_string(tokens) + " tokens over the budget");
    if (options_.mode == batching_mode::prefill_first) {
      if (current_.kind == iteration_kind::mixed) return fail("mixed iteration in prefill-first");
      if (current_.prefill_seqs > 1 && current_.prefill_tokens > budget_)
        return fail("prefill batch over max_batched_tokens");
    }
    if (!(current_.end_s > current_.start_s)) return fail("iteration of no duration");
  }
  return {};
}

}  // namespace aladdin::sim
