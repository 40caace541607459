# CUDA: built when nvcc is found (RAYVID_CUDA=AUTO) or demanded (ON). Kernels are compiled for the
# GPUs rayvid ships for: Ampere (sm_80), Ada (sm_89) and Hopper (sm_90a).
set(RAYVID_HAVE_CUDA OFF)
if(NOT RAYVID_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80-real 89-real 90a-real)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(RAYVID_HAVE_CUDA ON)
  elseif(RAYVID_CUDA STREQUAL "ON")
    message(FATAL_ERROR "RAYVID_CUDA=ON but no CUDA compiler was found; install the CUDA toolkit or pass -DRAYVID_CUDA=OFF")
  endif()
endif()
message(STATUS "rayvid CUDA kernels: ${RAYVID_HAVE_CUDA}")

if(RAYVID_HAVE_CUDA AND RAYVID_TORCH_CUDA_LIB AND RAYVID_C10_CUDA_LIB)
  target_link_libraries(rayvid_torch INTERFACE
    "-Wl,--no-as-needed" ${RAYVID_TORCH_CUDA_LIB} ${RAYVID_C10_CUDA_LIB} "-Wl,--as-needed")
  target_compile_definitions(rayvid_torch INTERFACE RAYVID_TORCH_HAS_CUDA=1)
endif()
