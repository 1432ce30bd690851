# neuroplan_embed_data(TARGET <target> NAMESPACE <ns> FILES <name>=<path> ...)
#
# Builds versioned clinical data files into a target: for each NAME=PATH, generates a function
# `std::string_view <ns>::NAME()` returning the file's bytes. Re-runs when a data file changes.
function(neuroplan_embed_data)
    cmake_parse_arguments(ARG "" "TARGET;NAMESPACE" "FILES" ${ARGN})
    set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/embedded")
    file(MAKE_DIRECTORY "${out_dir}")
    foreach(entry IN LISTS ARG_FILES)
        string(REPLACE "=" ";" parts "${entry}")
        list(GET parts 0 name)
        list(GET parts 1 path)
        get_filename_component(path "${path}" ABSOLUTE)
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${path}")
        file(READ "${path}" content)
        string(FIND "${content}" ")NPDATA\"" clash)
        if(NOT clash EQUAL -1)
            message(FATAL_ERROR "${path} contains the raw-string delimiter )NPDATA\"")
        endif()
        set(cpp "${out_dir}/${name}.cpp")
        file(CONFIGURE OUTPUT "${cpp}" CONTENT
"// Generated from ${path}; edit that file, not this one.
#include <string_view>
namespace ${ARG_NAMESPACE} {
std::string_view ${name}() {
    static constexpr std::string_view kText = R\"NPDATA(@content@)NPDATA\";
    return kText;
}
}  // namespace ${ARG_NAMESPACE}
" @ONLY)
        target_sources(${ARG_TARGET} PRIVATE "${cpp}")
    endforeach()
endfunction()
