# Fails when a file under src/ includes a header of CAF, ZeroMQ, RocksDB or Cap'n Proto (or a
# generated schema header). The pure core must build and test with the standard library alone.
file(GLOB_RECURSE files "${SRC_DIR}/*.hpp" "${SRC_DIR}/*.cpp" "${SRC_DIR}/*.h")
set(bad "")
foreach(f IN LISTS files)
  file(STRINGS "${f}" hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](caf/|zmq|rocksdb/|capnp/|kj/|[^>\"]*\\.capnp\\.h)")
  if(hits)
    list(APPEND bad "${f}: ${hits}")
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n  " msg)
  message(FATAL_ERROR "src/ is the pure core; these includes belong in actors/, storage/ or schema/:\n  ${msg}")
endif()
