#pragma once
// Whether a peer we keep asking answers at all, and when to tell the operator that it does not.
// ZeroMQ connects lazily and retries forever without a word, so for a process that sends to a
// peer which may not be there (a worker registering with a control node, a load generator
// submitting to one) silence is the only sign. Time is injected: microseconds on any monotonic
// clock.

#include <cstdint>
#include <limits>

namespace aladdin {

class answer_watch {
 public:
  static constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

  // The first warning after `first` of silence, then one every `repeat` (0: only the first).
  answer_watch(std::uint64_t first, std::uint64_t repeat) : first_(first), repeat_(repeat) {}

  // A request went out: the silence starts now, unless one is already running.
  void asked(std::uint64_t now) {
    if (silent_) return;
    silent_ = true;
    since_ = now;
    next_ = now + first_;
  }

  // Something came back: the peer is there, and the silence and its warnings end.
  void answered() {
    silent_ = false;
    next_ = never;
  }

  bool silent() const { return silent_; }
  std::uint64_t silent_for(std::uint64_t now) const { return silent_ && now > since_ ? now - since_ : 0; }

  // Whether a warning is due at `now`: true once for each one that falls due.
  bool warn(std::uint64_t now) {
    if (!silent_ || now < next_) return false;
    next_ = repeat_ == 0 ? never : now + repeat_;
    return true;
  }

  // When the next warning falls due (a caller's wake-up); `never` when none will.
  std::uint64_t next_warning() const { return next_; }

 private:
  std::uint64_t first_;
  std::uint64_t repeat_;
  bool silent_ = false;
  std::uint64_t since_ = 0;
  std::uint64_t next_ = never;
};

}  // namespace aladdin
