# Fails when README.md's op table differs from what `xgrad-gradcheck --markdown`
# prints now: the table is generated from the op registry, never edited by hand.
#   cmake -DGRADCHECK=... -DREADME=... -P readme_op_table.cmake
execute_process(COMMAND ${GRADCHECK} --markdown OUTPUT_VARIABLE table RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "xgrad-gradcheck --markdown failed (${rc}):\n${table}")
endif()
file(READ ${README} readme)
string(FIND "${readme}" "<!-- op table:" begin)
string(FIND "${readme}" "<!-- end of op table -->" end)
if(begin EQUAL -1 OR end EQUAL -1)
  message(FATAL_ERROR "README.md has no op table markers")
endif()
string(SUBSTRING "${readme}" ${begin} -1 rest)
string(FIND "${rest}" "\n" first_newline)
math(EXPR table_begin "${begin} + ${first_newline} + 1")
math(EXPR table_length "${end} - ${table_begin}")
string(SUBSTRING "${readme}" ${table_begin} ${table_length} committed)
if(NOT committed STREQUAL table)
  message(FATAL_ERROR "README.md's op table is stale. Regenerate it:\n"
    "  ./build/xgrad-gradcheck --markdown   (paste between the op table markers)\n"
    "It should read:\n${table}")
endif()
message(STATUS "README.md's op table matches the registry")
