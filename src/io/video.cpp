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

#include <memory>

#include "core/check.h"
#include "io/atomic_file.h"

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

#define RAYVID_AV(call, what)                                                          \
  do {                                                                                 \
    const int rc_ = (call);                                                            \
    RAYVID_CHECK(rc_ >= 0, Internal, "{}: {} failed: {}", label, what, av_error(rc_)); \
  } while (0)

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

  AtomicOutput out(path);
  const std::string temp = out.temp_path().string();

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
  avio_closep(&format->pb);
  out.commit();
}

DecodedVideo read_video(const fs::path& path) {
  quiet_libav();
  const std::string label = path.string();
  RAYVID_CHECK(fs::is_regular_file(path), BadInput, "{}: video not found", label);
  AVFormatContext* raw_input = nullptr;
  const int open_rc = avformat_open_input(&raw_input, label.c_str(), nullptr, nullptr);
  RAYVID_CHECK(open_rc >= 0, BadInput, "{}: not a readable video ({})", label, av_error(open_rc));
  std::unique_ptr<AVFormatContext, InputFormatFree> input(raw_input);
  const int info_rc = avformat_find_stream_info(input.get(), nullptr);
  RAYVID_CHECK(info_rc >= 0, BadInput, "{}: cannot read stream info ({})", label,
               av_error(info_rc));
  const int stream_index = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  RAYVID_CHECK(stream_index >= 0, BadInput, "{}: has no video stream", label);
  AVStream* stream = input->streams[stream_index];

  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  RAYVID_CHECK(codec != nullptr, Unsupported, "{}: no decoder for its codec", label);
  CodecContextPtr decoder(avcodec_alloc_context3(codec));
  RAYVID_AV(avcodec_parameters_to_context(decoder.get(), stream->codecpar), "reading codec setup");
  RAYVID_AV(avcodec_open2(decoder.get(), codec, nullptr), "opening the decoder");

  DecodedVideo result;
  result.codec = codec->name;
  result.fps = av_q2d(stream->avg_frame_rate);
  const AVDictionaryEntry* tag = nullptr;
  while ((tag = av_dict_get(input->metadata, "", tag, AV_DICT_IGNORE_SUFFIX)) != nullptr)
    result.metadata[tag->key] = tag->value;
  VideoFrames& frames = result.frames;
  frames.width = decoder->width;
  frames.height = decoder->height;
  RAYVID_CHECK(frames.width > 0 && frames.height > 0, BadInput, "{}: video has no size", label);

  SwsPtr sws;
  FramePtr frame(av_frame_alloc());
  PacketPtr packet(av_packet_alloc());
  auto receive_all = [&]() {
    while (true) {
      const int rc = avcodec_receive_frame(decoder.get(), frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      RAYVID_CHECK(rc >= 0, BadInput, "{}: decoding failed: {}", label, av_error(rc));
      if (!sws) {
        sws.reset(sws_getContext(frame->width, frame->height,
                                 static_cast<AVPixelFormat>(frame->format), frames.width,
                                 frames.height, AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND,
                                 nullptr, nullptr, nullptr));
        RAYVID_CHECK(sws != nullptr, Internal, "{}: cannot create the YUV->RGB converter", label);
        set_bt709(sws.get(), /*rgb_to_yuv=*/false);
      }
      frames.rgb.resize(frames.frame_bytes() * (frames.num_frames + 1));
      uint8_t* dst[1] = {frames.frame(frames.num_frames)};
      const int dst_stride[1] = {frames.width * 3};
      sws_scale(sws.get(), frame->data, frame->linesize, 0, frame->height, dst, dst_stride);
      ++frames.num_frames;
    }
  };
  while (av_read_frame(input.get(), packet.get()) >= 0) {
    if (packet->stream_index == stream_index) {
      const int rc = avcodec_send_packet(decoder.get(), packet.get());
      RAYVID_CHECK(rc >= 0 || rc == AVERROR(EAGAIN), BadInput, "{}: corrupt packet: {}", label,
                   av_error(rc));
      receive_all();
    }
    av_packet_unref(packet.get());
  }
  avcodec_send_packet(decoder.get(), nullptr);
  receive_all();
  RAYVID_CHECK(frames.num_frames > 0, BadInput, "{}: contains no decodable frames", label);
  return result;
}

}  // namespace rayvid::io
