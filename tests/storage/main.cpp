// The store suites: their own doctest main, so that they link the storage library alone.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
