#include <doctest/doctest.h>

#include "util/answer_watch.hpp"

namespace aladdin {

TEST_CASE("answer watch: silence is told after the first delay, then at each repeat, never before") {
  answer_watch w(5'000'000, 30'000'000);
  CHECK_FALSE(w.silent());
  CHECK_FALSE(w.warn(100'000'000));  // nothing asked: nothing to tell
  w.asked(1'000'000);
  w.asked(3'000'000);  // a retry does not restart the silence
  CHECK(w.silent_for(5'999'999) == 4'999'999);
  CHECK_FALSE(w.warn(5'999'999));
  CHECK(w.next_warning() == 6'000'000);
  CHECK(w.warn(6'000'000));
  CHECK_FALSE(w.warn(6'000'001));  // once per warning
  CHECK(w.next_warning() == 36'000'000);
  CHECK(w.warn(36'000'000));
  CHECK(w.silent_for(36'000'000) == 35'000'000);
}

TEST_CASE("answer watch: an answer ends the silence; the next request starts a new one") {
  answer_watch w(2'000'000, 0);
  w.asked(0);
  w.answered();
  CHECK_FALSE(w.silent());
  CHECK_FALSE(w.warn(10'000'000));
  CHECK(w.next_warning() == answer_watch::never);
  w.asked(10'000'000);
  CHECK_FALSE(w.warn(11'999'999));
  CHECK(w.warn(12'000'000));
  CHECK_FALSE(w.warn(100'000'000));  // repeat 0: told once
}

}  // namespace aladdin
