# Warnings, ccache and the precompiled LibTorch header.

if(WISESR_USE_CCACHE)
  find_program(WISESR_CCACHE ccache)
  if(WISESR_CCACHE)
    # pch_defines/time_macros let ccache cache TUs that use the precompiled header (see ccache manual,
    # "Precompiled headers"); BASEDIR makes paths relative so a fresh clone elsewhere hits the same
    # entries. The cache itself lives outside the clone (ccache's default, ~/.cache/ccache).
    set(CMAKE_CXX_COMPILER_LAUNCHER
        ${CMAKE_COMMAND} -E env "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        "CCACHE_BASEDIR=${CMAKE_SOURCE_DIR}" ${WISESR_CCACHE})
    set(CMAKE_C_COMPILER_LAUNCHER ${CMAKE_CXX_COMPILER_LAUNCHER})
  endif()
endif()

add_library(wisesr_warnings INTERFACE)
target_compile_options(wisesr_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter -Winvalid-pch)

# wisesr_reuse_pch(target): use the LibTorch PCH built for wisesr_engine. All torch-using targets link
# the same interface targets, so their flags match and GCC accepts the shared .gch.
function(wisesr_reuse_pch target)
  if(WISESR_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM wisesr_engine)
  endif()
endfunction()
