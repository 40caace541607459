#!/usr/bin/env bash
# docs/img/make.sh [build-dir]: remakes the example images of docs/research-tools.md and the README.
#   sampler-bench.png          rayvid bench on the bundled demo model (random weights)
#   analyze-*.png, *.jpg       rayvid analyze on a synthetic clip: a blurred Mandelbrot crop panning
#                              2 px per frame while its hue turns 0.8 degrees per frame, frame 0 =
#                              the source image, H.264 CRF 18 (BT.709 tags, as rayvid writes them)
set -euo pipefail
cd "$(dirname "$0")/../.."
rayvid="${1:-build}/src/rayvid"
img=docs/img
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$rayvid" bench --model models/rayvid-tiny-ti2v --samplers unipc,euler,dpm++ --steps 8,16,32,64 \
  --reference unipc:128 --width 64 --height 64 --frames 9 \
  --prompt "a red fox runs through fresh snow" --out "$work/bench" 2>/dev/null
cp "$work/bench/bench.png" "$img/sampler-bench.png"

ffmpeg -loglevel error -y -f lavfi -i "mandelbrot=size=640x360:end_pts=50" \
  -vf "select=eq(n\,40)" -frames:v 1 "$work/big.png"
ffmpeg -loglevel error -y -i "$work/big.png" -vf "gblur=sigma=1.5,crop=320:192:0:80" "$work/source.png"
ffmpeg -loglevel error -y -loop 1 -framerate 16 -i "$work/big.png" \
  -vf "gblur=sigma=1.5,crop=320:192:'2*n':80,hue=h='0.8*n',scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" \
  -frames:v 49 -c:v libx264 -crf 18 -colorspace bt709 -color_primaries bt709 -color_trc bt709 \
  -color_range tv "$work/clip.mp4"
"$rayvid" analyze "$work/clip.mp4" --source "$work/source.png" --out "$work/analysis"
cp "$work/analysis/preservation.png" "$img/analyze-preservation.png"
cp "$work/analysis/motion.png" "$img/analyze-motion.png"
ffmpeg -loglevel error -y -i "$work/analysis/contact_sheet.png" -q:v 4 "$img/analyze-contact-sheet.jpg"
