# The live control node: CAF actors around the core, the ZeroMQ bridge, the load generator and
# their commands (serve, loadgen, up). Included from control_plane.cmake, after schema/ and
# storage/ exist. Follows ../shared/docs/stack.md: Debian's CAF 0.17.6 ships no CMake config,
# so the imported targets are made by hand; cppzmq finds libzmq through pkg-config.

find_package(Threads REQUIRED)
find_package(cppzmq 4.9 CONFIG REQUIRED)
# aladdin serve's config file (actors/node/serve_options.cpp); Debian's is a shared library.
find_package(tomlplusplus 3.3 CONFIG REQUIRED)
# The node's /metrics (actors/node/node_metrics.cpp): prometheus-cpp's core only (registry,
# metrics, text serializer), not its HTTP exposer.
find_package(prometheus-cpp CONFIG REQUIRED)  # Debian 12: 1.0.1 (its config carries no version)

if(NOT TARGET CAF::core)
  find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
  find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _aladdin_caf_v REGEX "#define CAF_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" CAF_VERSION_NUM "${_aladdin_caf_v}")
  # The API used here is 0.17's (atoms as values, 0.17 inspectors): 0.18+ would not compile.
  if(CAF_VERSION_NUM LESS 1706 OR CAF_VERSION_NUM GREATER_EQUAL 1800)
    message(FATAL_ERROR "aladdin's actors need CAF 0.17.x, found ${CAF_VERSION_NUM}")
  endif()
  add_library(CAF::core SHARED IMPORTED)
  set_target_properties(CAF::core PROPERTIES
    IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()

# ---------------------------------------------------------------------------------------------
# Plain logic (no CAF): the outbox, the bridge, the node's bookkeeping, the load generator (the
# channels' codecs are in aladdin_schema). Kept apart from the CAF translation units, which cost
# 2–3 s each in headers alone.
set(ALADDIN_NODE_PLAIN_SOURCES
  ${CMAKE_SOURCE_DIR}/actors/wire/outbox.cpp
  ${CMAKE_SOURCE_DIR}/actors/wire/inbound_frame.cpp
  ${CMAKE_SOURCE_DIR}/actors/wire/zmq_bridge.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/ticket.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/node_metrics.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/node_status.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/status_client.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/serve_options.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/catalogue.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/intake_rules.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/recovery_book.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/worker_tracker.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/worker_registry.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/plan_keeper.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/fleet_roster.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/command_fleet.cpp
  ${CMAKE_SOURCE_DIR}/actors/node/process_launcher.cpp
  ${CMAKE_SOURCE_DIR}/actors/loadgen/loadgen.cpp
  ${CMAKE_SOURCE_DIR}/actors/loadgen/http_loadgen.cpp
  ${CMAKE_SOURCE_DIR}/actors/front/front_door.cpp
  ${CMAKE_SOURCE_DIR}/actors/front/front_door_metrics.cpp)
# The CAF shells: one translation unit per actor family, plus the composition root.
set(ALADDIN_NODE_CAF_SOURCES
  ${CMAKE_SOURCE_DIR}/actors/caf/intake_actor.cpp
  ${CMAKE_SOURCE_DIR}/actors/caf/placement_actor.cpp
  ${CMAKE_SOURCE_DIR}/actors/caf/worker_proxy.cpp
  ${CMAKE_SOURCE_DIR}/actors/caf/planning_actors.cpp
  ${CMAKE_SOURCE_DIR}/actors/caf/provisioner_actor.cpp
  ${CMAKE_SOURCE_DIR}/actors/caf/control_node.cpp)

add_library(aladdin_actors STATIC ${ALADDIN_NODE_PLAIN_SOURCES} ${ALADDIN_NODE_CAF_SOURCES})
target_include_directories(aladdin_actors PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(aladdin_actors PUBLIC
  aladdin_storage aladdin_schema aladdin_core aladdin_http aladdin_api CAF::core cppzmq Threads::Threads)
target_link_libraries(aladdin_actors PRIVATE tomlplusplus::tomlplusplus prometheus-cpp::core)
target_compile_options(aladdin_actors PRIVATE ${ALADDIN_WARNINGS})

# The commands register themselves statically (src/cli/command.hpp), so their sources go into
# the executable itself, where the linker cannot drop the registrations.
target_sources(aladdin PRIVATE
  ${CMAKE_SOURCE_DIR}/actors/cli/cmd_serve.cpp
  ${CMAKE_SOURCE_DIR}/actors/cli/cmd_loadgen.cpp
  ${CMAKE_SOURCE_DIR}/actors/cli/cmd_up.cpp
  ${CMAKE_SOURCE_DIR}/actors/cli/cmd_status.cpp)
target_link_libraries(aladdin PRIVATE aladdin_actors)

# ---------------------------------------------------------------------------------------------
if(ALADDIN_BUILD_TESTS)
  # Message-level tests of the actors on CAF's deterministic scheduler (virtual time), and unit
  # tests of the plain bookkeeping they wrap.
  aladdin_test_folder(actor aladdin_actors)

  # Real ZeroMQ on loopback, real RocksDB in temp dirs, the node as a child process for the
  # crash test; fake workers (tests/support/fake_worker.hpp) and the real emulated ones
  # (test_emulated_workers.cpp runs `aladdin worker` processes).
  aladdin_test_folder(integration aladdin_actors aladdin_worker ${CMAKE_SOURCE_DIR}/tests/support/fake_worker.cpp)
  target_compile_definitions(aladdin_integration_tests PRIVATE ALADDIN_BINARY="$<TARGET_FILE:aladdin>")
  add_dependencies(aladdin_integration_tests aladdin)
endif()

# The control plane's own benchmark: a separate executable, since bench/*.cpp all go into
# aladdin_bench, which links the core only.
if(ALADDIN_BUILD_BENCH)
  add_executable(aladdin_bench_control_plane
    ${CMAKE_SOURCE_DIR}/bench/control_plane/bench_control_plane.cpp
    ${CMAKE_SOURCE_DIR}/tests/support/fake_worker.cpp)
  target_link_libraries(aladdin_bench_control_plane PRIVATE aladdin_actors)
  target_compile_options(aladdin_bench_control_plane PRIVATE ${ALADDIN_WARNINGS})
  # The metrics' cost per client reply and per scrape (bench/control_plane/bench_metrics.cpp).
  find_package(benchmark CONFIG)
  if(benchmark_FOUND)
    add_executable(aladdin_bench_metrics ${CMAKE_SOURCE_DIR}/bench/control_plane/bench_metrics.cpp)
    target_link_libraries(aladdin_bench_metrics PRIVATE aladdin_actors benchmark::benchmark)
    target_compile_options(aladdin_bench_metrics PRIVATE ${ALADDIN_WARNINGS})
  endif()
  # The HTTP front door under load (bench/http/): a node with fake workers in a child process.
  add_executable(aladdin_bench_front_door
    ${CMAKE_SOURCE_DIR}/bench/http/bench_front_door.cpp
    ${CMAKE_SOURCE_DIR}/tests/support/fake_worker.cpp)
  target_link_libraries(aladdin_bench_front_door PRIVATE aladdin_actors)
  target_compile_options(aladdin_bench_front_door PRIVATE ${ALADDIN_WARNINGS})
endif()
