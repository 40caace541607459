# System libraries from Debian's packages (scripts/setup installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBAV REQUIRED IMPORTED_TARGET libavformat libavcodec libavutil libswscale)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
# ICU: NFC normalisation in the prompt cleaning (ftfy.fix_text normalises to NFC).
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
# OpenCV: only the modules rayvid uses. Debian's per-module -dev packages ship no CMake config
# (that comes with the all-modules libopencv-dev), so fall back to finding the libraries directly.
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs video)
if(NOT OpenCV_FOUND)
  find_path(OpenCV_INCLUDE_DIRS opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  set(OpenCV_LIBS "")
  foreach(_m core imgproc imgcodecs video)
    find_library(OpenCV_${_m}_LIB opencv_${_m} REQUIRED)
    list(APPEND OpenCV_LIBS ${OpenCV_${_m}_LIB})
  endforeach()
  message(STATUS "OpenCV (modules found directly): ${OpenCV_INCLUDE_DIRS}")
endif()
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(Threads REQUIRED)
# rayvid serve: HTTP (Debian's cpp-httplib is a compiled library with a pkg-config file), the job
# store, and OpenSSL's CSPRNG and base64.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
if(RAYVID_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
