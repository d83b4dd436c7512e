# libFuzzer targets (tests/fuzz/, -DALADDIN_FUZZ=ON with clang): every decoder that reads bytes
# from outside. Included from the top-level CMakeLists.txt after the control plane, so that the
# schema library exists. Build them with `cmake --build build-fuzz --target aladdin_fuzz`
# (scripts/fuzz.sh does); nothing else of the build is needed.
#
# Every target of a fuzz build is compiled with coverage instrumentation and ASan+UBSan
# (top-level CMakeLists.txt); only the fuzz targets link libFuzzer's main.

set(ALADDIN_FUZZ_TARGETS)
function(aladdin_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCES;LINKS;DEFINES" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${F_LINKS})
  target_compile_definitions(${name} PRIVATE ${F_DEFINES})
  target_compile_options(${name} PRIVATE ${ALADDIN_WARNINGS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set(ALADDIN_FUZZ_TARGETS ${ALADDIN_FUZZ_TARGETS} ${name} PARENT_SCOPE)
endfunction()

# The two channels as the node's bridge reads them (actors/wire/inbound_frame.cpp, which needs
# the schema only, not the actors library).
foreach(ch client worker)
  aladdin_fuzz_target(fuzz_${ch}_frame
    SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${ch}_frame.cpp ${CMAKE_SOURCE_DIR}/actors/wire/inbound_frame.cpp
    LINKS aladdin_schema)
endforeach()

# The trace readers, one executable per format.
foreach(format azure mooncake csv)
  aladdin_fuzz_target(fuzz_trace_${format}
    SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_trace.cpp
    LINKS aladdin_core
    DEFINES ALADDIN_FUZZ_TRACE_FORMAT=${format})
endforeach()

aladdin_fuzz_target(fuzz_profile_csv
  SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_profile_csv.cpp
  LINKS aladdin_core)

aladdin_fuzz_target(fuzz_serve_config
  SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_serve_config.cpp
          ${CMAKE_SOURCE_DIR}/actors/node/serve_options.cpp
  LINKS aladdin_core tomlplusplus::tomlplusplus)

# OpenAI's request bodies (the front door) and engine answers, chunks and SSE (the worker agent).
aladdin_fuzz_target(fuzz_openai
  SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_openai.cpp
  LINKS aladdin_api)

# Writes the channel targets' seeds from the channel codecs (tests/fuzz/make_seeds.cpp).
add_executable(aladdin_fuzz_seeds ${CMAKE_SOURCE_DIR}/tests/fuzz/make_seeds.cpp)
target_link_libraries(aladdin_fuzz_seeds PRIVATE aladdin_schema)

add_custom_target(aladdin_fuzz DEPENDS ${ALADDIN_FUZZ_TARGETS} aladdin_fuzz_seeds)
