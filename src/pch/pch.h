// Precompiled once and reused by every layer: the LibTorch and fmt headers nearly every
// translation unit needs. Keep this list short; it is part of every compile.
#pragma once
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>
