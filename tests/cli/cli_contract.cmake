# The CLI contract, for every subcommand the binary lists:
#   --help exits 0 and prints a usage line;
#   an unknown flag exits 2 with exactly one line on stderr naming the flag.
# Also: an unknown subcommand exits 2.
execute_process(COMMAND ${ALADDIN} --help OUTPUT_VARIABLE top RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "aladdin --help exited ${rc}")
endif()
string(REGEX MATCHALL "\n  [a-z][a-z-]+" lines "${top}")
set(commands "")
foreach(l IN LISTS lines)
  string(STRIP "${l}" c)
  list(APPEND commands "${c}")
endforeach()
list(LENGTH commands n)
if(n EQUAL 0)
  message(FATAL_ERROR "aladdin --help listed no commands:\n${top}")
endif()

foreach(c IN LISTS commands)
  execute_process(COMMAND ${ALADDIN} ${c} --help OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "usage: aladdin ${c}")
    message(FATAL_ERROR "aladdin ${c} --help: exit ${rc}, output:\n${out}")
  endif()
  execute_process(COMMAND ${ALADDIN} ${c} --no-such-flag 1 ERROR_VARIABLE err RESULT_VARIABLE rc)
  string(STRIP "${err}" err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "aladdin ${c} --no-such-flag: exit ${rc} (want 2)")
  endif()
  if(NOT err MATCHES "--no-such-flag" OR err MATCHES "\n")
    message(FATAL_ERROR "aladdin ${c} --no-such-flag: stderr should be one line naming the flag, got:\n${err}")
  endif()
endforeach()

execute_process(COMMAND ${ALADDIN} no-such-command ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "aladdin no-such-command: exit ${rc} (want 2)")
endif()
# A target above the achievable ceiling is refused before any search, with the ceiling in the
# message; a bad --family and flags that cannot go together are usage errors.
execute_process(COMMAND ${ALADDIN} plan --family code --rate 8 --duration 120 --slo-ttft 500ms
                ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 2 OR NOT err MATCHES "above the achievable ceiling 0\\.[0-9]+")
  message(FATAL_ERROR "aladdin plan above the ceiling: exit ${rc} (want 2), stderr:\n${err}")
endif()
foreach(args "plan;--family;no-such-family" "simulate;--family;code;--trace;x.csv" "plan;--suite;--family;code")
  execute_process(COMMAND ${ALADDIN} ${args} ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "aladdin ${args}: exit ${rc} (want 2), stderr:\n${err}")
  endif()
endforeach()
# aladdin --version: the project's version (and git's description when built from a checkout).
execute_process(COMMAND ${ALADDIN} --version OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^aladdin [0-9]+\\.[0-9]+\\.[0-9]+")
  message(FATAL_ERROR "aladdin --version: exit ${rc}, output:\n${out}")
endif()
# aladdin status with no node there: one line saying so, exit 1.
execute_process(COMMAND ${ALADDIN} status --connect tcp://127.0.0.1:1 --timeout 200ms
                ERROR_VARIABLE err RESULT_VARIABLE rc)
string(STRIP "${err}" err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "no node answers at tcp://127.0.0.1:1" OR err MATCHES "\n")
  message(FATAL_ERROR "aladdin status without a node: exit ${rc} (want 1), stderr:\n${err}")
endif()
# The engine agent's, the HTTP engine's and loadgen --http's flags that cannot go together, and
# bad URLs, are one-line usage errors.
foreach(args "worker;--vllm;https://127.0.0.1:1;--connect;tcp://127.0.0.1:1"
             "worker;--vllm;127.0.0.1:8000;--connect;tcp://127.0.0.1:1"
             "worker;--vllm;http://127.0.0.1:1;--emulate;--connect;tcp://127.0.0.1:1"
             "worker;--http;0;--connect;tcp://127.0.0.1:1"
             "worker;--http;0;--vllm;http://127.0.0.1:1"
             "worker;--kv-tokens;1000;--connect;tcp://127.0.0.1:1"
             "worker"
             "loadgen"
             "loadgen;--http;ftp://x"
             "loadgen;--http;http://127.0.0.1:1;--connect;tcp://127.0.0.1:1"
             "loadgen;--connect;tcp://127.0.0.1:1;--slo-e2e;1s")
  execute_process(COMMAND ${ALADDIN} ${args} ERROR_VARIABLE err RESULT_VARIABLE rc)
  string(STRIP "${err}" err)
  if(NOT rc EQUAL 2 OR err MATCHES "\n")
    message(FATAL_ERROR "aladdin ${args}: exit ${rc} (want 2 with one line), stderr:\n${err}")
  endif()
endforeach()
message(STATUS "cli contract holds for: ${commands}")
