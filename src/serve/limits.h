// What one request may ask of the server. Each limit is a flag of `rayvid serve`; a request over
// one is HTTP 400 (413 for a body) naming the limit and the flag.
#pragma once

#include <cstdint>

namespace rayvid::serve {

struct Limits {
  int64_t max_body_bytes = 64ll << 20;    // a JSON body (a data: URI image inside counts)
  int64_t max_upload_bytes = 32ll << 20;  // one uploaded file
  int64_t max_prompt_bytes = 8192;        // UTF-8 bytes; umT5 reads 512 tokens anyway
  int64_t max_image_pixels = 40'000'000;  // width x height from the header, before decoding
  int queue_size = 8;                     // jobs waiting (not counting the one running)
  double sync_timeout_seconds = 600;      // enable_sync_mode's longest wait
};

}  // namespace rayvid::serve
