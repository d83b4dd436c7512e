# Fails when a file under src/ includes a header of CAF, ZeroMQ, RocksDB or Cap'n Proto (or a
# generated schema header), or anything from the control plane's own layers (schema/, storage/,
# actors/). The pure core builds and tests with the standard library alone, and the layers
# depend on it, never the other way round: core ← schema ← storage ← actors.
file(GLOB_RECURSE files "${SRC_DIR}/*.hpp" "${SRC_DIR}/*.cpp" "${SRC_DIR}/*.h")
set(bad "")
foreach(f IN LISTS files)
  file(STRINGS "${f}" hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](caf/|zmq|rocksdb/|capnp/|kj/|schema/|storage/|actors/|[^>\"]*\\.capnp\\.h)")
  if(hits)
    list(APPEND bad "${f}: ${hits}")
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n  " msg)
  message(FATAL_ERROR "src/ is the pure core; these includes belong in actors/, storage/ or schema/:\n  ${msg}")
endif()
