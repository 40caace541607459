# LibTorch, as the imported target rayvid::torch.
#
# Where it comes from, first match wins:
#   1. a LibTorch (or torch wheel) whose TorchConfig.cmake is under CMAKE_PREFIX_PATH or Torch_DIR;
#   2. the torch package of RAYVID_PYTHON (scripts/setup points this at the project's venv).
# We link torch_cpu and c10 directly instead of calling find_package(Torch): the Caffe2 config
# that find_package pulls in probes the whole CUDA toolchain even for a CPU-only build, and fails
# on machines without it. With RAYVID_CUDA we add torch_cuda and c10_cuda, force-linked so that
# their CUDA device registration runs at load time.
set(RAYVID_PYTHON "" CACHE FILEPATH "Python interpreter whose torch package provides LibTorch")

set(_torch_prefix "")
if(Torch_DIR AND EXISTS "${Torch_DIR}/TorchConfig.cmake")
  get_filename_component(_torch_prefix "${Torch_DIR}/../../.." ABSOLUTE)
else()
  foreach(_p IN LISTS CMAKE_PREFIX_PATH)
    if(EXISTS "${_p}/share/cmake/Torch/TorchConfig.cmake")
      get_filename_component(_torch_prefix "${_p}" ABSOLUTE)
      break()
    elseif(EXISTS "${_p}/Torch/TorchConfig.cmake")
      get_filename_component(_torch_prefix "${_p}/../.." ABSOLUTE)
      break()
    endif()
  endforeach()
endif()
if(NOT _torch_prefix AND RAYVID_PYTHON)
  execute_process(
    COMMAND "${RAYVID_PYTHON}" -c "import os, torch; print(os.path.dirname(torch.__file__))"
    OUTPUT_VARIABLE _torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    set(_torch_prefix "")
  endif()
endif()
if(NOT _torch_prefix OR NOT EXISTS "${_torch_prefix}/include/ATen/ATen.h")
  message(FATAL_ERROR
    "LibTorch not found. Run scripts/setup (it makes the venv and passes -DRAYVID_PYTHON), "
    "or pass -DCMAKE_PREFIX_PATH=/path/to/libtorch.")
endif()
message(STATUS "LibTorch: ${_torch_prefix}")
set(RAYVID_TORCH_PREFIX "${_torch_prefix}" CACHE INTERNAL "")

find_library(RAYVID_TORCH_CPU_LIB torch_cpu PATHS "${_torch_prefix}/lib" NO_DEFAULT_PATH REQUIRED)
find_library(RAYVID_C10_LIB c10 PATHS "${_torch_prefix}/lib" NO_DEFAULT_PATH REQUIRED)
find_library(RAYVID_TORCH_CUDA_LIB torch_cuda PATHS "${_torch_prefix}/lib" NO_DEFAULT_PATH)
find_library(RAYVID_C10_CUDA_LIB c10_cuda PATHS "${_torch_prefix}/lib" NO_DEFAULT_PATH)

add_library(rayvid_torch INTERFACE)
add_library(rayvid::torch ALIAS rayvid_torch)
# LibTorch's include folder bundles its own {fmt} (12.x), which would shadow the system {fmt} that
# spdlog is built against. The core ATen headers do not use fmt, so we expose LibTorch's headers
# through a folder of links to everything but fmt/.
set(_shim "${CMAKE_BINARY_DIR}/libtorch-include")
file(REMOVE_RECURSE "${_shim}")
file(MAKE_DIRECTORY "${_shim}")
file(GLOB _entries RELATIVE "${_torch_prefix}/include" "${_torch_prefix}/include/*")
foreach(_entry IN LISTS _entries)
  if(NOT _entry STREQUAL "fmt")
    file(CREATE_LINK "${_torch_prefix}/include/${_entry}" "${_shim}/${_entry}" SYMBOLIC)
  endif()
endforeach()
# SYSTEM: LibTorch's own warnings are not ours to fix.
target_include_directories(rayvid_torch SYSTEM INTERFACE
  "${_shim}" "${_torch_prefix}/include/torch/csrc/api/include")
target_link_libraries(rayvid_torch INTERFACE ${RAYVID_TORCH_CPU_LIB} ${RAYVID_C10_LIB} Threads::Threads)
target_link_options(rayvid_torch INTERFACE "-Wl,-rpath,${_torch_prefix}/lib")
