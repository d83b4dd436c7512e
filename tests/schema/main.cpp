// The schema suites (codec, channels, records): their own doctest main, so that they link the
// schema library alone.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
