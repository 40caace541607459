// LoRA files for the Wan DiT: every key format users download, read into deltas on the DiT's own
// (diffusers) tensor names, and merged into the weights at load.
//
// Formats (the prefix decides; src/models/wan_dit/lora_keys.cpp):
//   diffusers / PEFT   transformer.blocks.0.attn1.to_q.lora_A.weight, lora_B.weight, lora_B.bias
//   original Wan       diffusion_model.blocks.0.self_attn.q.lora_down.weight / lora_up / lora_A /
//                      lora_B, .alpha, and full deltas .diff (weight), .diff_b (bias), .diff_m
//                      (the block's or the head's modulation): musubi, diffusion-pipe, lightx2v
//   kohya / musubi     lora_unet_blocks_0_self_attn_q.lora_down.weight, .lora_up, .alpha
//   LyCORIS (LoCon)    lycoris_blocks_0_self_attn_q.lora_down.weight, as kohya
//   PEFT rs-LoRA       base_model.model.blocks.0.self_attn.q.lora_A.weight: original names, and
//                      without an alpha the scale r^2 // sqrt(r) / r that WanVideoWrapper uses
// A low-rank pair adds strength * scale * up @ down, and its lora_B.bias strength * scale * bias
// (PEFT's lora_B(lora_A(x)) * scaling), with scale = alpha / rank from the pair's .alpha key, else
// from diffusers' saved adapter config (safetensors metadata lora_adapter_metadata: lora_alpha, r,
// use_rslora), else 1. A full delta adds strength * delta. All in fp32, rounded once into the
// weight's dtype. diffusers drops the
// .diff keys of norms and modulation (its converter assumes them zero); rayvid applies them, as
// ComfyUI and LightX2V do.
// A T2V LoRA on an I2V model touches only what it names (diffusers pads it with zero image-branch
// deltas: the same weights); an I2V LoRA's image-branch keys on a model without one are skipped
// and listed (Wan2GP's rule). Any other key that names nothing in this DiT is an error listing
// the keys, unless allowed (then they are listed in the report).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "models/wan_dit/model.h"

namespace rayvid::models::wan_dit {

struct LoraSpec {
  std::filesystem::path path;
  double strength = 1.0;
};

// One change a LoRA makes to one DiT tensor.
struct LoraDelta {
  std::string target;   // a DiT tensor, diffusers name ("blocks.0.attn1.to_q.weight")
  at::Tensor up, down;  // low rank: up [out, r], down [r, in...]; delta = scale * up @ down
  double scale = 1.0;
  at::Tensor full;  // or a full delta of the target's shape
};

struct ParsedLora {
  std::string format;  // "diffusers", "original", "kohya", "lycoris" or "rs-lora"
  std::vector<LoraDelta> deltas;
  std::vector<std::string> unmatched;  // keys that name nothing in this DiT
  std::vector<std::string> skipped;    // image-branch keys on a DiT without an image branch
};

// Reads `file` against the tensors of a DiT of `config`. Throws kBadModel for a file that is not a
// LoRA (no LoRA key at all) or a pair whose shapes do not fit its target.
ParsedLora parse_lora(const std::filesystem::path& file, const WanDiTConfig& config);

// What a merge did, for logs and the sidecar.
struct LoraReport {
  std::string path, format;
  double strength = 1.0;
  int64_t tensors_changed = 0;
  std::vector<std::string> unmatched, skipped;
};

// Merges LoRAs into a loaded DiT and can take them out again (a server switching LoRAs).
class LoraMerge {
 public:
  // Merges every LoRA in order. Unmatched keys are a kBadArgument error naming them (and the flag
  // that allows them) unless allow_unmatched.
  static LoraMerge apply(WanDiT& dit, const std::vector<LoraSpec>& loras, bool allow_unmatched);

  // Subtracts what apply() added (as diffusers' unfuse_lora: the same deltas, so fp32 weights
  // come back to rounding level and 16-bit ones within an ulp).
  void undo(WanDiT& dit);

  const std::vector<LoraReport>& reports() const { return reports_; }

 private:
  struct Applied {
    ParsedLora lora;
    double strength = 1.0;
  };
  std::vector<Applied> applied_;
  std::vector<LoraReport> reports_;
};

}  // namespace rayvid::models::wan_dit
