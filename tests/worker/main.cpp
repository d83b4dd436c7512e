// The worker test binary: the emulated worker's state machine and envelopes on a fake clock, and
// the real `aladdin worker` process against a fake control node on loopback.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
