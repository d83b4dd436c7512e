# actors/http/: the generic asynchronous HTTP/1.1 server and client (Boost.Beast/Asio,
# header-only): the node's OpenAI front door and the fake vLLM engine sit on the server, the
# engine agent (and later the etcd client) on the client. Included from cmake/control_plane.cmake.
find_package(Boost 1.74 REQUIRED)
find_package(Threads REQUIRED)

add_library(aladdin_http STATIC
  ${CMAKE_SOURCE_DIR}/actors/http/http_types.cpp
  ${CMAKE_SOURCE_DIR}/actors/http/http_server.cpp
  ${CMAKE_SOURCE_DIR}/actors/http/http_client.cpp)
target_include_directories(aladdin_http PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(aladdin_http PUBLIC Boost::headers Threads::Threads)
target_compile_options(aladdin_http PRIVATE ${ALADDIN_WARNINGS})


# bench/http/: the measurement the library was chosen by (Beast through this module against
# cpp-httplib, which Debian ships as a compiled library with only a pkg-config file).
if(ALADDIN_BUILD_BENCH)
  find_package(PkgConfig)
  if(PkgConfig_FOUND)
    pkg_check_modules(HTTPLIB IMPORTED_TARGET cpp-httplib)
  endif()
  if(HTTPLIB_FOUND)
    add_executable(aladdin_bench_http ${CMAKE_SOURCE_DIR}/bench/http/bench_http_servers.cpp)
    target_link_libraries(aladdin_bench_http PRIVATE aladdin_http PkgConfig::HTTPLIB)
    target_compile_options(aladdin_bench_http PRIVATE ${ALADDIN_WARNINGS})
  else()
    message(STATUS "cpp-httplib not found: bench/http is skipped")
  endif()
endif()

# src/api/: OpenAI's API as plain C++ (parse, validate, encode, decode; the token estimate).
# Not part of the pure core's library, which links the standard library alone: this one adds
# nlohmann-json.
find_package(nlohmann_json 3 CONFIG REQUIRED)
add_library(aladdin_api STATIC
  ${CMAKE_SOURCE_DIR}/src/api/openai.cpp
  ${CMAKE_SOURCE_DIR}/src/api/token_estimate.cpp)
target_include_directories(aladdin_api PUBLIC ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(aladdin_api PUBLIC nlohmann_json::nlohmann_json)
target_compile_options(aladdin_api PRIVATE ${ALADDIN_WARNINGS})

if(ALADDIN_BUILD_TESTS)
  # The server over real loopback sockets, driven by a raw-socket client, and the OpenAI module
  # (tests/http/, label http).
  aladdin_test_folder(http aladdin_http aladdin_api)
endif()
