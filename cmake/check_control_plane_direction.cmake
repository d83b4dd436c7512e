# Fails when a file under src/ includes a header of schema/ or storage/. The core is what those
# layers build on (core ← schema ← storage ← actors), never the other way round.
file(GLOB_RECURSE files "${SRC_DIR}/*.hpp" "${SRC_DIR}/*.cpp" "${SRC_DIR}/*.h")
set(bad "")
foreach(f IN LISTS files)
  file(STRINGS "${f}" hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](schema|storage|actors)/")
  if(hits)
    list(APPEND bad "${f}: ${hits}")
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n  " msg)
  message(FATAL_ERROR "src/ must not depend on the control plane; move these includes out:\n  ${msg}")
endif()
