# The emulated GPU worker (actors/worker/): the `aladdin worker` subcommand and its library.
# Included from cmake/control_plane.cmake, after the schema library exists.

find_package(cppzmq 4.9 CONFIG REQUIRED)  # the target is `cppzmq`, found through pkg-config

# The state machine (pure: the engine and the worker channel's plain messages) and the ZeroMQ
# loop; the channel's codec is schema/worker_channel.cpp in aladdin_schema. One library; only
# worker_process.cpp touches ZeroMQ, hence PRIVATE.
add_library(aladdin_worker STATIC
  ${CMAKE_SOURCE_DIR}/actors/worker/worker_core.cpp
  ${CMAKE_SOURCE_DIR}/actors/worker/synthetic_text.cpp
  ${CMAKE_SOURCE_DIR}/actors/worker/worker_session.cpp
  ${CMAKE_SOURCE_DIR}/actors/worker/engine_agent_core.cpp
  ${CMAKE_SOURCE_DIR}/actors/worker/engine_agent.cpp
  ${CMAKE_SOURCE_DIR}/actors/worker/http_engine.cpp
  ${CMAKE_SOURCE_DIR}/actors/worker/vllm_metrics.cpp
  ${CMAKE_SOURCE_DIR}/actors/worker/worker_process.cpp)
target_link_libraries(aladdin_worker PUBLIC aladdin_schema aladdin_api aladdin_http PRIVATE cppzmq)
target_compile_options(aladdin_worker PRIVATE ${ALADDIN_WARNINGS})

# The subcommand registers itself through a static object, so its source is compiled into the
# executable (a static library member nobody references would be dropped by the linker).
target_sources(aladdin PRIVATE ${CMAKE_SOURCE_DIR}/actors/worker/cmd_worker.cpp)
target_link_libraries(aladdin PRIVATE aladdin_worker)

if(ALADDIN_BUILD_TESTS)
  # The worker's state machine on a fake clock, and the process tests that spawn `aladdin
  # worker` and play the control node on a real ROUTER socket (hence cppzmq directly). The
  # channel's codec is tested with the schema (tests/schema/test_channels.cpp).
  aladdin_test_folder(worker aladdin_worker cppzmq)
  target_compile_definitions(aladdin_worker_tests PRIVATE ALADDIN_BINARY="$<TARGET_FILE:aladdin>")
  add_dependencies(aladdin_worker_tests aladdin)
endif()
