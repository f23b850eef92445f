# Extracts every ```cpp block of README.md into its own source file, so the
# build compiles each one: a README example that does not compile fails CI.
# A block runs as the body of main(argc, argv) after the declarations of an
# HTML comment "<!-- snippet context: ... -->" right before it (what the
# prose around it assumes), and after its own #include lines.
#   cmake -DREADME=... -DOUT_DIR=... -P readme_snippets.cmake
file(STRINGS "${README}" lines ENCODING UTF-8)
set(in_block FALSE)
set(in_context FALSE)
set(context "")
set(count 0)
foreach(line IN LISTS lines)
  if(in_context)
    if(line MATCHES "^-->")
      set(in_context FALSE)
    else()
      string(APPEND context "  ${line}\n")
    endif()
  elseif(line MATCHES "^<!-- snippet context")
    set(in_context TRUE)
    set(context "")
  elseif(NOT in_block AND line MATCHES "^```cpp")
    set(in_block TRUE)
    set(includes "")
    set(body "")
  elseif(in_block AND line MATCHES "^```")
    set(in_block FALSE)
    math(EXPR count "${count} + 1")
    set(extra "")
    if(body MATCHES "xg::dist::")
      set(extra "#include <xgrad/distributed.hpp>\n")
    endif()
    file(WRITE "${OUT_DIR}/readme_snippet_${count}.cpp"
      "// Generated from README.md (C++ block ${count}) by tests/readme_snippets.cmake.\n"
      "#include <xgrad/xgrad.hpp>\n${extra}\n#include <fstream>\n#include <iostream>\n#include <memory>\n${includes}\n"
      "int readme_snippet_${count}(int argc, char** argv) {\n  (void)argc;\n  (void)argv;\n${context}${body}  return 0;\n}\n")
    set(context "")
  elseif(in_block)
    if(line MATCHES "^#include")
      string(APPEND includes "${line}\n")
    else()
      string(APPEND body "  ${line}\n")
    endif()
  endif()
endforeach()
file(WRITE "${OUT_DIR}/readme_snippet_count.txt" "${count}")
