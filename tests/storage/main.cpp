// The control-plane test binary (schema and storage): its own doctest main, separate from the
// core's unit tests so that those keep linking the core alone.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
