# Third-party dependencies. LibTorch comes from the PyPI wheel (launch/setup.sh puts its CMake config on
# CMAKE_PREFIX_PATH) or from a user's LibTorch via Torch_DIR / LIBTORCH_DIR.

if(DEFINED ENV{LIBTORCH_DIR} AND NOT Torch_DIR)
  set(Torch_DIR "$ENV{LIBTORCH_DIR}/share/cmake/Torch")
endif()

find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(MPI REQUIRED COMPONENTS C)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(nlohmann_json 3.9 REQUIRED)

find_path(WISESR_TURBOJPEG_INCLUDE turbojpeg.h REQUIRED)
find_library(WISESR_TURBOJPEG_LIB turbojpeg REQUIRED)
add_library(wisesr_turbojpeg INTERFACE)
target_include_directories(wisesr_turbojpeg SYSTEM INTERFACE ${WISESR_TURBOJPEG_INCLUDE})
target_link_libraries(wisesr_turbojpeg INTERFACE ${WISESR_TURBOJPEG_LIB})

# HDF5's CMake variables -> one interface target.
add_library(wisesr_hdf5 INTERFACE)
if(TARGET hdf5::hdf5)
  target_link_libraries(wisesr_hdf5 INTERFACE hdf5::hdf5)
else()
  target_include_directories(wisesr_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
  target_link_libraries(wisesr_hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
  target_compile_definitions(wisesr_hdf5 INTERFACE ${HDF5_C_DEFINITIONS} ${HDF5_DEFINITIONS})
endif()

# LibTorch. A CUDA build of torch looks for the CUDA toolkit; the CPU-only CI machine has nvcc, so GPU
# code compiles everywhere and is skipped at run time when no GPU is present.
# wisesr compiles no CUDA kernels of its own; naming an architecture skips torch's GPU-probing try_run,
# which fails on machines without a GPU.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(ENV{TORCH_CUDA_ARCH_LIST} "9.0")
endif()
find_package(Torch 2.11 REQUIRED)
set(WISESR_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(WISESR_TORCH_HAS_CUDA ON)
endif()
get_filename_component(WISESR_TORCH_PREFIX "${TORCH_INSTALL_PREFIX}" ABSOLUTE)

# An optional GPU library, looked for only where we point (no system paths, so a stray copy is not
# mixed in): sets WISESR_HAVE_<NAME> and the interface target wisesr_<name>; WISESR_WITH_<NAME> = OFF
# skips it and = ON makes its absence an error. Cache entries WISESR_<NAME>_INCLUDE / _LIB.
function(wisesr_find_gpu_library name label)
  cmake_parse_arguments(arg "" "HEADER" "LIBS;HINTS;INCLUDE_HINTS;LIB_HINTS" ${ARGN})
  string(TOUPPER "${name}" up)
  set(found OFF)
  if(NOT WISESR_WITH_${up} STREQUAL "OFF" AND WISESR_TORCH_HAS_CUDA)
    find_path(WISESR_${up}_INCLUDE ${arg_HEADER} HINTS ${arg_HINTS} ${arg_INCLUDE_HINTS} PATH_SUFFIXES include
              NO_DEFAULT_PATH)
    find_library(WISESR_${up}_LIB NAMES ${arg_LIBS} HINTS ${arg_HINTS} ${arg_LIB_HINTS} PATH_SUFFIXES lib lib64
                 NO_DEFAULT_PATH)
    if(WISESR_${up}_INCLUDE AND WISESR_${up}_LIB)
      set(found ON)
      add_library(wisesr_${name} INTERFACE)
      target_include_directories(wisesr_${name} SYSTEM INTERFACE ${WISESR_${up}_INCLUDE})
      target_link_libraries(wisesr_${name} INTERFACE ${WISESR_${up}_LIB})
    endif()
  endif()
  if(WISESR_WITH_${up} STREQUAL "ON" AND NOT found)
    message(FATAL_ERROR "WISESR_WITH_${up}=ON but no CUDA LibTorch + ${label} found (set WISESR_${up}_ROOT)")
  endif()
  set(WISESR_HAVE_${up} ${found} PARENT_SCOPE)
endfunction()

# NCCL: the one torch's wheel ships (site-packages/nvidia/nccl), so exactly one NCCL is in the process.
wisesr_find_gpu_library(nccl NCCL HEADER nccl.h LIBS nccl libnccl.so.2
                        HINTS ${WISESR_NCCL_ROOT} "${WISESR_TORCH_PREFIX}/../nvidia/nccl")

# nvJPEG (batched JPEG decoding on the GPU, --data.decode nvjpeg): the CUDA toolkit's, or the PyPI
# wheel nvidia-nvjpeg next to torch's (launch/setup.sh installs it), or WISESR_NVJPEG_ROOT. The library
# links the CUDA runtime statically, so it adds no second libcudart.
wisesr_find_gpu_library(nvjpeg nvJPEG HEADER nvjpeg.h LIBS nvjpeg libnvjpeg.so.13
                        HINTS ${WISESR_NVJPEG_ROOT} "${WISESR_TORCH_PREFIX}/../nvidia/cu13" ${CUDAToolkit_LIBRARY_ROOT}
                              ${CUDA_TOOLKIT_ROOT_DIR}
                        INCLUDE_HINTS ${CUDAToolkit_INCLUDE_DIRS} LIB_HINTS ${CUDAToolkit_LIBRARY_DIR})

set(WISESR_HAVE_OPENCV OFF)
if(NOT WISESR_WITH_OPENCV STREQUAL "OFF")
  find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
  if(OpenCV_FOUND)
    set(WISESR_HAVE_OPENCV ON)
  elseif(WISESR_WITH_OPENCV STREQUAL "ON")
    message(FATAL_ERROR "WISESR_WITH_OPENCV=ON but OpenCV (core, imgproc, imgcodecs) was not found")
  endif()
endif()

# Protobuf (Debian's libprotobuf-dev + protobuf-compiler) for TensorBoard event files; the lite runtime
# is enough for the messages of src/core/tb_event.proto. Without it --train.tensorboard is an error.
set(WISESR_HAVE_TENSORBOARD OFF)
if(NOT WISESR_WITH_TENSORBOARD STREQUAL "OFF")
  find_package(Protobuf QUIET)
  if(Protobuf_FOUND AND Protobuf_PROTOC_EXECUTABLE AND Protobuf_LITE_LIBRARIES)
    set(WISESR_HAVE_TENSORBOARD ON)
  elseif(WISESR_WITH_TENSORBOARD STREQUAL "ON")
    message(FATAL_ERROR "WISESR_WITH_TENSORBOARD=ON but protobuf (library and protoc) was not found")
  endif()
endif()

# Build facts as a generated header instead of -D flags, so every torch target shares one PCH.
configure_file(${CMAKE_CURRENT_LIST_DIR}/build_config.h.in ${CMAKE_BINARY_DIR}/generated/wisesr/build_config.h @ONLY)
