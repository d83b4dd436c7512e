#pragma once
// A deterministic model of ONE continuous-batching LLM engine (one GPU worker), the ground truth
// that the fleet simulator and the emulated live worker run on. It plays the GPU: it knows each
// request's true output length, and its iteration times come from the measured ground_truth
// tables with seeded noise, never from the scheduler's fitted model.
//
// It owns no clock. The caller asks when the current iteration ends (next_event_time), and at
// that time calls step(), which completes the iteration, reports what happened and starts the
// next one if there is work. enqueue() on an idle engine starts an iteration at `now`; several
// enqueues at the same instant on an idle engine are batched together (the iteration is
// re-planned), as a real scheduler that wakes up once would see them. An arrival during an
// iteration waits for the next scheduling point, as in vLLM.
//
// Semantics follow vLLM v0.
//   Paged KV: a sequence of len = input + generated tokens holds ceil(len / block_size) blocks.
//   An iteration that takes it to len' needs ceil(len' / block_size) before it starts. Blocks
//   are the only memory; capacity = floor(kv_capacity_tokens / block_size) blocks.
//   Prefill-first: each iteration is either a prefill batch or a decode step. Prefill batch:
//   FCFS from the head of the waiting queue, while the whole prompt's blocks are free, up to
//   max_batched_tokens prompt tokens and max_num_seqs sequences; it stops at the first request
//   that does not fit (no skipping). A prompt longer than max_batched_tokens runs alone (vLLM
//   needs max_num_batched_tokens ≥ max_model_len, so an operator raises it; rejecting instead
//   would also strand a preempted sequence whose prompt grew past the limit). If no prefill can
//   be scheduled, one decode step for every running sequence.
//   Chunked: a token budget per iteration. Running decodes take one token each first (in
//   running order, as many as the budget allows), then sequences already being prefilled
//   continue their prompts, then waiting requests are admitted FCFS (blocks for the whole prompt
//   at admission, as vLLM allocates) with the rest of the budget; a prompt may span iterations.
//   Iteration time = ground_truth::mixed_s plus, for each chunk that continues a prompt,
//   ground_truth::context_penalty_s (it attends to the part prefilled before).
//   Preemption by recompute: before a decode step, while the sequences to decode need more new
//   blocks than are free, the most recently arrived running sequence (latest arrival, then
//   latest enqueue) is preempted: its blocks are freed and it goes to the FRONT of the waiting
//   queue; it keeps its generated tokens, which become part of its prompt when it is prefilled
//   again (input + generated tokens), and that prefill produces its next token. vLLM picks the
//   lowest-priority running sequence, which under FCFS is the latest arrival.
//   Tokens: a sequence's (re)prefill produces one token (the first one, or the next one after a
//   preemption); each decode step produces one per decoded sequence. A sequence finishes when it
//   has output_tokens tokens; its blocks are freed at the end of that iteration.
//   Rejection: a request whose whole sequence (input + output tokens) needs more blocks than the
//   cache holds is rejected at enqueue: it could never finish here (vLLM refuses a max_model_len
//   larger than the cache for the same reason). Non-positive lengths are rejected as invalid.
//   Left out: vLLM's 1% free-block watermark, swapping to CPU, prefix caching, beam search.
//
// Split-phase roles:
//   prefill_only: a request leaves after its prefill; the iteration's events carry a handoff
//   with its KV size (input tokens) and its first token. A request of output 1 completes instead.
//   decode_only: every request arrives with its prompt's KV and its first token (made by the
//   prefill instance): it needs blocks for input + 1 tokens but no prefill, and the first decode
//   step produces its 2nd token. Its output must be ≥ 2. Such a request is admitted (FCFS) only
//   when its blocks fit beside the new blocks the running sequences need for the next step, so
//   that a transferred cache is never admitted only to be evicted at once. If it is preempted
//   later it is recomputed locally, like any other sequence.
//
// Performance: a step is one pass over the running sequences and allocates nothing once the
// buffers have grown. That pass also keeps the statistics of the next decode step (count,
// new blocks needed, total context), so the common decode plan is O(1); only a preemption or a
// budget smaller than the decode batch falls back to a per-sequence pass. Events are written
// into buffers owned by the engine and returned by reference; they stay valid until the next
// step() or enqueue(). No maps: sequences live in a slab indexed by slot, queues hold slot
// indices.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sim/ground_truth.hpp"
#include "util/rng.hpp"

namespace aladdin::sim {

enum class batching_mode : std::uint8_t { prefill_first, chunked };
enum class engine_role : std::uint8_t { unified, prefill_only, decode_only };

struct engine_options {
  batching_mode mode = batching_mode::prefill_first;
  engine_role role = engine_role::unified;
  int block_size = 16;     // tokens per KV block (vLLM's default)
  int max_num_seqs = 256;  // running sequences at most (vLLM's default)
  // Prefill-first: prompt tokens per prefill batch. Chunked: token budget per iteration.
  // 0 picks the mode's default: 8192 for prefill-first; 2048 for chunked, vLLM's default budget
  // when chunked prefill is on (0.6 onwards; 0.4–0.5 used 512, which favours decode latency).
  int max_batched_tokens = 0;
  // Required; rounded down to whole blocks. kv_model::from_hardware gives a worker's capacity
  // from the hardware catalogue (GPU memory × 0.9 − weights).
  double kv_capacity_tokens = 0;
  double noise_sigma = 0.03;  // of the multiplicative per-iteration noise; 0 = exact tables
  // Report per-sequence token progress in step_result::progress. A fleet simulator that only
  // needs first tokens and completions can turn it off and save the writes.
  bool report_progress = true;

  static constexpr int default_prefill_first_tokens = 8192;
  static constexpr int default_chunked_tokens = 2048;
  int batched_tokens() const {
    if (max_batched_tokens > 0) return max_batched_tokens;
    return mode == batching_mode::chunked ? default_chunked_tokens : default_prefill_first_tokens;
  }
};

struct request {
  std::uint64_t query_id = 0;
  int input_tokens = 0;
  int output_tokens = 0;  // the true length: the engine is the GPU, it knows when a query stops
  double arrival_s = 0;
};

enum class enqueue_result : std::uint8_t { accepted, rejected_too_large, rejected_invalid };
const char* to_string(enqueue_result a);

enum class event_kind : std::uint8_t { first_token, completed, handoff, preempted };
const char* to_string(event_kind k);

struct engine_event {
  event_kind kind = event_kind::first_token;
  std::uint64_t query_id = 0;
  double time_s = 0;
  // first_token, completed, preempted: tokens generated so far (a preempted query keeps them).
  // handoff: KV tokens handed to the decode instance (the prompt).
  int tokens = 0;

  friend bool operator==(const engine_event&, const engine_event&) = default;
};

// A query that produced a token in the iteration that just ended, and its count so far.
struct token_progress {
  std::uint64_t query_id = 0;
  int generated = 0;

  friend bool operator==(const token_progress&, const token_progress&) = default;
};

enum class iteration_kind : std::uint8_t { none, prefill, decode, mixed };

struct iteration_info {
  iteration_kind kind = iteration_kind::none;
  double start_s = 0;
  double end_s = std::numeric_limits<double>::infinity();
  int prefill_tokens = 0;  // prompt tokens computed in this iteration
  int prefill_seqs = 0;    // sequences with a prompt chunk in it
  int decode_seqs = 0;     // sequences decoding one token
  double noise = 1;        // the factor applied to the tables' time

  friend bool operator==(const iteration_info&, const iteration_info&) = default;
};

struct step_result {
  iteration_info iteration;                  // the iteration that just ended
  std::span<const token_progress> progress;  // in running order (empty if not reported)
  // First tokens, completions and handoffs of the iteration (time = its end), then preemptions
  // made while planning the next one (same time).
  std::span<const engine_event> events;
};

// A running or waiting sequence, as the accessors show it.
struct sequence_view {
  std::uint64_t query_id = 0;
  int input_tokens = 0;
  int output_tokens = 0;
  int generated = 0;
  int blocks = 0;
  bool running = false;
};

class engine {
 public:
  // Throws std::invalid_argument on nonsensical options (non-positive sizes, no capacity).
  engine(engine_options options, const ground_truth& truth, std::uint64_t seed);

  // Admits a request at time now (≥ the start of the current iteration). On an idle engine the
  // next iteration starts at max(now, end of the last one). Throws std::logic_error when now is
  // past the end of the current iteration (step() was due first) or not finite.
  enqueue_result enqueue(const request& r, double now);

  bool busy() const { return current_.kind != iteration_kind::none; }
  // End of the current iteration; +infinity when idle.
  double next_event_time() const { return current_.end_s; }
  const iteration_info& current_iteration() const { return current_; }

  // Completes the current iteration (throws std::logic_error when idle) and starts the next.
  const step_result& step();

  int running_count() const { return static_cast<int>(running_.size()); }
  int waiting_count() const { return static_cast<int>(waiting_.size()); }
  int kv_blocks_used() const { return used_blocks_; }
  int kv_blocks_total() const { return total_blocks_; }
  int kv_blocks_free() const { return total_blocks_ - used_blocks_; }
  std::uint64_t preemptions() const { return preemptions_; }
  std::uint64_t iterations() const { return iterations_; }
  std::uint64_t completed() const { return completed_; }
  std::uint64_t handed_off() const { return handed_off_; }
  std::uint64_t rejected() const { return rejected_; }
  // Time the last completed iteration ended (0 before the first).
  double last_event_time() const { return last_end_; }

  // Tokens generated so far by a live (running or waiting) query; nullopt when unknown or gone.
  // A linear scan: for tests and tools, not for a hot path (use step_result::progress there).
  std::optional<int> generated_tokens(std::uint64_t query_id) const;
  // Running sequences in running order, then waiting ones in queue order. Allocates.
  std::vector<sequence_view> sequences() const;

  // Empty when every internal invariant holds (block accounting, capacity, limits, budget);
  // otherwise what is wrong. O(sequences): for tests.
  std::string check_invariants() const;

  const engine_options& options() const { return options_; }
  const ground_truth& truth() const { return truth_; }

 private:
  enum class seq_state : std::uint8_t { free, waiting, prefilling, decoding };
  struct sequence {
    std::uint64_t id = 0;
    std::uint64_t order = 0;  // enqueue counter: the tie-break after arrival time
    double arrival_s = 0;
    int input = 0;
    int output = 0;
    int generated = 0;
    int blocks = 0;
    int prompt = 0;           // tokens of the current (re)prefill: input + generated at admission
    int prefilled = 0;        // of prompt, computed by earlier iterations (chunked)
    int chunk = 0;            // of prompt, computed by the current iteration
    bool decode_now = false;  // decodes a token in the current iteration
    bool kv_ready = false;    // its KV is present: admission needs no prefill (decode-only)
    seq_state state = seq_state::free;
  };

  // FIFO of slot indices that also takes pushes at the front (preempted sequences).
  class slot_ring {
   public:
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::uint32_t front() const { return buf_[head_]; }
    std::uint32_t operator[](std::size_t i) const { return buf_[(head_ + i) & mask()]; }
    void push_back(std::uint32_t v);
    void push_front(std::uint32_t v);
    void pop_front();

   private:
    std::size_t mask() const { return buf_.size() - 1; }
    void grow();
    std::vector<std::uint32_t> buf_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
  };

  int blocks_for(long long tokens) const {
    return static_cast<int>((tokens + options_.block_size - 1) / options_.block_size);
  }
  void plan(double start, std::optional<double> noise);
  void undo_plan_from_idle();
  void admit_kv_ready();
  // Picks the decoding sequences of the next step (at most limit, in running order), preempting
  // until their new blocks fit, then allocates them. Returns the decode count; adds the context.
  int schedule_decodes(int limit, double* context);
  // The slow path of schedule_decodes: per-sequence flags, preemption.
  int schedule_decodes_one_by_one(int limit, double* context);
  void preempt_latest_arrival();
  int blocks_held(const sequence& s) const;
  void admit_for_prefill(std::uint32_t slot);
  std::uint32_t new_slot();
  void release(std::uint32_t slot);

  engine_options options_;
  ground_truth truth_;
  rng rng_;
  int total_blocks_ = 0;
  int used_blocks_ = 0;
  int budget_ = 0;

  std::vector<sequence> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> running_;  // admission order
  slot_ring waiting_;

  // The decoding sequences as of the next plan, kept by step()'s pass over the running list and
  // by admissions, so that the common decode step (everyone decodes, the new blocks fit) is
  // planned in O(1) instead of another pass: count, how many need a new block, total context.
  int decoding_count_ = 0;
  int decoding_need_ = 0;
  long long decoding_context_ = 0;
  int prefilling_count_ = 0;  // running sequences still prefilling (chunked mode spans them)
  // Set when the current iteration decodes every decoding sequence (the O(1) plan). Their
  // per-sequence new blocks are then assigned by step(); until then they are counted in
  // used_blocks_ as pending_blocks_.
  bool decode_all_ = false;
  int pending_blocks_ = 0;

  iteration_info current_;
  bool planned_from_idle_ = false;
  double last_end_ = 0;
  std::uint64_t next_order_ = 0;
  std::uint64_t preemptions_ = 0, iterations_ = 0, completed_ = 0, handed_off_ = 0, rejected_ = 0;

  std::vector<engine_event> events_;
  std::vector<token_progress> progress_;
  step_result result_;
};

}  // namespace aladdin::sim
