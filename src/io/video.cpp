// MP4 writing and video reading with FFmpeg's libav* libraries.
#include "io/video.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <array>
#include <cstdarg>
#include <memory>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/regular_file.h"

namespace rayvid::io {
namespace fs = std::filesystem;
namespace {

std::string av_error(int code) {
  char buffer[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buffer, sizeof(buffer));
  return buffer;
}

// Owners for the libav objects, so every error path releases them.
struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct OutputFormatFree {
  void operator()(AVFormatContext* f) const {
    if (f->pb != nullptr) avio_closep(&f->pb);
    avformat_free_context(f);
  }
};
struct InputFormatFree {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct DictFree {
  AVDictionary* dict = nullptr;
  ~DictFree() { av_dict_free(&dict); }
};

using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;
using SwsPtr = std::unique_ptr<SwsContext, SwsFree>;

// A libav failure: a full disk or an unwritable file is the user's to fix (with the fix named);
// anything else is ours.
void check_av(int rc, const std::string& label, const char* what) {
  if (rc >= 0) return;
  RAYVID_CHECK(rc != AVERROR(ENOSPC) && rc != AVERROR(EDQUOT) && rc != AVERROR(EFBIG), BadInput,
               "{}: {} failed: the disk is full ({}); free space there or choose another --output",
               label, what, av_error(rc));
  RAYVID_CHECK(rc != AVERROR(EACCES) && rc != AVERROR(EROFS) && rc != AVERROR(EPERM), BadArgument,
               "{}: {} failed: not writable ({}); choose another --output", label, what,
               av_error(rc));
  fail(ErrorCategory::kInternal, "{}: {} failed: {}", label, what, av_error(rc));
}
#define RAYVID_AV(call, what) check_av((call), label, what)

// RGB (full range) <-> YUV (limited range) with BT.709 coefficients on both sides, matching the
// colour tags we write, so a decode of our own file round-trips.
void set_bt709(SwsContext* sws, bool rgb_to_yuv) {
  const int* coefficients = sws_getCoefficients(SWS_CS_ITU709);
  const int src_full = rgb_to_yuv ? 1 : 0, dst_full = rgb_to_yuv ? 0 : 1;
  sws_setColorspaceDetails(sws, coefficients, src_full, coefficients, dst_full, 0, 1 << 16,
                           1 << 16);
}

void drain_encoder(AVCodecContext* encoder, AVFormatContext* format, AVStream* stream,
                   AVPacket* packet, const std::string& label) {
  while (true) {
    const int rc = avcodec_receive_packet(encoder, packet);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
    RAYVID_CHECK(rc >= 0, Internal, "{}: encoding failed: {}", label, av_error(rc));
    av_packet_rescale_ts(packet, encoder->time_base, stream->time_base);
    packet->stream_index = stream->index;
    RAYVID_AV(av_interleaved_write_frame(format, packet), "writing a packet");
  }
}

// libav's own chatter (x264's statistics, muxer notes) would drown rayvid's one-line errors and
// progress output; our checks report every failure that matters.
void quiet_libav() {
  static const bool once = [] {
    av_log_set_level(AV_LOG_ERROR);
    return true;
  }();
  (void)once;
}

}  // namespace

void write_mp4(const fs::path& path, const VideoFrames& video, const Mp4Options& options) {
  AtomicOutput out(path);
  write_mp4_file(out.temp_path(), video, options);
  out.commit();
}

void write_mp4_file(const fs::path& path, const VideoFrames& video, const Mp4Options& options) {
  quiet_libav();
  const std::string label = path.string();
  RAYVID_CHECK(video.width > 0 && video.height > 0 && video.num_frames > 0, BadArgument,
               "{}: nothing to write ({}x{}, {} frames)", label, video.width, video.height,
               video.num_frames);
  RAYVID_CHECK(video.width % 2 == 0 && video.height % 2 == 0, BadArgument,
               "{}: H.264 yuv420p needs even sizes, got {}x{}; choose an even width and height",
               label, video.width, video.height);
  RAYVID_CHECK(video.rgb.size() == video.frame_bytes() * video.num_frames, Internal,
               "{}: frame buffer holds {} bytes, expected {}", label, video.rgb.size(),
               video.frame_bytes() * video.num_frames);
  RAYVID_CHECK(options.fps > 0 && options.fps <= 240, BadArgument, "fps {} is out of range 1..240",
               options.fps);
  RAYVID_CHECK(options.crf >= 0 && options.crf <= 51, BadArgument, "crf {} is out of range 0..51",
               options.crf);

  const std::string temp = path.string();

  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  RAYVID_CHECK(codec != nullptr, Unsupported,
               "this FFmpeg has no libx264 encoder; install an FFmpeg built with libx264");

  AVFormatContext* raw_format = nullptr;
  RAYVID_AV(avformat_alloc_output_context2(&raw_format, nullptr, "mp4", temp.c_str()),
            "creating the MP4 container");
  std::unique_ptr<AVFormatContext, OutputFormatFree> format(raw_format);

  AVStream* stream = avformat_new_stream(format.get(), nullptr);
  RAYVID_CHECK(stream != nullptr, Internal, "{}: cannot add a video stream", label);

  CodecContextPtr encoder(avcodec_alloc_context3(codec));
  encoder->width = video.width;
  encoder->height = video.height;
  encoder->pix_fmt = AV_PIX_FMT_YUV420P;
  encoder->time_base = AVRational{1, options.fps};
  encoder->framerate = AVRational{options.fps, 1};
  encoder->color_primaries = AVCOL_PRI_BT709;
  encoder->color_trc = AVCOL_TRC_BT709;
  encoder->colorspace = AVCOL_SPC_BT709;
  encoder->color_range = AVCOL_RANGE_MPEG;
  if (format->oformat->flags & AVFMT_GLOBALHEADER) encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  DictFree codec_options;
  av_dict_set(&codec_options.dict, "preset", options.preset.c_str(), 0);
  av_dict_set(&codec_options.dict, "crf", std::to_string(options.crf).c_str(), 0);
  const int open_rc = avcodec_open2(encoder.get(), codec, &codec_options.dict);
  RAYVID_CHECK(open_rc >= 0, BadArgument,
               "{}: x264 rejected the settings (preset '{}', crf {}): {}; presets are ultrafast "
               "... veryslow",
               label, options.preset, options.crf, av_error(open_rc));
  RAYVID_AV(avcodec_parameters_from_context(stream->codecpar, encoder.get()),
            "copying codec parameters");
  stream->time_base = encoder->time_base;
  stream->avg_frame_rate = encoder->framerate;

  for (const auto& [key, value] : options.metadata)
    av_dict_set(&format->metadata, key.c_str(), value.c_str(), 0);

  RAYVID_AV(avio_open(&format->pb, temp.c_str(), AVIO_FLAG_WRITE), "opening the output file");
  DictFree mux_options;
  av_dict_set(&mux_options.dict, "movflags", "+faststart", 0);
  RAYVID_AV(avformat_write_header(format.get(), &mux_options.dict), "writing the MP4 header");

  SwsPtr sws(sws_getContext(video.width, video.height, AV_PIX_FMT_RGB24, video.width, video.height,
                            AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr,
                            nullptr));
  RAYVID_CHECK(sws != nullptr, Internal, "{}: cannot create the RGB->YUV converter", label);
  set_bt709(sws.get(), /*rgb_to_yuv=*/true);

  FramePtr frame(av_frame_alloc());
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = video.width;
  frame->height = video.height;
  frame->color_primaries = AVCOL_PRI_BT709;
  frame->color_trc = AVCOL_TRC_BT709;
  frame->colorspace = AVCOL_SPC_BT709;
  frame->color_range = AVCOL_RANGE_MPEG;
  RAYVID_AV(av_frame_get_buffer(frame.get(), 0), "allocating a frame");
  PacketPtr packet(av_packet_alloc());

  for (int i = 0; i < video.num_frames; ++i) {
    RAYVID_AV(av_frame_make_writable(frame.get()), "reusing the frame buffer");
    const uint8_t* src[1] = {video.frame(i)};
    const int src_stride[1] = {video.width * 3};
    sws_scale(sws.get(), src, src_stride, 0, video.height, frame->data, frame->linesize);
    frame->pts = i;
    RAYVID_AV(avcodec_send_frame(encoder.get(), frame.get()), "sending a frame to x264");
    drain_encoder(encoder.get(), format.get(), stream, packet.get(), label);
  }
  RAYVID_AV(avcodec_send_frame(encoder.get(), nullptr), "flushing x264");
  drain_encoder(encoder.get(), format.get(), stream, packet.get(), label);
  RAYVID_AV(av_write_trailer(format.get()), "finishing the MP4");
  // Buffered writes fail late: the last flush and the close report a full disk here.
  RAYVID_AV(format->pb->error, "writing the MP4");
  RAYVID_AV(avio_closep(&format->pb), "closing the MP4");
}

namespace {

// libav logs its own view of a failure ("moov atom not found") on stderr, before rayvid's one-line
// error. While a VideoReader works, what its thread logs is kept here instead (the last line) and
// folded into the error; other threads and the writer keep libav's default logging. Decoding runs
// on the calling thread: the decoder's thread_count stays at its default of 1.
thread_local std::string* t_reader_log = nullptr;

void reader_log_callback(void* context, int level, const char* format, va_list args) {
  if (t_reader_log == nullptr) return av_log_default_callback(context, level, format, args);
  if (level > av_log_get_level()) return;
  char line[512];
  int print_prefix = 0;  // without the "[mov,mp4,... @ 0x...] " prefix
  av_log_format_line2(context, level, format, args, line, sizeof(line), &print_prefix);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (!text.empty()) *t_reader_log = text;
}

class ReaderLogScope {
 public:
  explicit ReaderLogScope(std::string* sink) : previous_(t_reader_log) {
    static const bool installed = [] {
      av_log_set_callback(reader_log_callback);
      return true;
    }();
    (void)installed;
    t_reader_log = sink;
  }
  ~ReaderLogScope() { t_reader_log = previous_; }
  ReaderLogScope(const ReaderLogScope&) = delete;
  ReaderLogScope& operator=(const ReaderLogScope&) = delete;

 private:
  std::string* previous_;
};

}  // namespace

struct VideoReader::State {
  std::string label;
  VideoLimits limits;
  VideoInfo info;
  std::unique_ptr<AVFormatContext, InputFormatFree> input;
  int stream_index = -1;
  CodecContextPtr decoder;
  SwsPtr sws;
  std::array<int, 3> sws_input = {};  // width, height, pixel format sws was made for
  FramePtr frame{av_frame_alloc()};
  PacketPtr packet{av_packet_alloc()};
  bool flushed = false;
  int frames_read = 0;
  std::string log;  // libav's last message (ReaderLogScope)

  // libav's error code, and what libav logged about it.
  std::string detail(int rc) const {
    return log.empty() ? av_error(rc) : fmt::format("{}: {}", av_error(rc), log);
  }

  // One line with the file, its size, the cap and the fix (README: errors are one line).
  void check_size(int64_t width, int64_t height) const {
    RAYVID_CHECK(width <= limits.max_side && height <= limits.max_side, BadInput,
                 "{}: video is {}x{}; rayvid reads videos of at most {} pixels a side; scale it "
                 "down first (e.g. ffmpeg -i IN -vf scale={} OUT.mp4)",
                 label, width, height, limits.max_side,
                 width >= height ? fmt::format("{}:-2", limits.max_side)
                                 : fmt::format("-2:{}", limits.max_side));
  }
  // `qualifier`: "" for the container's count, "about " for an estimate from the duration, "at
  // least " while decoding.
  void check_length(int64_t frames, const char* qualifier) const {
    RAYVID_CHECK(frames <= limits.max_frames, BadInput,
                 "{}: video has {}{} frames; rayvid reads at most {}; trim it first (e.g. ffmpeg "
                 "-i IN -frames:v {} OUT.mp4)",
                 label, qualifier, frames, limits.max_frames, limits.max_frames);
  }
};

VideoReader::VideoReader(const fs::path& path, const VideoLimits& limits)
    : state_(std::make_unique<State>()) {
  quiet_libav();
  State& s = *state_;
  const ReaderLogScope log_scope(&s.log);
  s.label = path.string();
  s.limits = limits;
  const std::string& label = s.label;
  require_regular_file(path, "video");  // a folder or FIFO is named, never opened
  AVFormatContext* raw_input = nullptr;
  const int open_rc = avformat_open_input(&raw_input, label.c_str(), nullptr, nullptr);
  RAYVID_CHECK(open_rc >= 0, BadInput, "{}: not a readable video ({})", label, s.detail(open_rc));
  s.input.reset(raw_input);

  // The container's header (MP4: the sample description and sample table) gives the size and the
  // frame count before anything is decoded; avformat_find_stream_info below may decode frames.
  if (int best = av_find_best_stream(s.input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
      best >= 0) {
    const AVStream* stream = s.input->streams[best];
    s.check_size(stream->codecpar->width, stream->codecpar->height);
    s.check_length(stream->nb_frames, "");
  }
  // Decoders refuse frames above the cap (AVCodecContext.max_pixels), here and below, in case the
  // bitstream says more than the container.
  const std::string max_pixels =
      std::to_string(static_cast<int64_t>(limits.max_side) * limits.max_side);
  std::vector<AVDictionary*> probe_options(s.input->nb_streams, nullptr);
  for (auto& options : probe_options) av_dict_set(&options, "max_pixels", max_pixels.c_str(), 0);
  const int info_rc = avformat_find_stream_info(s.input.get(), probe_options.data());
  for (auto& options : probe_options) av_dict_free(&options);
  RAYVID_CHECK(info_rc >= 0, BadInput, "{}: cannot read stream info ({})", label,
               s.detail(info_rc));
  s.stream_index = av_find_best_stream(s.input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  RAYVID_CHECK(s.stream_index >= 0, BadInput, "{}: has no video stream", label);
  const AVStream* stream = s.input->streams[s.stream_index];
  s.check_size(stream->codecpar->width, stream->codecpar->height);

  VideoInfo& info = s.info;
  info.fps = av_q2d(stream->avg_frame_rate);
  info.frame_count = stream->nb_frames;
  if (info.frame_count <= 0 && info.fps > 0) {
    const double seconds = stream->duration != AV_NOPTS_VALUE
                               ? stream->duration * av_q2d(stream->time_base)
                               : (s.input->duration != AV_NOPTS_VALUE
                                      ? static_cast<double>(s.input->duration) / AV_TIME_BASE
                                      : 0.0);
    info.frame_count = static_cast<int64_t>(std::llround(std::max(0.0, seconds) * info.fps));
  }
  s.check_length(info.frame_count, stream->nb_frames > 0 ? "" : "about ");

  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  RAYVID_CHECK(codec != nullptr, Unsupported, "{}: no decoder for its codec", label);
  s.decoder.reset(avcodec_alloc_context3(codec));
  RAYVID_AV(avcodec_parameters_to_context(s.decoder.get(), stream->codecpar),
            "reading codec setup");
  s.decoder->max_pixels = static_cast<int64_t>(limits.max_side) * limits.max_side;
  RAYVID_AV(avcodec_open2(s.decoder.get(), codec, nullptr), "opening the decoder");
  info.codec = codec->name;
  const AVDictionaryEntry* tag = nullptr;
  while ((tag = av_dict_get(s.input->metadata, "", tag, AV_DICT_IGNORE_SUFFIX)) != nullptr)
    info.metadata[tag->key] = tag->value;
  info.width = s.decoder->width;
  info.height = s.decoder->height;
  RAYVID_CHECK(info.width > 0 && info.height > 0, BadInput, "{}: video has no size", label);
  s.check_size(info.width, info.height);
}

VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return state_->info; }

int VideoReader::frames_read() const { return state_->frames_read; }

bool VideoReader::next(std::vector<uint8_t>& rgb) {
  State& s = *state_;
  const ReaderLogScope log_scope(&s.log);
  s.log.clear();  // what libav says from here on is about this frame
  const std::string& label = s.label;
  while (true) {
    const int rc = avcodec_receive_frame(s.decoder.get(), s.frame.get());
    if (rc == AVERROR_EOF) return false;
    if (rc >= 0) break;
    RAYVID_CHECK(rc == AVERROR(EAGAIN), BadInput, "{}: decoding failed: {}", label, s.detail(rc));
    if (s.flushed) return false;
    // The decoder wants input: the next packet of our stream, or the flush at the end.
    while (true) {
      if (av_read_frame(s.input.get(), s.packet.get()) < 0) {
        avcodec_send_packet(s.decoder.get(), nullptr);
        s.flushed = true;
        break;
      }
      const bool ours = s.packet->stream_index == s.stream_index;
      const int send_rc = ours ? avcodec_send_packet(s.decoder.get(), s.packet.get()) : 0;
      av_packet_unref(s.packet.get());
      RAYVID_CHECK(send_rc >= 0 || send_rc == AVERROR(EAGAIN), BadInput, "{}: corrupt packet: {}",
                   label, s.detail(send_rc));
      if (ours) break;
    }
  }
  AVFrame* frame = s.frame.get();
  s.check_size(frame->width, frame->height);
  s.check_length(s.frames_read + 1, "at least ");
  // Frames are scaled to the stream's size (a stream may change size midway, which the decoder
  // allows within max_pixels); the converter is rebuilt only when the input size or format changes.
  const std::array<int, 3> input = {frame->width, frame->height, frame->format};
  if (!s.sws || input != s.sws_input) {
    s.sws.reset(sws_getContext(frame->width, frame->height,
                               static_cast<AVPixelFormat>(frame->format), s.info.width,
                               s.info.height, AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND,
                               nullptr, nullptr, nullptr));
    const char* format = av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame->format));
    RAYVID_CHECK(s.sws != nullptr, BadInput, "{}: cannot convert its frames ({}x{}, {}) to RGB",
                 label, frame->width, frame->height, format != nullptr ? format : "no format");
    set_bt709(s.sws.get(), /*rgb_to_yuv=*/false);
    s.sws_input = input;
  }
  rgb.resize(static_cast<size_t>(s.info.width) * s.info.height * 3);
  uint8_t* dst[1] = {rgb.data()};
  const int dst_stride[1] = {s.info.width * 3};
  sws_scale(s.sws.get(), frame->data, frame->linesize, 0, frame->height, dst, dst_stride);
  av_frame_unref(frame);
  ++s.frames_read;
  return true;
}

DecodedVideo read_video(const fs::path& path, const VideoLimits& limits) {
  VideoReader reader(path, limits);
  const VideoInfo& info = reader.info();
  DecodedVideo result;
  result.codec = info.codec;
  result.fps = info.fps;
  result.metadata = info.metadata;
  VideoFrames& frames = result.frames;
  frames.width = info.width;
  frames.height = info.height;
  if (info.frame_count > 0) frames.rgb.reserve(frames.frame_bytes() * info.frame_count);
  std::vector<uint8_t> rgb;
  while (reader.next(rgb)) {
    frames.rgb.insert(frames.rgb.end(), rgb.begin(), rgb.end());
    ++frames.num_frames;
  }
  RAYVID_CHECK(frames.num_frames > 0, BadInput, "{}: contains no decodable frames", path.string());
  return result;
}

}  // namespace rayvid::io
