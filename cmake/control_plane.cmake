# The live control plane on top of the pure core: schema ← storage ← actors (cmake/actors.cmake)
# and the worker (cmake/worker.cmake).
# Included from the top-level CMakeLists.txt. Follows ../shared/docs/stack.md: C is enabled at
# the top (CapnProtoConfig.cmake needs it), RocksDB is linked shared, schema code is generated
# at build time and never committed.

find_package(CapnProto 0.9 CONFIG REQUIRED)
find_package(RocksDB 7.8 CONFIG REQUIRED)

# ---------------------------------------------------------------------------------------------
# schema/: one Cap'n Proto file per channel plus the persisted records, the codec, and one
# module per channel (its plain structs and their codec), linked once by the worker and the
# actors alike.
# The output directory must exist before capnp runs.
set(ALADDIN_SCHEMA_OUT ${CMAKE_BINARY_DIR}/schema)
file(MAKE_DIRECTORY ${ALADDIN_SCHEMA_OUT})
set(CAPNPC_SRC_PREFIX ${CMAKE_SOURCE_DIR}/schema)
set(CAPNPC_OUTPUT_DIR ${ALADDIN_SCHEMA_OUT})
capnp_generate_cpp(ALADDIN_SCHEMA_SRCS ALADDIN_SCHEMA_HDRS
  ${CMAKE_SOURCE_DIR}/schema/common.capnp
  ${CMAKE_SOURCE_DIR}/schema/client.capnp
  ${CMAKE_SOURCE_DIR}/schema/worker.capnp
  ${CMAKE_SOURCE_DIR}/schema/records.capnp)
unset(CAPNPC_SRC_PREFIX)
unset(CAPNPC_OUTPUT_DIR)

add_library(aladdin_schema STATIC
  ${ALADDIN_SCHEMA_SRCS} ${ALADDIN_SCHEMA_HDRS}
  ${CMAKE_SOURCE_DIR}/schema/codec.cpp
  ${CMAKE_SOURCE_DIR}/schema/channel_common.cpp
  ${CMAKE_SOURCE_DIR}/schema/client_channel.cpp
  ${CMAKE_SOURCE_DIR}/schema/worker_channel.cpp
  ${CMAKE_SOURCE_DIR}/schema/record_codec.cpp)
# Generated headers by bare name ("client.capnp.h"); our own headers as "schema/codec.hpp".
target_include_directories(aladdin_schema PUBLIC ${CMAKE_SOURCE_DIR} ${ALADDIN_SCHEMA_OUT})
target_link_libraries(aladdin_schema PUBLIC aladdin_core CapnProto::capnp CapnProto::kj)
target_compile_options(aladdin_schema PRIVATE ${ALADDIN_WARNINGS})
# Generated code is not ours to keep warning-free.
set_source_files_properties(${ALADDIN_SCHEMA_SRCS} PROPERTIES COMPILE_OPTIONS "-w")

# ---------------------------------------------------------------------------------------------
# storage/: the state store interface, its RocksDB implementation and an in-memory one.
add_library(aladdin_storage STATIC
  ${CMAKE_SOURCE_DIR}/storage/store_rules.cpp
  ${CMAKE_SOURCE_DIR}/storage/memory_store.cpp
  ${CMAKE_SOURCE_DIR}/storage/group_commit.cpp
  ${CMAKE_SOURCE_DIR}/storage/rocksdb_store.cpp)
target_link_libraries(aladdin_storage PUBLIC aladdin_schema PRIVATE RocksDB::rocksdb-shared)
target_compile_options(aladdin_storage PRIVATE ${ALADDIN_WARNINGS})

# ---------------------------------------------------------------------------------------------
if(ALADDIN_BUILD_TESTS)
  # A schema used only by the codec tests: hostile shapes (recursion, pointer lists) that the
  # production schemas do not have, to drive the nesting and traversal limits.
  set(ALADDIN_TEST_SCHEMA_OUT ${CMAKE_BINARY_DIR}/test_schema)
  file(MAKE_DIRECTORY ${ALADDIN_TEST_SCHEMA_OUT})
  set(CAPNPC_SRC_PREFIX ${CMAKE_SOURCE_DIR}/tests/schema)
  set(CAPNPC_OUTPUT_DIR ${ALADDIN_TEST_SCHEMA_OUT})
  set(CAPNPC_IMPORT_DIRS ${CMAKE_SOURCE_DIR}/schema)
  capnp_generate_cpp(ALADDIN_TEST_SCHEMA_SRCS ALADDIN_TEST_SCHEMA_HDRS
    ${CMAKE_SOURCE_DIR}/tests/schema/hostile.capnp)
  unset(CAPNPC_SRC_PREFIX)
  unset(CAPNPC_OUTPUT_DIR)
  unset(CAPNPC_IMPORT_DIRS)
  set_source_files_properties(${ALADDIN_TEST_SCHEMA_SRCS} PROPERTIES COMPILE_OPTIONS "-w")

  # A helper the crash test runs as a child process: it writes and exits without closing.
  add_executable(aladdin_store_crash_writer ${CMAKE_SOURCE_DIR}/tests/support/store_crash_writer.cpp)
  target_link_libraries(aladdin_store_crash_writer PRIVATE aladdin_storage)
  target_compile_options(aladdin_store_crash_writer PRIVATE ${ALADDIN_WARNINGS})

  # One test binary per folder, each labelled by its folder (aladdin_test_folder, top level).
  aladdin_test_folder(schema aladdin_schema ${ALADDIN_TEST_SCHEMA_SRCS} ${ALADDIN_TEST_SCHEMA_HDRS})
  target_include_directories(aladdin_schema_tests PRIVATE ${ALADDIN_TEST_SCHEMA_OUT})

  # The store tests poke RocksDB directly (foreign column families, corrupt values).
  aladdin_test_folder(storage aladdin_storage RocksDB::rocksdb-shared)
  target_compile_definitions(aladdin_storage_tests PRIVATE
    ALADDIN_CRASH_WRITER="$<TARGET_FILE:aladdin_store_crash_writer>")
  add_dependencies(aladdin_storage_tests aladdin_store_crash_writer)
endif()

# ---------------------------------------------------------------------------------------------
# The emulated GPU worker process and the control node's actors, each in its own file.
include(${CMAKE_SOURCE_DIR}/cmake/http.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/cmake/worker.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/cmake/actors.cmake OPTIONAL)
