// Uploads and image URLs: the ticket's checks, the PUT's (size, format, decompression bombs by
// their header), data: URIs, and that no URL reaches a file outside the uploads folder.
#include <gtest/gtest.h>

#include <fstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "serve/api_error.h"
#include "serve/media_store.h"
#include "support/test_env.h"

namespace rayvid::serve {
namespace {
namespace fs = std::filesystem;

std::string png_bytes(int width, int height) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(10, 200, 30));
  std::vector<uchar> buf;
  cv::imencode(".png", image, buf);
  return std::string(buf.begin(), buf.end());
}

// A PNG whose IHDR claims width x height: 33 bytes that would decode to gigabytes.
std::string png_header_only(uint32_t width, uint32_t height) {
  std::string bytes = png_bytes(1, 1);
  auto put_be = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  };
  put_be(16, width);
  put_be(20, height);
  return bytes;
}

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += std::string{k[(v >> 18) & 63], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += std::string{k[(v >> 18) & 63], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

struct Fixture {
  fs::path dir;
  JobStore store;
  Limits limits;
  MediaStore media;
  explicit Fixture(const std::string& name, Limits l = {})
      : dir(test::scratch_dir(name)),
        store(dir / "jobs.sqlite"),
        limits(l),
        media(dir / "uploads", store, l) {}
};

int status_of(const std::function<void()>& f, std::string* field = nullptr) {
  try {
    f();
  } catch (const ApiError& e) {
    if (field) *field = e.field();
    return e.status();
  }
  return 200;
}

TEST(ServeMediaStore, TicketThenPutThenTheUrlResolvesToTheSameBytes) {
  Fixture f("serve_media_roundtrip");
  const std::string png = png_bytes(64, 48);
  const Upload ticket = f.media.create_ticket(
      {{"filename", "../../My Photo.png"}, {"size", png.size()}, {"content_type", "image/png"}});
  EXPECT_EQ(ticket.filename, "My_Photo.png");              // the basename, made URL- and path-safe
  EXPECT_FALSE(f.media.find(ticket.id, ticket.filename));  // nothing until the PUT
  f.media.receive(ticket.id, png);
  const fs::path file = *f.media.find(ticket.id, ticket.filename);
  EXPECT_EQ(file.parent_path().parent_path(), f.dir / "uploads");
  const std::string url = "http://127.0.0.1:9/" + MediaStore::url_path(ticket).substr(1);
  EXPECT_EQ(f.media.resolve_image("image", url, {"127.0.0.1:9"}), file);
  EXPECT_EQ(f.media.resolve_image("image", MediaStore::url_path(ticket), {}), file);
  EXPECT_EQ(status_of([&] { f.media.receive(ticket.id, png); }), 409);  // one file per ticket
}

TEST(ServeMediaStore, RefusesWrongSizesNonImagesAndBombs) {
  Limits limits;
  limits.max_image_pixels = 1'000'000;
  limits.max_upload_bytes = 4096;
  Fixture f("serve_media_refusals", limits);
  std::string field;
  EXPECT_EQ(status_of(
                [&] {
                  f.media.create_ticket({{"filename", "a.png"}, {"size", 5000}});
                },
                &field),
            400);
  EXPECT_EQ(field, "size");
  EXPECT_EQ(status_of([&] { f.media.create_ticket({{"size", 10}}); }, &field), 400);
  EXPECT_EQ(field, "filename");
  auto put = [&](const std::string& bytes, int64_t declared) {
    const Upload t = f.media.create_ticket({{"filename", "a.png"}, {"size", declared}});
    return status_of([&] { f.media.receive(t.id, bytes); }, &field);
  };
  const std::string png = png_bytes(8, 8);
  EXPECT_EQ(put(png, static_cast<int64_t>(png.size()) + 1), 400);
  EXPECT_EQ(field, "size");
  EXPECT_EQ(put(std::string(100, 'x'), 100), 400);
  EXPECT_EQ(field, "file");
  const std::string bomb = png_header_only(30000, 30000);
  EXPECT_EQ(put(bomb, static_cast<int64_t>(bomb.size())), 400);
  EXPECT_EQ(field, "file");
  EXPECT_EQ(status_of([&] { f.media.receive("0123", png); }), 404);
  EXPECT_EQ(status_of([&] { f.media.receive(std::string(32, 'f'), png); }), 404);
}

TEST(ServeMediaStore, DataUrisDecodeAndBadOnesAreNamed) {
  Fixture f("serve_media_data_uri");
  const std::string png = png_bytes(20, 10);
  for (const std::string& bytes : {png, png + "x", png + "xy"}) {  // every base64 padding
    const fs::path file =
        f.media.resolve_image("image", "data:image/png;base64," + base64(bytes), {});
    std::ifstream in(file, std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), bytes);
  }
  std::string field;
  EXPECT_EQ(
      status_of([&] { f.media.resolve_image("image", "data:image/png,rawbytes", {}); }, &field),
      400);
  EXPECT_EQ(field, "image");
  EXPECT_EQ(status_of([&] { f.media.resolve_image("image", "data:;base64,@@@@", {}); }), 400);
  EXPECT_EQ(status_of(
                [&] {
                  f.media.resolve_image("reference",
                                        "data:image/png;base64," + base64("not an image"), {});
                },
                &field),
            400);
  EXPECT_EQ(field, "reference");
}

TEST(ServeMediaStore, NoUrlReachesOutsideTheUploadsFolder) {
  Fixture f("serve_media_traversal");
  const std::string png = png_bytes(8, 8);
  const Upload t = f.media.create_ticket({{"filename", "a.png"}, {"size", png.size()}});
  f.media.receive(t.id, png);
  const std::set<std::string> own = {"127.0.0.1:9"};
  for (const std::string& url : std::vector<std::string>{
           "http://127.0.0.1:9/media/../jobs.sqlite",
           "http://127.0.0.1:9/media/" + t.id + "/../../jobs.sqlite",
           "http://127.0.0.1:9/media/" + t.id + "/b.png", "http://127.0.0.1:9/etc/passwd",
           "/media/" + t.id, "file:///etc/passwd", "/etc/passwd",
           "ftp://127.0.0.1:9/media/" + t.id + "/a.png",
           "http://example.com/media/" + t.id + "/a.png",
           "http://127.0.0.1:10/media/" + t.id + "/a.png"}) {
    EXPECT_EQ(status_of([&] { f.media.resolve_image("image", url, own); }), 400) << url;
  }
  EXPECT_FALSE(f.media.find("../" + t.id, "a.png"));
  EXPECT_FALSE(f.media.find(t.id, "../a.png"));
}

}  // namespace
}  // namespace rayvid::serve
